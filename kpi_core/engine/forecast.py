"""A period-end forecast from one series: every method backtested, the best one chosen (if it
beats the naive forecast), its path to the period end, and an 80 % prediction interval.

The interval comes from the chosen method's own backtest errors, not from a model's
assumptions: the period-end value's error at each backtest origin that saw the whole remaining
horizon (value ± 1.2816 × their root mean square: the 10 % and 90 % points of a normal error).
With fewer than three such origins, each remaining period's own error (the root mean square at
that step ahead, or the first step's × √step where no backtest reached it) is combined as the
metric combines periods: summed for a sum (a method's errors run together, so this is the wide,
safe side), averaged for an average, the last one's for last/min/max.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from kpi_core.engine.backtest import MIN_ORIGINS, Score, backtest, origins, usable
from kpi_core.engine.forecast_methods import BASELINES, CANDIDATES, METHODS
from kpi_core.model.messages import Msg

Z80 = 1.2816  # the normal distribution's 90 % point: 80 % of errors lie within ± Z80 σ
SEASON = {"month": 12, "quarter": 4, "year": None}


@dataclass(frozen=True)
class Projection:
    """The forecast of one series to a period's end."""

    method: str | None                  # the method used; None: no history at all
    path: tuple[float, ...] = ()        # forecasts for each period after the history, to the period end
    value: float | None = None          # the period-end value: the periods done and the path combined
    low: float | None = None            # the 80 % interval (None: no backtest to size it)
    high: float | None = None
    scores: dict[str, Score] = field(default_factory=dict)  # every method backtested, baselines too
    notes: tuple[Msg, ...] = ()

    @property
    def mase(self) -> float | None:
        s = self.scores.get(self.method or "")
        return s.mase if s else None

    @property
    def mape(self) -> float | None:
        s = self.scores.get(self.method or "")
        return s.mape if s else None


def combine(agg: str, to_date: float | None, done: int, rest: Sequence[float]) -> float | None:
    """The period's value from its value to date (over `done` periods) and the periods left,
    as the metric's time_agg combines periods (sum, avg, last, min, max)."""
    known = [] if to_date is None else [to_date]
    done = done if to_date is not None else 0
    if not rest:
        return to_date
    if agg == "sum":
        return sum(known) + sum(rest)
    if agg == "avg":
        return (sum(known) * done + sum(rest)) / (done + len(rest))
    if agg == "last":
        return rest[-1]
    return min([*known, *rest]) if agg == "min" else max([*known, *rest])


def choose(scores: dict[str, Score]) -> tuple[str, list[Msg]]:
    """The candidate with the smallest backtest error, if it beats naive; else naive, said so."""
    ranked = sorted((m for m in CANDIDATES if m in scores), key=lambda m: scores[m].mae)
    if not ranked:
        return "naive", []
    best = ranked[0]
    if scores[best].mae < scores["naive"].mae:
        return best, []
    return "naive", [Msg("forecast_note_naive_kept")]


def project(history: Sequence[float], horizon: int, agg: str = "sum", *, to_date: float | None = None,
            done: int = 0, left: int | None = None, season: int | None = 12) -> Projection:
    """Forecast `history` (oldest first, no gaps) `horizon` periods on, to a period's end, of
    which the last `left` (default: all) are in the period; the period has `done` periods with
    value `to_date` already. Never NaN or inf: an undefined figure is None."""
    left = horizon if left is None else left
    if not history:
        return Projection(None, notes=(Msg("forecast_note_no_history"),))
    floor = 0.0 if min(history) >= 0 and (to_date is None or to_date >= 0) else None  # counts, money: not below 0
    methods = usable(history, season)
    if "naive" not in methods:  # too short to backtest anything: the last value, no interval
        path = _floored(METHODS["naive"].predict(history, horizon, season), floor)
        note = Msg("forecast_note_too_short", n=len(history), need=METHODS["naive"].needs(season) + MIN_ORIGINS)
        return Projection("naive", tuple(path), combine(agg, to_date, done, path[horizon - left:]), notes=(note,))
    at = origins(history, methods, season)
    scores = {m: s for m in methods for s in [backtest(history, m, horizon, at, season)] if s is not None}
    method, notes = choose(scores)
    skipped = [m for m in (*CANDIDATES, *BASELINES) if m not in scores]
    if skipped:
        notes.insert(0, Msg("forecast_note_skipped", methods=", ".join(skipped), n=len(history)))
    path = _floored(METHODS[method].predict(history, horizon, season), floor)
    value = combine(agg, to_date, done, path[horizon - left:])
    sigma, note = _sigma(scores[method], agg, to_date, done, horizon, left)
    if note:
        notes.append(note)
    low, high = value - Z80 * sigma, value + Z80 * sigma
    if floor is not None:
        low = max(low, floor)
    return Projection(method, tuple(path), value, low, high, scores, tuple(notes))


def _floored(path: list[float] | None, floor: float | None) -> list[float]:
    path = path or []
    return path if floor is None else [max(v, floor) for v in path]


def _rms(errors: Sequence[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def _sigma(score: Score, agg: str, to_date: float | None, done: int, horizon: int,
           left: int) -> tuple[float, Msg | None]:
    """The spread of the period-end value's error, from the method's backtest (see the module)."""
    whole = [t for t in score.trials if len(t.actual) == horizon]
    if len(whole) >= MIN_ORIGINS:
        cut = horizon - left
        errors = [combine(agg, to_date, done, t.actual[cut:]) - combine(agg, to_date, done, t.predicted[cut:])
                  for t in whole]
        return _rms(errors), None
    by_step: dict[int, list[float]] = {}
    for t in score.trials:
        for k, (a, p) in enumerate(zip(t.actual, t.predicted, strict=True), start=1):
            by_step.setdefault(k, []).append(a - p)
    first = _rms(by_step[1])
    steps = [_rms(by_step[k]) if k in by_step else first * math.sqrt(k) for k in range(horizon - left + 1, horizon + 1)]
    if agg == "sum":
        sigma = sum(steps)
    elif agg == "avg":
        sigma = sum(steps) / (left + (done if to_date is not None else 0))
    else:
        sigma = steps[-1]
    return sigma, Msg("forecast_note_interval_by_step")
