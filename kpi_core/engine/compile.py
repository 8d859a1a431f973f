"""Dataset metrics compiled to SQL syntax trees (SQLGlot): the measure over every row of a unit's
subtree and period, so count(distinct …) and avg(…) are right at every level and grain.

Rows reach a unit through the org closure (every ancestor–descendant pair, self included),
so a department's value is the measure over its own rows and all its teams' rows at once —
never a sum or average of the children's results. Values go in as bound parameters.

Both joins are equi-joins, which DuckDB hashes: the closure is registered already cut down
to the units asked for, and a period is the set of months it covers, so a row finds its
periods by its month (year-to-date periods overlap: a month then belongs to several).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import sqlglot
from sqlglot import exp

from kpi_core.model.expressions import check_filter, check_measure
from kpi_core.model.metric import DatasetSource, Metric
from kpi_core.model.names import view_name
from kpi_core.model.org import OrgTree

DIALECT = "duckdb"
CLOSURE = "_org_closure"  # registered per query: (ancestor, descendant), ancestors cut to the units asked
KEYS = "_org_keys"        # registered per query: (key) every code and unique name of the tree
PERIODS = "_periods"      # registered per query: (label, month) the months each period covers
LIVE = "_live_batches"    # registered per query: (metric, batch_id) the live batches behind each metric


def org_closure(tree: OrgTree) -> pa.Table:
    """Every (ancestor, descendant) pair of the tree, each unit its own ancestor too.

    A dataset's org column may hold a unit's code or its (unique) name, so both are keys."""
    names = tree.by_name()
    anc, key = [], []
    for code, unit in tree.units.items():
        keys = [code] + ([unit.name] if len(names.get(unit.name, [])) == 1 and unit.name != code else [])
        for a in unit.path:
            for k in keys:
                anc.append(a)
                key.append(k)
    return pa.table({"ancestor": pa.array(anc, pa.string()), "descendant": pa.array(key, pa.string())})


def scoped(closure: pa.Table, units: list[str]) -> pa.Table:
    """The closure pairs whose ancestor is one of `units`."""
    import pyarrow.compute as pc

    return closure.filter(pc.is_in(closure["ancestor"], pa.array(units, pa.string())))


def org_keys(closure: pa.Table) -> pa.Table:
    """Every value an org column may hold that maps to a unit."""
    import pyarrow.compute as pc

    return pa.table({"key": pc.unique(closure["descendant"])})


def col(name: str, table: str = "d") -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table))


def bind_columns(tree: exp.Expression, columns: list[str]) -> exp.Expression:
    """Qualify the fragment's columns with the dataset alias, spelled as the dataset spells them."""
    lookup = {c.lower(): c for c in columns}

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            return col(node.name if node.name in columns else lookup[node.name.lower()])
        return node

    return tree.copy().transform(fix)


@dataclass(frozen=True)
class Compiled:
    """A query and its parameters: (org, period, value) rows."""

    sql: exp.Select
    params: list

    def render(self, dialect: str = DIALECT) -> str:
        return self.sql.sql(dialect)


def compile_dataset_metric(metric: Metric, columns: list[str], first_day: dt.date, end_day: dt.date,
                           cumulative: bool = False) -> Compiled:
    """SELECT org, period, measure over the dataset joined to the (scoped) closure and the
    periods' months — overlapping periods, such as year-to-date, too.

    `cumulative`: the periods are year-to-date spans (each from its fiscal year's first month),
    so a plain count(distinct x) is answered from each value's first month in its year instead
    of joining every row to up to twelve periods."""
    src = metric.source
    assert isinstance(src, DatasetSource), f"{metric.code} is not a dataset metric"
    measure = bind_columns(check_measure(src.measure, columns), columns)
    day = exp.cast(col(src.time_column), "DATE")
    where = exp.and_(
        exp.GTE(this=day.copy(), expression=exp.Placeholder()),
        exp.LT(this=day.copy(), expression=exp.Placeholder()),
    )
    if src.filter:
        where = exp.and_(where, exp.paren(bind_columns(check_filter(src.filter, columns), columns)))
    in_period = exp.EQ(this=month_of(day.copy()), expression=exp.column("month", "p"))
    distinct = distinct_of(measure)
    if cumulative and distinct is not None:
        return Compiled(_first_seen(src, distinct, day, where), [first_day, end_day])
    query = (
        sqlglot.select(exp.alias_(exp.column("ancestor", table="c"), "org"),
                       exp.alias_(exp.column("label", table="p"), "period"), exp.alias_(measure, "value"))
        .from_(exp.alias_(exp.to_table(f'"{view_name(src.dataset)}"'), "d", table=True))
        .join(exp.alias_(exp.to_table(CLOSURE), "c", table=True),
              on=exp.EQ(this=exp.cast(col(src.org_column), "VARCHAR"), expression=exp.column("descendant", "c")))
        .join(exp.alias_(exp.to_table(PERIODS), "p", table=True), on=in_period)
        .where(where)
        .group_by(exp.column("ancestor", table="c"), exp.column("label", table="p"))
    )
    return Compiled(query, [first_day, end_day])


