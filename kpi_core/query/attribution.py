"""Where a gap comes from: a unit's metric at a period, its gap to target split among its direct
children (engine/attribution.py does the arithmetic; this fetches the figures through `run`).

The actor must be able to read the unit. Children they may not read are never named: their
figures are pooled into one "others" line (org ""), which tells no more than the unit's own
number less the named children's.
"""

from __future__ import annotations

from dataclasses import replace

from kpi_core.engine import attribution as attr
from kpi_core.engine.attribution import Attribution, Part
from kpi_core.engine.formula import NoValue, evaluate
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.messages import Msg
from kpi_core.model.periods import parse_period
from kpi_core.query.api import Cell, Query, run
from kpi_core.store import dictionary
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import Warehouse


def attribute(wh: Warehouse, metric: str, org: str, period: str, actor: Actor | None = None, *,
              ytd: bool = False) -> Attribution:
    """The gap of `metric` at `org` in `period` (actual − target, the target the status was judged
    on) split among the unit's direct children, within what `actor` may read."""
    p = parse_period(period)
    parent = run(wh, Query((metric,), org, "self", p.grain, p.label, p.label, ytd), actor=actor).cells[0]
    metrics = dictionary.current(wh)
    m = metrics[metric]
    place = {"metric": m.code, "org": parent.org, "period": parent.period, "status": parent.status}
    shape = attr.shape(m, metrics)
    tree = org_tree(wh)
    kids = tree.children.get(parent.org, [])
    if shape.kind == attr.NONE or not kids:
        why = shape.reason or Msg("query_attribution_no_children", org=parent.org)
        return replace(attr.unavailable(why, m.direction, parent.actual, parent.target), **place)
    # Every child, read as a trusted caller: those the actor may not read leave only as a pooled line.
    q = Query((m.code, *shape.components), parent.org, "children", p.grain, p.label, p.label, ytd)
    cells = {(c.metric, c.org): c for c in run(wh, q).cells}
    named = set(kids if actor is None else access.visible_units(actor, tree, kids))
    figures = [_part(cells, m.code, u, shape) for u in kids]
    hidden = [x for x in figures if x.org not in named]
    others, excluded = attr.merge(hidden, shape.kind) if hidden else (None, [])
    children = [x for x in figures if x.org in named] + ([others] if others else [])
    out = attr.attribute(shape.kind, m.direction, parent.actual, parent.target, children, excluded)
    return replace(out, **place)


def _part(cells: dict[tuple[str, str], Cell], metric: str, unit: str, shape: attr.Shape) -> Part:
    c = cells[(metric, unit)]
    if shape.kind != attr.RATIO:
        return Part(unit, c.actual, c.target)
    return Part(unit, c.actual, c.target, _denominator(cells, unit, shape, "actual"),
                _denominator(cells, unit, shape, "target"))


def _denominator(cells: dict[tuple[str, str], Cell], unit: str, shape: attr.Shape, which: str) -> float | None:
    """The ratio's denominator at `unit` from its components' actuals (or targets); None when empty."""
    values = {code: getattr(cells[(code, unit)], which) for code in shape.components}
    try:
        return evaluate(shape.denominator, values)
    except NoValue:
        return None
