"""The SQL text of dataset metrics, compiled once per key (building and rendering syntax trees
costs more than running the query), and the plan settings the distinct counts run under."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from kpi_core.engine.compile import compile_dataset_metric
from kpi_core.engine.partials import compile_distinct_from_partials, compile_from_partials
from kpi_core.model.metric import Metric
from kpi_core.query import cache


def sql_text(key: tuple, build) -> str:
    """SQL text compiled once per key: building and rendering syntax trees costs more than
    running the query."""
    return cache.SQL_TEXT.get(key, lambda: build().render())


def partials_sql(items: tuple[tuple[str, int, tuple[str, ...]], ...], metrics: dict[str, Metric]) -> str:
    """One query over the partials of many metrics; items are (code, version, columns). The live
    batches are read from the LIVE table registered with the query, so the text outlives imports."""
    return sql_text(("partials", items), lambda: compile_from_partials(
        [(metrics[code], version, list(cols)) for code, version, cols in items]))


# DuckDB 2.0 pushes a partial min() below the closure join of the year-to-date distinct count,
# which hashes every deduplicated row twice: 327 ms instead of 81 ms at 10M rows
# (docs/PERFORMANCE.md). The answer is the same either way; only the plan changes.
DISTINCT_PLAN = "partial_aggregate_pushdown"


@contextmanager
def planned(con, disabled: str):
    """Run with the optimizer rules `disabled` off on this connection, then as before."""
    con.execute(f"SET disabled_optimizers = '{disabled}'")  # a constant of this module, not input
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


def distinct_sql(m: Metric, version: int, cols: tuple[str, ...], live: tuple[int, ...], ytd: bool) -> str:
    """count(distinct x) over the metric's deduplicated rows, its live batches written in (one
    metric's text is quick to compile); the month range is bound at run time."""
    return sql_text(("distinct", m.code, version, cols, live, ytd),
                    lambda: compile_distinct_from_partials(m, version, list(live), ytd))


def rows_sql(m: Metric, version: int, cols: tuple[str, ...], ytd: bool) -> str:
    """The metric over its dataset's rows; the date range is bound at run time."""
    any_day = dt.date(2000, 1, 1)
    return sql_text(("rows", m.code, version, cols, ytd),
                    lambda: compile_dataset_metric(m, list(cols), any_day, any_day, cumulative=ytd))
