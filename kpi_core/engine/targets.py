"""Targets at any grain: explicit wins; a coarser target is phased (sum; evenly or by a profile) or repeated (avg, last,
min, max); finer targets roll up by time_agg; a parent without its own target gets the sum of
its children's (sum metrics); a formula's target comes from its components' targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from kpi_core.engine.phasing import Weights, share
from kpi_core.engine.rollup import over_time
from kpi_core.model.periods import Period, month_labels, parse_period


def from_own(own: Mapping[str, float], span: Sequence[Period], label: str | None, time_agg: str,
             weights: Weights | None = None) -> float | None:
    """A unit's target for the months in `span` (labelled `label` when it is one period),
    from the targets set for that unit at any grain; `weights` phase a coarser target."""
    if label is not None and label in own:
        return own[label]
    months = {m.label for m in span}
    # Finer targets inside the span, when they cover all of it.
    for grain in ("quarter", "month"):
        inside = {lab: v for lab, v in own.items() if _grain(lab) == grain and month_labels(lab) <= months}
        if inside and set().union(*(month_labels(lab) for lab in inside)) == months:
            return over_time(sorted(inside.items()), time_agg)
    # A coarser target the span sits in: phased evenly for sums, repeated otherwise.
    for grain in ("quarter", "year"):
        for lab, v in own.items():
            if _grain(lab) == grain and months <= month_labels(lab):
                return share(v, sorted(months), sorted(month_labels(lab)), weights) if time_agg == "sum" else v
    # A span over several coarser periods (year-to-date over quarters): add them up, phased.
    if time_agg == "sum":
        total, covered = 0.0, set()
        for lab, v in own.items():
            if _grain(lab) == "year":
                part = months & month_labels(lab)
                if part:
                    total += share(v, sorted(part), sorted(month_labels(lab)), weights)
                    covered |= part
        if covered == months:
            return total
    return None


@lru_cache(maxsize=8192)
def _grain(label: str) -> str:
    return parse_period(label).grain