def distinct_of(measure: exp.Expression) -> exp.Expression | None:
    """x when the measure is exactly count(distinct x)."""
    if isinstance(measure, exp.Count) and isinstance(measure.this, exp.Distinct) \
            and len(measure.this.expressions) == 1:
        return measure.this.expressions[0]
    return None


def _first_seen(src: DatasetSource, value: exp.Expression, day: exp.Expression, where: exp.Expression) -> exp.Select:
    """count(distinct value) year to date: each (unit, value) counts from the first month it
    appears in its year, so a row is read once, not once per period that covers it."""
    rows = (exp.alias_(exp.to_table(f'"{view_name(src.dataset)}"'), "d", table=True),
            exp.cast(col(src.org_column), "VARCHAR"))
    return first_seen(rows, value, month_of(day.copy()),
                      exp.and_(where.copy(), exp.not_(exp.Is(this=value.copy(), expression=exp.null()))))


def first_seen(rows: tuple[exp.Expression, exp.Expression], value: exp.Expression, month: exp.Expression,
               where: exp.Expression) -> exp.Select:
    """(org, period, count) of distinct values counted from each (unit, value)'s first month in its
    span; `rows` is (the relation, its org key expression), read from the dataset or its partials."""
    relation, key = rows
    spans = (sqlglot.select("month", "span_start").distinct().from_(PERIODS))
    firsts = (
        sqlglot.select(exp.alias_(exp.column("ancestor", table="c"), "org"),
                       exp.alias_(exp.Min(this=month.copy()), "first"))
        .from_(relation)
        .join(exp.alias_(exp.to_table(CLOSURE), "c", table=True),
              on=exp.EQ(this=key, expression=exp.column("descendant", "c")))
        .join(exp.alias_(exp.Subquery(this=spans), "y", table=True),
              on=exp.EQ(this=month.copy(), expression=exp.column("month", "y")))
        .where(where)
        .group_by(exp.column("ancestor", table="c"), value.copy(), exp.column("span_start", table="y"))
    )
    return (
        sqlglot.select(exp.column("org", table="f"), exp.alias_(exp.column("label", table="p"), "period"),
                       exp.alias_(exp.Count(this=exp.Star()), "value"))
        .from_(exp.alias_(exp.Subquery(this=firsts), "f", table=True))
        .join(exp.alias_(exp.to_table(PERIODS), "p", table=True),
              on=exp.EQ(this=exp.column("first", table="f"), expression=exp.column("month", "p")))
        .group_by(exp.column("org", table="f"), exp.column("label", table="p"))
    )


def month_of(day: exp.Expression) -> exp.Expression:
    """The first day of the day's month, as a DATE."""
    return exp.cast(exp.func("DATE_TRUNC", exp.Literal.string("month"), day), "DATE")


def periods_table(periods: list[tuple[str, dt.date, dt.date]]) -> pa.Table:
    """(label, month, span_start) rows for the PERIODS join from (label, start_day, end_day)
    spans; end_day is exclusive and spans are whole months."""
    labels, months, starts = [], [], []
    for label, start, end in periods:
        d = start.replace(day=1)
        while d < end:
            labels.append(label)
            months.append(d)
            starts.append(start)
            d = (d + dt.timedelta(days=32)).replace(day=1)
    return pa.table({"label": pa.array(labels, pa.string()), "month": pa.array(months, pa.date32()),
                     "span_start": pa.array(starts, pa.date32())})


def compile_unmapped(metric: Metric, first_day: dt.date, end_day: dt.date) -> Compiled:
    """How many rows of the metric's dataset, in the period range, map to no org unit."""
    src = metric.source
    assert isinstance(src, DatasetSource)
    day = exp.cast(col(src.time_column), "DATE")
    key = exp.cast(col(src.org_column), "VARCHAR")
    query = (
        sqlglot.select(exp.alias_(exp.Count(this=exp.Star()), "rows"))
        .from_(exp.alias_(exp.to_table(f'"{view_name(src.dataset)}"'), "d", table=True))
        .where(exp.and_(
            exp.GTE(this=day, expression=exp.Placeholder()),
            exp.LT(this=day.copy(), expression=exp.Placeholder()),
            # An empty org cell is no unit's either (NOT (NULL IN …) would be NULL and drop the row).
            exp.or_(key.is_(exp.null()), exp.not_(key.copy().isin(query=sqlglot.select("key").from_(KEYS)))),
        ))
    )
    return Compiled(query, [first_day, end_day])
