"""Linked datasets' SQL: the metric compiler's trees made to run in the source engine's dialect.

A linked dataset stays where it lives (PostgreSQL, MySQL/MariaDB, Spark, Trino, ClickHouse, …)
and only aggregates come back (SPEC §8). Two kinds of query go to the source:

- `partials_query`: org key × month partial aggregates of every decomposable metric on the
  dataset in one scan, for a refresh (only rows past the watermark for an incremental one);
- `to_source`: any query of `engine.compile` (a count(distinct …), a median, the unmapped rows)
  with its registered tables — the org closure, the periods, the org keys — sent along as
  inline rows (VALUES, or what the dialect has instead), its bound dates written in as typed
  literals and the dataset's view replaced by the source's table or query.

Every value reaches the SQL as a syntax-tree literal, never by pasting text; sqlglot renders the
dialect's quoting, casts, date truncation and inline tables.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from kpi_core.engine.compile import bind_columns, col, month_of
from kpi_core.engine.partials import decompose
from kpi_core.model.errors import KpiError
from kpi_core.model.expressions import check_filter, check_measure
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.names import view_name


def relation(table: str | None, query: str | None, dialect: str) -> exp.Expression:
    """The source's rows as a FROM item aliased `d`: a table name (a Spark table expression such
    as parquet.`/data/x.parquet` too) or a single SELECT, parsed in the source's dialect."""
    if (table is None) == (query is None):
        raise KpiError(Msg("engine_linked_table_or_query"))
    text = table if table is not None else query
    try:
        if table is not None:
            tree: exp.Expression = exp.to_table(table, dialect=dialect)
        else:
            parsed = sqlglot.parse(query, read=dialect)
            if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
                raise KpiError(Msg("engine_linked_one_select"))
            tree = exp.Subquery(this=parsed[0])
    except (ParseError, ValueError) as exc:
        raise KpiError(Msg("engine_linked_unreadable", text=text[:200], error=str(exc).splitlines()[0][:200])) from exc
    return exp.alias_(tree, "d", table=True)


