"""Weighted scorecards for one org unit or person and one period, with BSC perspective weights."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.engine import attainment as att
from kpi_core.model.periods import Grain
from kpi_core.query.api import Query, run
from kpi_core.store import dictionary, settings
from kpi_core.store.warehouse import Warehouse


@dataclass
class Scorecard:
    org: str
    period: str
    items: list[dict] = field(default_factory=list)  # metric, perspective, weight, score, status
    perspectives: dict[str, float | None] = field(default_factory=dict)
    score: float | None = None
    grade: str | None = None


def scorecard(wh: Warehouse, org: str, period: str, grain: Grain, weights: dict[str, float], *,
              perspective_weights: dict[str, float] | None = None,
              bands: tuple[tuple[str, float], ...] | None = None, actor=None) -> Scorecard:
    """Σ wᵢ·sᵢ / Σ wᵢ over the metrics that have a score; with perspective weights, the
    perspectives' scores are weighted instead."""
    metrics = dictionary.current(wh)
    cells = run(wh, Query(tuple(weights), org, "self", grain, period, period), actor=actor).cells
    card = Scorecard(cells[0].org if cells else org, period)
    for c in cells:
        card.items.append({"metric": c.metric, "perspective": metrics[c.metric].perspective or "none",
                           "weight": weights[c.metric], "score": c.score, "status": c.status})
    groups: dict[str, list[tuple[float, float | None]]] = {}
    for it in card.items:
        groups.setdefault(it["perspective"], []).append((it["weight"], it["score"]))
    card.perspectives = {p: att.weighted_score(items) for p, items in groups.items()}
    if perspective_weights:
        card.score = att.weighted_score((perspective_weights.get(p, 0.0), s) for p, s in card.perspectives.items())
    else:
        card.score = att.weighted_score((it["weight"], it["score"]) for it in card.items)
    card.grade = att.grade(card.score, bands or settings.get(wh, "grade_bands"), settings.get(wh, "lowest_grade"))
    return card
