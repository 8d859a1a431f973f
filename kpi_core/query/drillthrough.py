"""Drill-through: from any number on a page to what is behind it — the uploaded values with
their batch (file, row, uploader, time), the dataset rows, or a formula's components — and the
rule that gave the cell its colour."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from kpi_core.engine.compile import bind_columns, col
from kpi_core.engine.formula import components
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.expressions import check_filter
from kpi_core.model.metric import DatasetSource, FormulaSource
from kpi_core.model.names import view_name
from kpi_core.model.periods import parse_period
from kpi_core.query import linked_values
from kpi_core.query.api import Cell, Query, context, run
from kpi_core.store.datasets import column_names, live_batches
from kpi_core.store.warehouse import Warehouse

MAX_ROWS = 500


@dataclass
class Behind:
    cell: Cell
    kind: str                                   # manual | dataset | formula
    facts: list[dict] = field(default_factory=list)       # uploaded values with their batch
    targets: list[dict] = field(default_factory=list)     # the targets set, with their batch
    rows: list[dict] = field(default_factory=list)        # dataset rows (first MAX_ROWS)
    rows_total: int = 0
    components: list[Cell] = field(default_factory=list)  # a formula's parts at the same place


_FACTS_SQL = """
SELECT f.metric, f.org, f.period, f.value, f.source_row, b.id AS batch, b.source AS file, b.user_name AS by,
       b.created_at AS at
FROM {view} f JOIN batch b ON b.id = f.batch_id
WHERE f.metric IN (SELECT unnest(?)) AND f.org IN (SELECT unnest(?)) AND f.period IN (SELECT unnest(?))
ORDER BY f.period, f.org
LIMIT {limit}
"""


def behind(wh: Warehouse, metric: str, org: str, period: str, *, ytd: bool = False,
           actor: Actor | None = None) -> Behind:
    """What makes up the cell (metric, org, period): only rows of units `actor` may read."""
    p = parse_period(period)
    cell = run(wh, Query((metric,), org, "self", p.grain, period, period, ytd), actor=actor).cells[0]
    tree, metrics = context(wh)  # kept per data version, as the query above read them
    m = metrics[metric]
    out = Behind(cell, m.source_type)
    with wh.connect() as con:
        units = tree.subtree(org)
        if actor is not None:
            units = access.visible_units(actor, tree, units)
        labels = _labels(period)
        if m.source_type == "manual":
            out.facts = _rows(con, _FACTS_SQL.format(view="actual", limit=MAX_ROWS), [[metric], units, labels])
        out.targets = _rows(con, _FACTS_SQL.format(view="target", limit=MAX_ROWS), [[metric], [org], labels])
        if isinstance(m.source, DatasetSource):
            out.rows, out.rows_total = _dataset_rows(con, m.source, tree, units, p)
    if isinstance(m.source, FormulaSource):
        parts = tuple(components(m.source.formula))
        out.components = run(wh, Query(parts, org, "self", p.grain, period, period, ytd), actor=actor).cells
    return out


def _labels(period: str) -> list[str]:
    """The period and every finer period inside it (a year's quarters and months)."""
    p = parse_period(period)
    months = p.months()
    labels = {period, *(x.label for x in months)}
    if p.grain == "year":
        labels |= {x.to("quarter").label for x in months}
    return sorted(labels)


def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _dataset_rows(con, src: DatasetSource, tree, units: list[str], p) -> tuple[list[dict], int]:
    """The dataset rows of the units' subtree in the period, with the metric's filter."""
    columns = column_names(con, src.dataset)
    keys = list(units) + [tree.units[u].name for u in units]
    day = exp.cast(col(src.time_column), "DATE")
    where = exp.and_(
        exp.cast(col(src.org_column), "VARCHAR").isin(query=sqlglot.select("k").from_(
            exp.Unnest(expressions=[exp.Placeholder()], alias=exp.TableAlias(this=exp.to_identifier("u"),
                                                                              columns=[exp.to_identifier("k")])))),
        exp.GTE(this=day.copy(), expression=exp.Placeholder()),
        exp.LT(this=day.copy(), expression=exp.Placeholder()),
    )
    if src.filter:
        where = exp.and_(where, exp.paren(bind_columns(check_filter(src.filter, columns), columns)))
    table = exp.alias_(exp.to_table(f'"{view_name(src.dataset)}"'), "d", table=True)
    params = [keys, p.first_day(), p.end_day()]
    link = linked_values.link_of(con, src.dataset, [b for b, _ in live_batches(con, src.dataset)])
    if link is not None:  # the rows stay at the source: asked there, up to the last refresh
        return linked_values.rows(link, columns, where, day, params, MAX_ROWS)
    total = con.execute(sqlglot.select(exp.Count(this=exp.Star())).from_(table).where(where).sql("duckdb"),
                        params).fetchall()[0][0]
    sql = (sqlglot.select(*[col(c) for c in columns]).from_(table.copy()).where(where.copy())
           .order_by(day.copy()).limit(MAX_ROWS).sql("duckdb"))
    return _rows(con, sql, params), int(total)
