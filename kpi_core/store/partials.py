"""Month × org-key partial aggregates of dataset metrics, kept per import batch.

A measure made of sums, counts, averages, minimums and maximums (with any arithmetic over
them) decomposes into partials that add up across rows: sum(x) into sums, avg(x) into a sum
and a count, and so on. The partials are stored per (batch, org key, month) in
`agg_<metric>_v<version>`; a query then adds up a few thousand partial rows instead of
millions of dataset rows. Each dataset import adds the partials of its own batch (an
incremental refresh); a replaced or reverted batch is left out by the live-batch filter.
Measures that do not decompose (count distinct, median, quantiles) are answered from rows.
"""

from __future__ import annotations

import json

import duckdb
import sqlglot
from sqlglot import exp

from kpi_core.engine.compile import CLOSURE, KEYS, PERIODS, Compiled, _bind_columns, _col
from kpi_core.model.errors import NotFound
from kpi_core.model.expressions import ExpressionError, check_filter, check_measure
from kpi_core.store.dictionary import DatasetSource, Metric

AGG_STATE = "agg_batch"  # (table_name, batch_id): which batches a partials table holds


def decompose(measure: exp.Expression) -> tuple[list[exp.Expression], exp.Expression] | None:
    """(partial aggregates over rows, the measure over the partial columns p0, p1, …) or None."""
    partials: list[exp.Expression] = []

    def part(node: exp.Expression) -> exp.Column:
        partials.append(node)
        return exp.column(f"p{len(partials) - 1}", table="a")

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
            raise _NotAdditive
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


def table_name(metric: Metric, version: int) -> str:
    return f"agg_{metric.code}_v{version}"


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _live_batches(con: duckdb.DuckDBPyConnection, dataset: str) -> list[tuple[int, str]]:
    from kpi_core.store.datasets import live_batches

    return live_batches(con, dataset)


def refresh(con: duckdb.DuckDBPyConnection, metric: Metric, version: int, columns: list[str]) -> str | None:
    """Add the partials of every live batch not yet in the metric's table; its name, or None
    when the measure does not decompose. Call inside the writer's transaction."""
    src = metric.source
    assert isinstance(src, DatasetSource)
    parts = decompose(_bind_columns(check_measure(src.measure, columns), columns))
    if parts is None:
        return None
    partials, _ = parts
    name = table_name(metric, version)
    con.execute(f"CREATE TABLE IF NOT EXISTS {AGG_STATE} (table_name VARCHAR, batch_id BIGINT)")
    cols = ", ".join(f"p{i} DOUBLE" for i in range(len(partials)))
    # n: the rows behind each partial (before the filter), for the unmapped-rows count.
    con.execute(f"CREATE TABLE IF NOT EXISTS {_ident(name)} (batch_id BIGINT, org VARCHAR, month DATE, n BIGINT, "
                f"{cols})")
    done = {b for (b,) in con.execute(f"SELECT batch_id FROM {AGG_STATE} WHERE table_name = ?", [name]).fetchall()}
    day = exp.cast(_col(src.time_column), "DATE")
    month = exp.func("DATE_TRUNC", exp.Literal.string("month"), day)
    for bid, table in _live_batches(con, src.dataset):
        if bid in done:
            continue
        # The filter moves into each partial (FILTER (WHERE …)), so n still counts every row.
        flt = _bind_columns(check_filter(src.filter, columns), columns) if src.filter else None
        q = (sqlglot.select(exp.Literal.number(bid), exp.alias_(exp.cast(_col(src.org_column), "VARCHAR"), "org"),
                            exp.alias_(exp.cast(month, "DATE"), "month"),
                            exp.alias_(exp.Count(this=exp.Star()), "n"),
                            *[exp.alias_(exp.cast(_filtered(p, flt), "DOUBLE"), f"p{i}")
                              for i, p in enumerate(partials)])
             .from_(exp.alias_(exp.to_table(_ident(table)), "d", table=True))
             .group_by(exp.column("org"), exp.column("month")))
        con.execute(f"INSERT INTO {_ident(name)} {q.sql('duckdb')}")
        con.execute(f"INSERT INTO {AGG_STATE} VALUES (?, ?)", [name, bid])
    return name


