"""Phasing: how a yearly or quarterly target is spread over its months for `sum` metrics.

`even` gives each month the same share; `last_year` gives each month the share the same unit's
actual had in the same month a year before (even when last year has no usable actuals); a named
profile gives each month of the fiscal year a weight (e.g. retail: heavier in Q4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg

EVEN, LAST_YEAR = "even", "last_year"
BUILT_IN = (EVEN, LAST_YEAR)


Weights = Callable[[str], float | None]  # month label -> weight (None: unknown)


def check_weights(name: str, weights: Sequence[float]) -> list[float]:
    """Twelve finite, non-negative weights that do not all be zero; a clear error otherwise."""
    if name in BUILT_IN:
        raise KpiError(Msg("engine_phasing_built_in", name=name))
    if len(weights) != 12:
        raise KpiError(Msg("engine_phasing_needs_12", name=name, n=len(weights)))
    out = []
    for i, w in enumerate(weights, start=1):
        try:
            v = float(w)
        except (TypeError, ValueError):
            raise KpiError(Msg("engine_phasing_not_number", name=name, month=i, weight=f"{w}")) from None
        if not math.isfinite(v) or v < 0:
            raise KpiError(Msg("engine_phasing_negative", name=name, month=i, weight=f"{w}"))
        out.append(v)
    if sum(out) <= 0:
        raise KpiError(Msg("engine_phasing_zero", name=name))
    return out


def share(value: float, months: Sequence[str], whole: Sequence[str], weights: Weights | None) -> float:
    """The part of `value` (set for the months `whole`) that falls in `months`: by the weights
    when every month of `whole` has one and they add up to more than 0, else evenly."""
    if weights is not None:
        w = {m: weights(m) for m in whole}
        if all(x is not None and math.isfinite(x) and x >= 0 for x in w.values()):
            total = sum(w.values())  # type: ignore[arg-type]
            if total > 0:
                return value * sum(w[m] for m in months if m in w) / total  # type: ignore[misc]
    return value * len(months) / len(whole)