def literal(value: object) -> exp.Expression:
    """A Python value as a typed SQL literal (dates and times cast, so every dialect reads them)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):  # with a zone: TIMESTAMPTZ (BigQuery's TIMESTAMP, Trino's WITH TIME ZONE)
        kind = exp.DataType.Type.TIMESTAMPTZ if value.tzinfo is not None else exp.DataType.Type.TIMESTAMP
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def inline(table: pa.Table, alias: str) -> exp.Expression:
    """A small table as inline rows aliased `alias` with its column names (sqlglot writes VALUES,
    UNION ALL of SELECTs for MySQL, or UNNEST of STRUCTs for BigQuery). An empty table is one row
    of NULLs filtered out, as a VALUES list may not be empty."""
    names = table.column_names
    rows = [tuple(literal(v) for v in row.values()) for row in table.to_pylist()]
    empty = not rows
    if empty:  # NULLs of the columns' types: a bare NULL is an INT64 to BigQuery and Nothing to ClickHouse
        rows = [tuple(exp.cast(exp.null(), _sql_type(f.type)) for f in table.schema)]
    values = exp.Values(expressions=[exp.tuple_(*r) for r in rows],
                        alias=exp.TableAlias(this=exp.to_identifier(alias),
                                             columns=[exp.to_identifier(n) for n in names]))
    if not empty:
        return values
    inner = sqlglot.select(*names).from_(values).where(exp.false())
    return exp.alias_(exp.Subquery(this=inner), alias, table=True)


def _sql_type(t: pa.DataType) -> exp.DataType.Type:
    if pa.types.is_date(t):
        return exp.DataType.Type.DATE
    if pa.types.is_integer(t):
        return exp.DataType.Type.BIGINT
    if pa.types.is_floating(t):
        return exp.DataType.Type.DOUBLE
    return exp.DataType.Type.VARCHAR


def to_source(tree: exp.Expression, dataset: str, rows: exp.Expression, tables: dict[str, pa.Table],
              params: list, dialect: str) -> str:
    """`tree` (a query of engine.compile) as text for the source: the dataset's view replaced by
    `rows` (from `relation`), each registered table in `tables` by its inline rows, and the
    bound parameters, in order, by literals."""
    view = view_name(dataset)
    values = iter(params)

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            return literal(next(values))
        if isinstance(node, exp.Table) and not node.args.get("db"):
            name = node.name
            alias = node.alias
            if name == view:
                return rows.copy() if alias == "d" else exp.alias_(rows.this.copy(), alias or "d", table=True)
            if name in tables:
                return inline(tables[name], alias or name)
        return node

    # Floats first, on the compiler's own tree: the admin's query is sent as written.
    return as_floats(tree.copy()).transform(fix).sql(dialect)


def as_floats(tree: exp.Expression) -> exp.Expression:
    """Averages and quotients in floating point, as DuckDB computes them: PostgreSQL divides integers
    as integers, and MySQL/MariaDB keep only four more decimals of a DECIMAL's average or quotient
    (2491.87407 for 2491.874069767…), so each would change a number without a word."""
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Avg) and not isinstance(node.this, exp.Distinct):
            return exp.Avg(this=exp.cast(node.this.copy(), exp.DataType.Type.DOUBLE))
        if isinstance(node, exp.Div):
            return exp.Div(this=exp.cast(node.this.copy(), exp.DataType.Type.DOUBLE), expression=node.expression.copy())
        return node

    return tree.transform(fix)


def partials_query(metrics: list[Metric], columns: list[str], rows: exp.Expression, org_column: str,
                   time_column: str, since: tuple[str, object, object] | None = None,
                   ) -> tuple[exp.Select, list[tuple[Metric, int]]]:
    """One scan of the source for every decomposable metric on the dataset: (org, month, n,
    m0_p0, m0_p1, m1_p0, …) per org key × month, and (metric, its number of partials) in column
    order. `since` (watermark column, after, up to) keeps the rows after the last refresh.

    Portable SQL: a metric's filter goes inside its aggregates as CASE (not FILTER (WHERE …),
    which MySQL and Spark lack), and GROUP BY repeats the expressions (Trino refuses aliases)."""
    org = exp.cast(col(org_column), "VARCHAR")
    month = month_of(exp.cast(col(time_column), "DATE"))
    selects: list[exp.Expression] = [exp.alias_(org, "org"), exp.alias_(month, "month"),
                                      exp.alias_(exp.Count(this=exp.Star()), "n")]
    shapes = []
    for j, m in enumerate(metrics):
        parts = decompose(bind_columns(check_measure(m.source.measure, columns), columns))
        assert parts is not None, f"{m.code} does not decompose"
        flt = bind_columns(check_filter(m.source.filter, columns), columns) if m.source.filter else None
        for i, p in enumerate(parts[0]):
            selects.append(exp.alias_(_filtered(p, flt), f"m{j}_p{i}"))
        shapes.append((m, len(parts[0])))
    query = sqlglot.select(*[as_floats(s) for s in selects]).from_(rows.copy()).group_by(org.copy(), month.copy())
    if since is not None:
        column, after, upto = since
        mark = col(column)
        conds = [exp.LTE(this=mark.copy(), expression=literal(upto))]
        if after is not None:
            conds.insert(0, exp.GT(this=mark, expression=literal(after)))
        query = query.where(exp.and_(*conds))
    return query, shapes


def _filtered(partial: exp.Expression, flt: exp.Expression | None) -> exp.Expression:
    """sum(x) with a filter as sum(CASE WHEN f THEN x END); count(*) as count(CASE WHEN f THEN 1 END)."""
    if flt is None:
        return partial
    arg = partial.this
    if isinstance(arg, exp.Star):
        arg = exp.Literal.number(1)
    return type(partial)(this=exp.Case().when(exp.paren(flt.copy()), arg.copy()))


def max_query(rows: exp.Expression, column: str) -> exp.Select:
    """The watermark's largest value, and how many rows have none (a refresh by watermark would
    never read those)."""
    return sqlglot.select(exp.alias_(exp.Max(this=col(column)), "last"),
                          exp.alias_(exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=col(column))),
                                     "missing")).from_(rows.copy())


PROBE_ROWS = 1000


def probe_query(rows: exp.Expression) -> exp.Select:
    """The first rows: the source's columns and, from their values, their types."""
    return sqlglot.select(exp.Star()).from_(rows.copy()).limit(PROBE_ROWS)