def _filtered(partial: exp.Expression, flt: exp.Expression | None) -> exp.Expression:
    return partial if flt is None else exp.Filter(this=partial, expression=exp.Where(this=flt.copy()))


def compile_unmapped_from_partials(metric: Metric, version: int, live: list[int]) -> Compiled:
    """Rows of the dataset, in the month range bound at run time, whose org key is no unit's."""
    month = exp.column("month", table="a")
    query = (
        sqlglot.select(exp.alias_(exp.func("COALESCE", exp.Sum(this=exp.column("n", "a")), exp.Literal.number(0)),
                                  "rows"))
        .from_(exp.alias_(exp.to_table(_ident(table_name(metric, version))), "a", table=True))
        .where(exp.and_(
            exp.column("batch_id", table="a").isin(*[exp.Literal.number(b) for b in live]),
            exp.GTE(this=month, expression=exp.Placeholder()),
            exp.LT(this=month.copy(), expression=exp.Placeholder()),
            exp.not_(exp.column("org", "a").isin(query=sqlglot.select("key").from_(KEYS))),
        ))
    )
    return Compiled(query, [])


def ready(con: duckdb.DuckDBPyConnection, metric: Metric, version: int, live: list[int] | None = None) -> bool:
    """Whether the metric's partials table holds every live batch of its dataset."""
    name = table_name(metric, version)
    try:
        done = {b for (b,) in con.execute(f"SELECT batch_id FROM {AGG_STATE} WHERE table_name = ?",
                                          [name]).fetchall()}
    except duckdb.CatalogException:
        return False
    live_set = set(live if live is not None else [b for b, _ in _live_batches(con, metric.source.dataset)])
    return bool(live_set) and live_set <= done


def compile_from_partials(items: list[tuple[Metric, int, list[str], list[int]]]) -> Compiled:
    """Many metrics over their partials tables in one query: (metric, org, period, value) rows.

    Each item is (metric, version, dataset columns, live batches). The partials tables are
    stacked (UNION ALL, padded to the widest), joined once to the closure and the periods, and
    each metric's final expression is picked by a CASE on its code: one query for a board's
    dozen metrics costs little more than one for a single metric."""
    finals, branches, width = [], [], 0
    for metric, version, columns, live in items:
        parts = decompose(_bind_columns(check_measure(metric.source.measure, columns), columns))
        assert parts is not None, f"{metric.code} has no partials"
        partials, final = parts
        finals.append((metric.code, final))
        width = max(width, len(partials))
        branches.append((metric.code, table_name(metric, version), len(partials), live))
    stacked = None
    for code, name, n, live in branches:
        cols = [exp.column(f"p{i}") if i < n else exp.cast(exp.null(), "DOUBLE") for i in range(width)]
        branch = (sqlglot.select(exp.alias_(exp.Literal.string(code), "metric"), "org", "month",
                                 *[exp.alias_(c, f"p{i}") for i, c in enumerate(cols)])
                  .from_(exp.to_table(_ident(name)))
                  .where(exp.column("batch_id").isin(*[exp.Literal.number(b) for b in live])))
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


def refresh_dataset(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Bring every current metric on `dataset` up to date (called by the dataset import)."""
    rows = con.execute("SELECT definition, version FROM metric").fetchall()
    from kpi_core.store.datasets import column_names  # late: datasets calls this module during its imports

    try:
        columns = column_names(con, dataset)
    except NotFound:
        return []
    out = []
    for definition, version in rows:
        m = Metric.model_validate(json.loads(definition))
        if isinstance(m.source, DatasetSource) and m.source.dataset == dataset:
            try:
                name = refresh(con, m, version, columns)
            except (ExpressionError, KeyError, duckdb.Error):
                continue  # a metric that no longer fits its dataset's columns answers from rows
            if name:
                out.append(name)
    return out
