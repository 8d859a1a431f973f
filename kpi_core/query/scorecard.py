"""A unit's scorecard for one period (SPEC §3): which KPIs judge it — its own scorecard, else the
nearest ancestor's kept to what the unit has data or a target for — and its weighted score.

Score: Σ wᵢ·sᵢ / Σ wᵢ over the metrics that have a score; with perspective weights, each
perspective's score is weighted instead. The grade follows the bands in the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.engine import attainment as att
from kpi_core.model.access import Actor
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Grain, parse_period
from kpi_core.model.scorecard import PERSPECTIVES, Item, ScorecardDef, nearest, parse, perspective_of, shares
from kpi_core.query.api import Cell, Query, context, kept, run
from kpi_core.store import dictionary, scorecards, settings
from kpi_core.store.warehouse import Warehouse

# Where a unit's scorecard comes from: its own, an ancestor's, or none set up the tree (then every
# metric with a perspective, weighted equally, kept to what the unit has — as an inherited one).
Origin = str  # "own" | "inherited" | "default"


@dataclass
class Scorecard:
    org: str
    period: str
    # metric, perspective, weight, share, score, status, actual, target (to date when in_progress)
    items: list[dict] = field(default_factory=list)
    perspectives: dict[str, float | None] = field(default_factory=dict)
    score: float | None = None
    grade: str | None = None
    origin: Origin = "own"
    source: str | None = None  # the unit whose scorecard this is (None: the default)
    dropped: list[str] = field(default_factory=list)  # inherited metrics the unit has nothing for

    @property
    def codes(self) -> list[str]:
        return [it["metric"] for it in self.items]


def current_cards(wh: Warehouse) -> dict[str, ScorecardDef]:
    """Every unit's own scorecard (store.scorecards.current), read once per data version: saving
    or removing one bumps it. Shared: treat as read-only."""
    return kept(wh, "scorecards", lambda: scorecards.current(wh))


def default_card(org: str, metrics: dict[str, Metric]) -> ScorecardDef:
    """Every metric with a BSC perspective, in perspective order, each weighted 1."""
    order = {p: i for i, p in enumerate(PERSPECTIVES)}
    chosen = sorted((m for m in metrics.values() if m.perspective in order), key=lambda m: order[m.perspective])
    return ScorecardDef(org=org, metrics=tuple(Item(metric=m.code) for m in chosen))


def candidate(cards: dict[str, ScorecardDef], tree: OrgTree, org: str,
              metrics: dict[str, Metric]) -> tuple[ScorecardDef, Origin, str | None]:
    """The definition that applies before it is kept to the unit's data: (card, origin, source)."""
    found = nearest(cards, tree, org)
    if found is None:
        return default_card(org, metrics), "default", None
    return found, ("own" if found.org == org else "inherited"), found.org


def has_something(cell: Cell | None) -> bool:
    """A unit has something for a metric when there is an actual or a target for it."""
    return cell is not None and (cell.actual is not None or cell.target is not None)


def settle(card: ScorecardDef, origin: Origin, cells: dict[str, Cell]) -> tuple[ScorecardDef, list[str]]:
    """An own scorecard as it is; an inherited one kept to the metrics the unit has something for.
    Returns the card and the metrics left out."""
    if origin == "own":
        return card, []
    kept = {code for code in card.codes if has_something(cells.get(code))}
    return card.kept(kept), [c for c in card.codes if c not in kept]


def ordered(card: ScorecardDef, metrics: dict[str, Metric]) -> list[str]:
    """The card's metrics perspective by perspective, in the card's order within each."""
    rank = {p: i for i, p in enumerate(PERSPECTIVES)}
    return sorted(card.codes, key=lambda c: rank.get(perspective_of(metrics.get(c)), len(rank)))


