"""Month × org-key partial aggregates of dataset metrics, kept per import batch.

A measure made of sums, counts, averages, minimums and maximums (with any arithmetic over
them) decomposes into partials that add up across rows: sum(x) into sums, avg(x) into a sum
and a count, and so on. The partials are stored per (batch, org key, month) in
`agg_<metric>_v<version>`; a query then adds up a few thousand partial rows instead of
millions of dataset rows. Each dataset import adds the partials of its own batch (an
incremental refresh); a replaced or reverted batch is left out by the live-batch filter.
An exact count(distinct x) keeps the batch's rows deduplicated per (org key, month, value) in
`dst_<metric>_v<version>` instead (engine/partials.py). Other measures that do not decompose
(median, quantiles, a distinct count inside arithmetic) are answered from rows.
"""

from __future__ import annotations

import json

import duckdb
import sqlglot
from sqlglot import exp

from kpi_core.engine.compile import bind_columns, col, distinct_of
from kpi_core.engine.partials import decompose, distinct_rows, distinct_table_name, filtered, table_name
from kpi_core.model.errors import NotFound
from kpi_core.model.expressions import ExpressionError, check_filter, check_measure
from kpi_core.model.metric import DatasetSource, Metric
from kpi_core.model.names import quoted
from kpi_core.store.datasets import column_names, live_batches

AGG_STATE = "agg_batch"  # (table_name, batch_id): which batches a partials table holds


def refresh(con: duckdb.DuckDBPyConnection, metric: Metric, version: int, columns: list[str]) -> str | None:
    """Add the partials (or deduplicated rows) of every live batch not yet in the metric's table;
    its name, or None when the measure is neither. Call inside the writer's transaction."""
    src = metric.source
    assert isinstance(src, DatasetSource)
    if con.execute("SELECT 1 FROM linked_dataset WHERE name = ?", [src.dataset]).fetchall():
        return None  # a linked dataset's partials come from its source, at its refresh
    measure = bind_columns(check_measure(src.measure, columns), columns)
    con.execute(f"CREATE TABLE IF NOT EXISTS {AGG_STATE} (table_name VARCHAR, batch_id BIGINT)")
    parts = decompose(measure)
    if parts is None:
        value = distinct_of(measure)
        return None if value is None else _refresh_distinct(con, metric, version, columns, value)
    partials, _ = parts
    name = table_name(metric, version)
    cols = ", ".join(f"p{i} DOUBLE" for i in range(len(partials)))
    # n: the rows behind each partial (before the filter), for the unmapped-rows count.
    target = quoted(name).sql("duckdb")
    con.execute(f"CREATE TABLE IF NOT EXISTS {target} (batch_id BIGINT, org VARCHAR, month DATE, n BIGINT, {cols})")
    done = _done(con, name)
    day = exp.cast(col(src.time_column), "DATE")
    month = exp.func("DATE_TRUNC", exp.Literal.string("month"), day)
    for bid, table in live_batches(con, src.dataset):
        if bid in done:
            continue
        # The filter moves into each partial (FILTER (WHERE …)), so n still counts every row.
        flt = bind_columns(check_filter(src.filter, columns), columns) if src.filter else None
        q = (sqlglot.select(exp.Literal.number(bid), exp.alias_(exp.cast(col(src.org_column), "VARCHAR"), "org"),
                            exp.alias_(exp.cast(month, "DATE"), "month"),
                            exp.alias_(exp.Count(this=exp.Star()), "n"),
                            *[exp.alias_(exp.cast(filtered(p, flt), "DOUBLE"), f"p{i}")
                              for i, p in enumerate(partials)])
             .from_(exp.alias_(exp.to_table(quoted(table).sql("duckdb")), "d", table=True))
             .group_by(exp.column("org"), exp.column("month")))
        con.execute(f"INSERT INTO {target} {q.sql('duckdb')}")
        con.execute(f"INSERT INTO {AGG_STATE} VALUES (?, ?)", [name, bid])
    return name


def _refresh_distinct(con: duckdb.DuckDBPyConnection, metric: Metric, version: int, columns: list[str],
                      value: exp.Expression) -> str:
    """Add each live batch's deduplicated (org, month, value) rows not yet in the metric's table."""
    src = metric.source
    name = distinct_table_name(metric, version)
    target = quoted(name).sql("duckdb")
    done = _done(con, name)
    flt = bind_columns(check_filter(src.filter, columns), columns) if src.filter else None
    month = exp.func("DATE_TRUNC", exp.Literal.string("month"), exp.cast(col(src.time_column), "DATE"))
    exists = bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
                              [name]).fetchall())
    for bid, table in live_batches(con, src.dataset):
        if bid in done:
            continue
        q = distinct_rows(bid, table, value, col(src.org_column), month, flt).sql("duckdb")
        # The value keeps the dataset's own type (appended batches must match it).
        con.execute(f"INSERT INTO {target} {q}" if exists else f"CREATE TABLE {target} AS {q}")
        exists = True
        con.execute(f"INSERT INTO {AGG_STATE} VALUES (?, ?)", [name, bid])
    return name


def _done(con: duckdb.DuckDBPyConnection, name: str) -> set[int]:
    return {b for (b,) in con.execute(f"SELECT batch_id FROM {AGG_STATE} WHERE table_name = ?", [name]).fetchall()}


def ready(con: duckdb.DuckDBPyConnection, metric: Metric, version: int, live: list[int] | None = None) -> bool:
    """Whether the metric's partials table (or deduplicated rows) holds every live batch of its dataset."""
    try:
        done = {b for (b,) in con.execute(f"SELECT batch_id FROM {AGG_STATE} WHERE table_name IN (?, ?)", [
            table_name(metric, version), distinct_table_name(metric, version)]).fetchall()}
    except duckdb.CatalogException:
        return False
    live_set = set(live if live is not None else [b for b, _ in live_batches(con, metric.source.dataset)])
    return bool(live_set) and live_set <= done


def refresh_dataset(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Bring every current metric on `dataset` up to date (called by the dataset import)."""
    rows = con.execute("SELECT definition, version FROM metric").fetchall()

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
