"""Cascading a unit's scorecard to its children as their starting point (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.periods import parse_period
from kpi_core.model.scorecard import ScorecardDef
from kpi_core.query.api import Query, run
from kpi_core.query.scorecard import candidate, has_something
from kpi_core.store import dictionary, scorecards
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import Warehouse


@dataclass
class CascadePlan:
    source: str                                         # the unit whose scorecard is copied
    cards: list[ScorecardDef] = field(default_factory=list)    # what each child gets
    kept_own: list[str] = field(default_factory=list)   # children that keep their own scorecard
    dropped: dict[str, list[str]] = field(default_factory=dict)  # child -> metrics it has nothing for
    empty: list[str] = field(default_factory=list)      # children with nothing for any of them: not written
    written: bool = False


def cascade(wh: Warehouse, org: str, *, period: str | None = None, replace: bool = False,
            reason: str | None = None, user: str | Actor = "admin", dry_run: bool = False) -> CascadePlan:
    """Copy the unit's scorecard (its own or inherited) to each direct child that has none of its
    own (every child with `replace`). With `period`, each copy keeps only the metrics the child has
    an actual or a target for in that period, so a department is not handed a wall of "no data"."""
    actor = as_actor(user)
    tree = org_tree(wh)
    org = tree.resolve(org)
    children = list(tree.children.get(org, []))
    if not children:
        raise KpiError(Msg("services_cascade_no_children", org=org))
    metrics = dictionary.current(wh)
    own = scorecards.current(wh)
    card, origin, _ = candidate(own, tree, org, metrics)
    if origin == "default":
        raise KpiError(Msg("services_scorecard_none_to_cascade", org=org))
    plan = CascadePlan(org)
    has = _has_data(wh, card, org, period, actor) if period else None
    for child in children:
        if child in own and not replace:
            plan.kept_own.append(child)
            continue
        copy = card.model_copy(update={"org": child})
        if has is not None:
            keep = {code for code in card.codes if (code, child) in has}
            plan.dropped[child] = [c for c in card.codes if c not in keep]
            copy = copy.kept(keep)
            if not copy.codes:
                plan.empty.append(child)
                continue
            if copy.perspective_weights:  # perspectives left without a metric lose their weight
                used = {metrics[c].perspective for c in copy.codes}
                copy = copy.model_copy(update={"perspective_weights": {
                    p: w for p, w in copy.perspective_weights.items() if p in used} or None})
        plan.cards.append(copy)
    if plan.cards and not dry_run:
        scorecards.apply(wh, plan.cards, reason=reason, user=actor)
        plan.written = True
    return plan


def _has_data(wh: Warehouse, card: ScorecardDef, org: str, period: str, actor: Actor) -> set[tuple[str, str]]:
    """(metric, child) pairs where the child has an actual or a target in the period."""
    p = parse_period(period)
    cells = run(wh, Query(tuple(card.codes), org, "children", p.grain, p.label, p.label), actor=actor).cells
    return {(c.metric, c.org) for c in cells if has_something(c)}