def score(wh: Warehouse, card: ScorecardDef, cells: dict[str, Cell], metrics: dict[str, Metric], period: str,
          *, bands: tuple[tuple[str, float], ...] | None = None) -> Scorecard:
    """The card's items (in perspective order), perspective scores, total and grade from `cells`."""
    weights, share = card.weights(), shares(card, metrics)
    out = Scorecard(card.org, period)
    for code in ordered(card, metrics):
        c = cells.get(code)
        out.items.append({"metric": code, "perspective": perspective_of(metrics.get(code)),
                          "weight": weights[code], "share": share[code], "score": c.score if c else None,
                          "status": c.status if c else "no_data", "actual": c.actual if c else None,
                          "target": c.target if c else None, "in_progress": bool(c and c.in_progress)})
    groups: dict[str, list[tuple[float, float | None]]] = {}
    for it in out.items:
        groups.setdefault(it["perspective"], []).append((it["weight"], it["score"]))
    out.perspectives = {p: att.weighted_score(items) for p, items in groups.items()}
    if card.perspective_weights:
        out.score = att.weighted_score((card.perspective_weights.get(p, 0.0), s) for p, s in out.perspectives.items())
    else:
        out.score = att.weighted_score((it["weight"], it["score"]) for it in out.items)
    out.grade = att.grade(out.score, bands or settings.get(wh, "grade_bands"), settings.get(wh, "lowest_grade"))
    return out


def unit_scorecard(wh: Warehouse, tree: OrgTree, org: str, period: str, *, actor: Actor | None = None,
                   today=None) -> Scorecard:
    """The unit's scorecard at a period, scored: own, inherited (kept to its data) or the default."""
    _, metrics = context(wh)
    card, origin, source = candidate(current_cards(wh), tree, org, metrics)
    p = parse_period(period)
    cells = {c.metric: c for c in run(wh, Query(tuple(card.codes), org, "self", p.grain, p.label, p.label),
                                      today=today, actor=actor).cells} if card.codes else {}
    kept, dropped = settle(card, origin, cells)
    out = score(wh, kept, cells, metrics, p.label)
    out.origin, out.source, out.dropped = origin, source, dropped
    return out


def scorecard(wh: Warehouse, org: str, period: str, grain: Grain, weights: dict[str, float], *,
              perspective_weights: dict[str, float] | None = None,
              bands: tuple[tuple[str, float], ...] | None = None, actor=None) -> Scorecard:
    """An ad-hoc scorecard of the given weights (not stored) for one unit and period."""
    metrics = dictionary.current(wh)
    cells = run(wh, Query(tuple(weights), org, "self", grain, period, period), actor=actor).cells
    found, problems = parse([{"org": cells[0].org if cells else org,
                              "metrics": [{"metric": c, "weight": w} for c, w in weights.items()],
                              "perspective_weights": perspective_weights or None}], "--weight")
    if problems:
        raise ValidationFailed(Msg("store_scorecard_problems", n=len(problems)), problems)
    card = found[0]
    return score(wh, card, {c.metric: c for c in cells}, metrics, period, bands=bands)


def subtree_scorecards(wh: Warehouse, tree: OrgTree, org: str, period: str, *, actor: Actor | None = None,
                       today=None) -> dict[str, Scorecard]:
    """Every unit's scorecard in `org`'s subtree at a period, as unit_scorecard gives each, from
    one query over the subtree (a review cycle scores hundreds of units at once). A trusted
    caller's (no actor) are kept per data version: shared, treat them as read-only."""
    if actor is None:
        key = ("subtree_scorecards", org, period, today)
        return kept(wh, key, lambda: _subtree(wh, tree, org, period, None, today))
    return _subtree(wh, tree, org, period, actor, today)


def _subtree(wh: Warehouse, tree: OrgTree, org: str, period: str, actor: Actor | None, today) -> dict[str, Scorecard]:
    _, metrics = context(wh)
    cards = current_cards(wh)
    units = list(tree.subtree(org))
    found = {u: candidate(cards, tree, u, metrics) for u in units}
    codes = tuple(dict.fromkeys(c for card, _, _ in found.values() for c in card.codes))
    p = parse_period(period)
    cells: dict[str, dict[str, Cell]] = {}
    if codes:
        for c in run(wh, Query(codes, org, "subtree", p.grain, p.label, p.label), today=today, actor=actor).cells:
            cells.setdefault(c.org, {})[c.metric] = c
    out = {}
    for u, (card, origin, source) in found.items():
        mine = {code: cells[u][code] for code in card.codes if code in cells.get(u, {})}
        kept_card, dropped = settle(card, origin, mine)
        sc = score(wh, kept_card, mine, metrics, p.label)
        sc.origin, sc.source, sc.dropped = origin, source, dropped
        out[u] = sc
    return out
