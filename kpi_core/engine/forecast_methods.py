"""The forecasting methods: each takes a history (oldest first, no gaps) and a horizon `h`, and
gives the next `h` values, or None when the history is too short for it.

Two baselines every method must beat or stand beside: naive (the last value again) and
seasonal naive (the same month last year). Three candidates: run rate (the recent pace),
last year's seasonal shape at this year's level, and ETS (engine.ets, statsmodels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kpi_core.engine.ets import MIN_POINTS as ETS_POINTS
from kpi_core.engine.ets import ets

RUN_RATE_SPAN = 3  # the recent pace: the mean of the last three periods (a quarter of months)


def naive(y: Sequence[float], h: int, season: int | None = None) -> list[float] | None:
    """The last value, held."""
    return [float(y[-1])] * h if len(y) >= 1 else None


def seasonal_naive(y: Sequence[float], h: int, season: int | None = None) -> list[float] | None:
    """The value one season (a year) earlier, period by period."""
    if not season or len(y) < season:
        return None
    return [float(y[len(y) - season + k % season]) for k in range(h)]


def run_rate(y: Sequence[float], h: int, season: int | None = None) -> list[float] | None:
    """The mean of the last RUN_RATE_SPAN values, held: the pace the unit runs at now."""
    if len(y) < RUN_RATE_SPAN:
        return None
    return [sum(y[-RUN_RATE_SPAN:]) / RUN_RATE_SPAN] * h


def seasonal_shape(y: Sequence[float], h: int, season: int | None = None) -> list[float] | None:
    """Last year's values shaped to this year's level: each future period is the same period a
    season earlier times (recent periods / the same periods a season before), or plus their mean
    difference when that ratio means nothing (a zero or negative base)."""
    if not season or len(y) < season + 1:
        return None
    k = min(RUN_RATE_SPAN, len(y) - season)
    now, then = list(y[-k:]), list(y[-k - season:len(y) - season])
    ratio = sum(now) / sum(then) if sum(then) > 0 and sum(now) >= 0 else None
    shift = (sum(now) - sum(then)) / k
    path = list(y)
    for _ in range(h):
        base = path[len(path) - season]
        path.append(base * ratio if ratio is not None else base + shift)
    return [float(v) for v in path[len(y):]]


@dataclass(frozen=True)
class Method:
    """A forecasting method: its function and the least history it needs."""

    code: str
    predict: Callable[[Sequence[float], int, int | None], list[float] | None]
    needs: Callable[[int | None], int]  # the least history, given the season's length


METHODS: dict[str, Method] = {
    "naive": Method("naive", naive, lambda s: 1),
    "seasonal_naive": Method("seasonal_naive", seasonal_naive, lambda s: s or 10**9),
    "run_rate": Method("run_rate", run_rate, lambda s: RUN_RATE_SPAN),
    "seasonal": Method("seasonal", seasonal_shape, lambda s: (s + 1) if s else 10**9),
    "ets": Method("ets", ets, lambda s: ETS_POINTS),
}
BASELINES = ("naive", "seasonal_naive")
CANDIDATES = ("run_rate", "seasonal", "ets")  # in this order on a tie
