"""Rolling-origin backtests and their errors (MASE, MAPE), with no database: plain arithmetic.

At each origin in the last `window` periods, a method sees only the history before it and
forecasts up to `horizon` periods ahead; its errors are what then happened minus what it said.
All methods are judged on the same origins (the first one every compared method can forecast
from), so their errors compare.

MASE is the mean absolute error scaled by the mean absolute one-step change of the history
before the first origin (the in-sample naive forecast's error, Hyndman & Koehler 2006): below 1
beats that naive forecast. It is undefined (None) when the history never changed. MAPE is the
mean of |error| / |actual|, undefined (None) when an actual is zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kpi_core.engine.forecast_methods import METHODS

WINDOW = 12       # origins: the last twelve periods (or what exists)
MIN_ORIGINS = 3   # a method with fewer origins than this is not backtested (nor chosen)


@dataclass(frozen=True)
class Trial:
    """One origin: what happened after it and what the method said, period by period."""

    origin: int
    actual: tuple[float, ...]
    predicted: tuple[float, ...]


@dataclass(frozen=True)
class Score:
    """A method's backtest: its trials and errors over them."""

    method: str
    trials: tuple[Trial, ...]
    mae: float
    mase: float | None
    mape: float | None

    @property
    def errors(self) -> int:
        return sum(len(t.actual) for t in self.trials)


def mae(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """The mean absolute error."""
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / len(actual)


def mape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """The mean absolute percentage error as a fraction (0.05 = 5 %); None when an actual is 0."""
    if not actual or any(a == 0 for a in actual):
        return None
    return sum(abs(a - p) / abs(a) for a, p in zip(actual, predicted, strict=True)) / len(actual)


def naive_scale(history: Sequence[float]) -> float | None:
    """The mean absolute one-step change of `history`: MASE's denominator; None when it is 0."""
    steps = [abs(b - a) for a, b in zip(history, history[1:], strict=False)]
    scale = sum(steps) / len(steps) if steps else 0.0
    return scale or None


def mase(actual: Sequence[float], predicted: Sequence[float], scale: float | None) -> float | None:
    """The MAE over the naive scale; None when the scale is undefined."""
    return None if scale is None else mae(actual, predicted) / scale


def usable(y: Sequence[float], season: int | None) -> list[str]:
    """The methods with at least MIN_ORIGINS origins in `y`'s backtest."""
    return [code for code, m in METHODS.items() if m.needs(season) <= len(y) - MIN_ORIGINS]


def origins(y: Sequence[float], methods: Sequence[str], season: int | None, window: int = WINDOW) -> range:
    """The origins shared by `methods`: the last `window` periods, after the longest history any needs."""
    need = max((METHODS[m].needs(season) for m in methods), default=1)
    return range(max(len(y) - window, need, 1), len(y))


def backtest(y: Sequence[float], method: str, horizon: int, at: range, season: int | None) -> Score | None:
    """The method's rolling-origin backtest over the origins `at`; None when it cannot forecast there."""
    trials = []
    for o in at:
        steps = min(horizon, len(y) - o)
        said = METHODS[method].predict(y[:o], steps, season)
        if said is None:
            return None
        trials.append(Trial(o, tuple(float(v) for v in y[o:o + steps]), tuple(said)))
    if not trials:
        return None
    actual = [a for t in trials for a in t.actual]
    predicted = [p for t in trials for p in t.predicted]
    scale = naive_scale(y[:at.start])
    return Score(method, tuple(trials), mae(actual, predicted), mase(actual, predicted, scale),
                 mape(actual, predicted))
