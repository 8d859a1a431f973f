"""Month × org partial aggregates: which measures decompose, and the SQL that reads them back.

Two kinds. Sums, counts, averages, minimums and maximums decompose into numbers that add up
(`agg_<metric>_v<version>`). An exact count(distinct x) cannot be added up, but its rows can be
deduplicated: one row per batch × org key × month × distinct value (`dst_<metric>_v<version>`),
so a subtree's count is a count(distinct) over those rows, exact, and never more of them than
the dataset has."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from kpi_core.engine.compile import CLOSURE, KEYS, LIVE, PERIODS, Compiled, bind_columns, distinct_of, first_seen
from kpi_core.model.expressions import check_measure
from kpi_core.model.metric import Metric
from kpi_core.model.names import quoted


def decompose(measure: exp.Expression) -> tuple[list[exp.Expression], exp.Expression] | None:
    """(partial aggregates over rows, the measure over the partial columns p0, p1, …) or None."""
    partials: list[exp.Expression] = []

    def part(node: exp.Expression) -> exp.Column:
        partials.append(node)
        return exp.column(f"p{len(partials) - 1}", table="a")

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AggFunc) and isinstance(node.this, exp.Distinct):
            raise _NotAdditive  # count/sum/avg(DISTINCT x): the same x in two months counts once
        if isinstance(node, exp.Sum | exp.Count):
            return exp.Sum(this=part(node.copy()))
        if isinstance(node, exp.Avg):
            s, c = part(exp.Sum(this=node.this.copy())), part(exp.Count(this=node.this.copy()))
            return exp.Div(this=exp.Sum(this=s), expression=exp.Nullif(this=exp.Sum(this=c),
                                                                         expression=exp.Literal.number(0)))
        if isinstance(node, exp.Min | exp.Max):
            return type(node)(this=part(node.copy()))
        if isinstance(node, exp.AggFunc):
            raise _NotAdditive
        return node

    try:
        final = measure.copy().transform(rewrite)
    except _NotAdditive:
        return None
    return partials, final


class _NotAdditive(Exception):
    pass


def live(metric: Metric, table: str | None = "a", batches: list[int] | None = None) -> exp.Expression:
    """batch_id among the metric's live batches: `batches` written into the SQL, or else read
    from the LIVE table registered with the query, so that the SQL text stays the same from one
    import to the next (compiling many metrics' text costs more than running it). A replaced or
    reverted batch is left out either way."""
    column = exp.column("batch_id", table=table)
    if batches is not None:  # a literal list: a hash semi-join over millions of rows costs more
        return column.isin(*[exp.Literal.number(b) for b in batches])
    return column.isin(query=sqlglot.select("batch_id").from_(LIVE).where(
        exp.EQ(this=exp.column("metric"), expression=exp.Literal.string(metric.code))))


def table_name(metric: Metric, version: int) -> str:
    return f"agg_{metric.code}_v{version}"


def distinct_table_name(metric: Metric, version: int) -> str:
    return f"dst_{metric.code}_v{version}"


def distinct_rows(batch: int, table: str, value: exp.Expression, org: exp.Expression, month: exp.Expression,
                  flt: exp.Expression | None) -> exp.Select:
    """A batch's deduplicated rows for count(distinct value): (batch_id, org, month, kept, v, n).

    `kept` is whether the metric's filter keeps the rows (a NULL filter does not, as in WHERE),
    v the value on kept rows and n how many rows share the key, so the rows on no unit can still
    be counted."""
    kept = exp.func("COALESCE", exp.paren(flt.copy()), exp.false()) if flt is not None else exp.true()
    inner = (sqlglot.select(exp.alias_(exp.cast(org, "VARCHAR"), "org"), exp.alias_(exp.cast(month, "DATE"), "month"),
                            exp.alias_(kept, "kept"), exp.alias_(value.copy(), "x"))
             .from_(exp.alias_(exp.to_table(quoted(table).sql("duckdb")), "d", table=True)))
    v = exp.Case().when(exp.column("kept"), exp.column("x")) if flt is not None else exp.column("x")
    # Sorted by month, so a query of a few months skips the rest of the table (zone maps).
    return (sqlglot.select(exp.alias_(exp.cast(exp.Literal.number(batch), "BIGINT"), "batch_id"), "org", "month",
                           "kept", exp.alias_(v, "v"), exp.alias_(exp.Count(this=exp.Star()), "n"))
            .from_(exp.alias_(exp.Subquery(this=inner), "r", table=True))
            .group_by(exp.column("org"), exp.column("month"), exp.column("kept"), exp.column("v"))
            .order_by(exp.column("month"), exp.column("org")))


def compile_distinct_from_partials(metric: Metric, version: int, batches: list[int], cumulative: bool) -> Compiled:
    """(org, period, value) of count(distinct x) over the metric's deduplicated rows; the month
    range (first month, end month) is bound at run time. Year to date counts each value from its
    first month in the year, as the rows path does."""
    value = exp.column("v", table="a")
    month = exp.column("month", table="a")
    relation = exp.alias_(exp.to_table(quoted(distinct_table_name(metric, version)).sql("duckdb")), "a", table=True)
    where = exp.and_(live(metric, batches=batches),
                     exp.GTE(this=month.copy(), expression=exp.Placeholder()),
                     exp.LT(this=month.copy(), expression=exp.Placeholder()),
                     exp.column("kept", table="a"))
    if cumulative:
        query = first_seen((relation, exp.column("org", "a")), value, month,
                           exp.and_(where, exp.not_(exp.Is(this=value.copy(), expression=exp.null()))))
        return Compiled(query, [])
    query = (
        sqlglot.select(exp.alias_(exp.column("ancestor", table="c"), "org"),
                       exp.alias_(exp.column("label", table="p"), "period"),
                       exp.alias_(exp.Count(this=exp.Distinct(expressions=[value])), "value"))
        .from_(relation)
        .join(exp.alias_(exp.to_table(CLOSURE), "c", table=True),
              on=exp.EQ(this=exp.column("org", "a"), expression=exp.column("descendant", "c")))
        .join(exp.alias_(exp.to_table(PERIODS), "p", table=True),
              on=exp.EQ(this=month.copy(), expression=exp.column("month", "p")))
        .where(where)
        .group_by(exp.column("ancestor", table="c"), exp.column("label", table="p"))
    )
    return Compiled(query, [])


def kind(measure: exp.Expression) -> str | None:
    """"agg" for a measure that decomposes, "distinct" for exactly count(distinct x), else None."""
    if decompose(measure) is not None:
        return "agg"
    return "distinct" if distinct_of(measure) is not None else None


def filtered(partial: exp.Expression, flt: exp.Expression | None) -> exp.Expression:
    return partial if flt is None else exp.Filter(this=partial, expression=exp.Where(this=flt.copy()))


def compile_unmapped_from_partials(metric: Metric, version: int, name: str | None = None) -> Compiled:
    """Rows of the dataset, in the month range bound at run time, whose org key is no unit's
    (from the metric's partials table, or `name`: its deduplicated rows)."""
    month = exp.column("month", table="a")
    query = (
        sqlglot.select(exp.alias_(exp.func("COALESCE", exp.Sum(this=exp.column("n", "a")), exp.Literal.number(0)),
                                  "rows"))
        .from_(exp.alias_(exp.to_table(quoted(name or table_name(metric, version)).sql("duckdb")), "a", table=True))
        .where(exp.and_(
            live(metric),
            exp.GTE(this=month, expression=exp.Placeholder()),
            exp.LT(this=month.copy(), expression=exp.Placeholder()),
            # An empty org cell is no unit's either (NOT (NULL IN …) would be NULL and drop the row).
            exp.or_(exp.column("org", "a").is_(exp.null()),
                    exp.not_(exp.column("org", "a").isin(query=sqlglot.select("key").from_(KEYS)))),
        ))
    )
    return Compiled(query, [])


def compile_from_partials(items: list[tuple[Metric, int, list[str]]]) -> Compiled:
    """Many metrics over their partials tables in one query: (metric, org, period, value) rows.

    Each item is (metric, version, dataset columns); the live batches come from LIVE. The partials tables are
    stacked (UNION ALL, padded to the widest), joined once to the closure and the periods, and
    each metric's final expression is picked by a CASE on its code: one query for a board's
    dozen metrics costs little more than one for a single metric."""
    finals, branches, width = [], [], 0
    for metric, version, columns in items:
        parts = decompose(bind_columns(check_measure(metric.source.measure, columns), columns))
        assert parts is not None, f"{metric.code} has no partials"
        partials, final = parts
        finals.append((metric.code, final))
        width = max(width, len(partials))
        branches.append((metric, table_name(metric, version), len(partials)))
    stacked = None
    for metric, name, n in branches:
        cols = [exp.column(f"p{i}") if i < n else exp.cast(exp.null(), "DOUBLE") for i in range(width)]
        branch = (sqlglot.select(exp.alias_(exp.Literal.string(metric.code), "metric"), "org", "month",
                                 *[exp.alias_(c, f"p{i}") for i, c in enumerate(cols)])
                  .from_(exp.to_table(quoted(name).sql("duckdb")))
                  .where(live(metric, table=None)))
        stacked = branch if stacked is None else exp.union(stacked, branch, distinct=False)
    # Inner: every aggregate a final expression uses, per metric × unit × period.
    used: dict[str, exp.Expression] = {}

    def collect(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Sum | exp.Min | exp.Max) and isinstance(node.this, exp.Column):
            alias = f"{type(node).__name__.lower()}_{node.this.name}"
            used.setdefault(alias, type(node)(this=exp.column(node.this.name, table="a")))
            return exp.column(alias, table="g")
        return node

    cases = exp.Case(this=exp.column("metric", table="g"))
    for code, final in finals:
        cases = cases.when(exp.Literal.string(code), final.copy().transform(collect))
    inner = (
        sqlglot.select(exp.column("metric", table="a"), exp.alias_(exp.column("ancestor", table="c"), "org"),
                       exp.alias_(exp.column("label", table="p"), "period"),
                       *[exp.alias_(agg, alias) for alias, agg in used.items()])
        .from_(exp.alias_(exp.Subquery(this=stacked), "a", table=True))
        .join(exp.alias_(exp.to_table(CLOSURE), "c", table=True),
              on=exp.EQ(this=exp.column("org", "a"), expression=exp.column("descendant", "c")))
        .join(exp.alias_(exp.to_table(PERIODS), "p", table=True),
              on=exp.EQ(this=exp.column("month", "a"), expression=exp.column("month", "p")))
        .group_by(exp.column("metric", table="a"), exp.column("ancestor", table="c"), exp.column("label", table="p"))
    )
    query = (sqlglot.select(exp.column("metric", table="g"), exp.column("org", table="g"),
                            exp.column("period", table="g"), exp.alias_(cases, "value"))
             .from_(exp.alias_(exp.Subquery(this=inner), "g", table=True)))
    return Compiled(query, [])
