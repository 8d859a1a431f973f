"""Dataset metrics compiled to SQL syntax trees (SQLGlot): the measure over every row of a unit's
subtree and period, so count(distinct …) and avg(…) are right at every level and grain.

Rows reach a unit through the org closure (every ancestor–descendant pair, self included),
so a department's value is the measure over its own rows and all its teams' rows at once —
never a sum or average of the children's results. Values go in as bound parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..datasets import view_name
from ..dictionary import DatasetSource, Metric
from ..expressions import check_filter, check_measure
from ..org import OrgTree

DIALECT = "duckdb"
CLOSURE = "_org_closure"  # registered per query: (ancestor, descendant)
SCOPE = "_scope"          # registered per query: (org) the units asked for
PERIODS = "_periods"      # registered per query: (label, start_day, end_day)


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


def _col(name: str, table: str = "d") -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table))


def _bind_columns(tree: exp.Expression, columns: list[str]) -> exp.Expression:
    """Qualify the fragment's columns with the dataset alias, spelled as the dataset spells them."""
    lookup = {c.lower(): c for c in columns}

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            return _col(node.name if node.name in columns else lookup[node.name.lower()])
        return node

    return tree.copy().transform(fix)


@dataclass(frozen=True)
class Compiled:
    """A query and its parameters: (org, period, value) rows."""

    sql: exp.Select
    params: list

    def render(self, dialect: str = DIALECT) -> str:
        return self.sql.sql(dialect)


def compile_dataset_metric(metric: Metric, columns: list[str], first_day: dt.date, end_day: dt.date) -> Compiled:
    """SELECT org, period, measure over the dataset joined to the closure, the scope and the
    periods (label, start_day, end_day) — overlapping periods, such as year-to-date, too."""
    src = metric.source
    assert isinstance(src, DatasetSource), f"{metric.code} is not a dataset metric"
    measure = _bind_columns(check_measure(src.measure, columns), columns)
    day = exp.cast(_col(src.time_column), "DATE")
    where = exp.and_(
        exp.GTE(this=day.copy(), expression=exp.Placeholder()),
        exp.LT(this=day.copy(), expression=exp.Placeholder()),
    )
    if src.filter:
        where = exp.and_(where, exp.paren(_bind_columns(check_filter(src.filter, columns), columns)))
    in_period = exp.and_(exp.GTE(this=day.copy(), expression=exp.column("start_day", "p")),
                         exp.LT(this=day.copy(), expression=exp.column("end_day", "p")))
    query = (
        sqlglot.select(exp.alias_(exp.column("ancestor", table="c"), "org"),
                       exp.alias_(exp.column("label", table="p"), "period"), exp.alias_(measure, "value"))
        .from_(exp.alias_(exp.to_table(f'"{view_name(src.dataset)}"'), "d", table=True))
        .join(exp.alias_(exp.to_table(CLOSURE), "c", table=True),
              on=exp.EQ(this=exp.cast(_col(src.org_column), "VARCHAR"), expression=exp.column("descendant", "c")))
        .join(exp.alias_(exp.to_table(SCOPE), "s", table=True),
              on=exp.EQ(this=exp.column("org", "s"), expression=exp.column("ancestor", "c")))
        .join(exp.alias_(exp.to_table(PERIODS), "p", table=True), on=in_period)
        .where(where)
        .group_by(exp.column("ancestor", table="c"), exp.column("label", table="p"))
    )
    return Compiled(query, [first_day, end_day])


def periods_table(periods: list[tuple[str, dt.date, dt.date]]) -> pa.Table:
    """(label, start_day, end_day) rows for the PERIODS join; end_day is exclusive."""
    return pa.table({"label": pa.array([p[0] for p in periods], pa.string()),
                     "start_day": pa.array([p[1] for p in periods], pa.date32()),
                     "end_day": pa.array([p[2] for p in periods], pa.date32())})


def compile_unmapped(metric: Metric, first_day: dt.date, end_day: dt.date) -> Compiled:
    """How many rows of the metric's dataset, in the period range, map to no org unit."""
    src = metric.source
    assert isinstance(src, DatasetSource)
    day = exp.cast(_col(src.time_column), "DATE")
    key = exp.cast(_col(src.org_column), "VARCHAR")
    query = (
        sqlglot.select(exp.alias_(exp.Count(this=exp.Star()), "rows"))
        .from_(exp.alias_(exp.to_table(f'"{view_name(src.dataset)}"'), "d", table=True))
        .where(exp.and_(
            exp.GTE(this=day, expression=exp.Placeholder()),
            exp.LT(this=day.copy(), expression=exp.Placeholder()),
            exp.not_(key.isin(query=sqlglot.select("descendant").from_(CLOSURE))),
        ))
    )
    return Compiled(query, [first_day, end_day])
