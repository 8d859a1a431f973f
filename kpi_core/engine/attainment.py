"""Attainment, status, score and grade of one KPI value, exactly as SPEC §3 says.

Every function here is plain arithmetic on floats; nothing divides by zero and nothing
returns inf or NaN: an undefined result is None, with the reason in the status.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from kpi_core.model.messages import Msg

Direction = Literal["higher_is_better", "lower_is_better", "in_range"]
StatusCode = Literal["green", "amber", "red", "no_data", "no_target"]
DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("S", 110.0), ("A", 100.0), ("B", 90.0), ("C", 75.0))
LOWEST_GRADE = "D"


@dataclass(frozen=True)
class Status:
    """A status and the rule that gave it, in words a person can read."""

    code: StatusCode
    rule: str  # a Msg: the English text, its code and parameters


def _finite(v: float | None) -> bool:
    return v is not None and not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def attainment(actual: float | None, target: float | None, direction: Direction = "higher_is_better",
               low: float | None = None, high: float | None = None) -> float | None:
    """The attainment fraction (1.0 = 100 %), None where it is undefined.

    higher_is_better: 1 + (x - t) / |t|; lower_is_better: 1 + (t - x) / |t|; in_range:
    1 inside [low, high], else 1 - distance / (high - low) (or / |low|, or / 1, when the range
    is a point). A zero target has no attainment (its status says met or not).
    """
    if not _finite(actual):
        return None
    if direction == "in_range":
        if low is None or high is None:
            return None
        if low <= actual <= high:
            return 1.0
        distance = low - actual if actual < low else actual - high
        width = high - low or abs(low) or 1.0
        return 1.0 - distance / width
    if not _finite(target) or target == 0:
        return None
    gap = target - actual if direction == "lower_is_better" else actual - target
    a = 1.0 + gap / abs(target)
    return a if _finite(a) else None  # a target of 1e-308 would overflow: undefined, not inf


def status(actual: float | None, target: float | None, direction: Direction = "higher_is_better", *,
           low: float | None = None, high: float | None = None, green: float = 1.0,
           amber: float = 0.9) -> Status:
    """The colour of one value, first matching rule wins, with the rule that made it."""
    if not _finite(actual):
        return Status("no_data", Msg("engine_rule_no_actual"))
    if direction == "in_range":
        if low is None or high is None:
            return Status("no_target", Msg("engine_rule_no_range"))
    elif not _finite(target):
        return Status("no_target", Msg("engine_rule_no_target"))
    elif target == 0:
        met = actual <= 0 if direction == "lower_is_better" else actual >= 0
        sign = "≤" if direction == "lower_is_better" else "≥"
        if met:
            return Status("green", Msg("engine_rule_zero_met", actual=_num(actual), sign=sign))
        return Status("red", Msg("engine_rule_zero_missed", actual=_num(actual), sign=sign))
    a = attainment(actual, target, direction, low, high)
    if a is None:
        return Status("no_target", Msg("engine_rule_too_close", target=_num(target)))
    if a >= green:
        return Status("green", Msg("engine_rule_green", attainment=_pct(a), green=_pct(green)))
    if a >= amber:
        return Status("amber", Msg("engine_rule_amber", attainment=_pct(a), amber=_pct(amber), green=_pct(green)))
    return Status("red", Msg("engine_rule_red", attainment=_pct(a), amber=_pct(amber)))


def score(a: float | None, floor: float = 0.0, cap: float = 1.2) -> float | None:
    """KPI score: 0 below the floor, else 100 × min(a, cap); None without attainment."""
    if not _finite(a):
        return None
    if a < floor:
        return 0.0
    return 100.0 * min(a, cap)


def kpi_score(actual: float | None, target: float | None, direction: Direction = "higher_is_better", *,
              low: float | None = None, high: float | None = None, floor: float = 0.0,
              cap: float = 1.2) -> float | None:
    """The score of one value; a zero target scores 100 when met and 0 when missed."""
    if _finite(actual) and direction != "in_range" and target == 0:
        return 100.0 if status(actual, target, direction).code == "green" else 0.0
    return score(attainment(actual, target, direction, low, high), floor, cap)


def weighted_score(items: Iterable[tuple[float, float | None]]) -> float | None:
    """Σ wᵢ·sᵢ / Σ wᵢ over the items that have a score; None when none has."""
    total = weights = 0.0
    for weight, s in items:
        if _finite(s) and weight:
            total += weight * s
            weights += weight
    return total / weights if weights else None


def grade(s: float | None, bands: Sequence[tuple[str, float]] = DEFAULT_GRADES,
          lowest: str = LOWEST_GRADE) -> str | None:
    """The first band whose minimum the score reaches (S ≥ 110, A ≥ 100, B ≥ 90, C ≥ 75, D)."""
    if not _finite(s):
        return None
    for name, minimum in sorted(bands, key=lambda b: -b[1]):
        if s >= minimum:
            return name
    return lowest


def okr_progress(actual: float | None, start: float, target: float) -> float | None:
    """Key-result progress (x - start) / (target - start), clamped to [0, 1]."""
    if not _finite(actual) or target == start:
        return None
    return min(1.0, max(0.0, (actual - start) / (target - start)))


def _pct(a: float) -> str:
    return f"{a * 100:.1f}%"


def _num(v: float) -> str:
    return f"{v:g}"
