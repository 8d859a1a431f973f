"""A linked dataset's values that its refresh's partials cannot give (count(distinct …), a median,
a metric changed since the refresh): the metric compiler's query, sent to the source engine in its
dialect with the org closure and the periods as inline rows; only (unit, period, value) rows come
back. Also its as-of month and its rows on no unit, from the refreshes' row counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from kpi_core.engine import linked as sql
from kpi_core.engine.compile import CLOSURE, PERIODS, col, compile_dataset_metric
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.store import engines
from kpi_core.store import linked as catalog


def link_of(con: duckdb.DuckDBPyConnection, dataset: str, live: list[int]) -> Link | None:
    """A linked dataset's link, URL and the watermark of its newest live refresh; None for an
    embedded one."""
    lk = catalog.find(con, dataset)
    return None if lk is None else Link(lk, catalog.url_of(con, dataset), catalog.watermark(con, live))


@dataclass(frozen=True)
class Link:
    link: catalog.Linked
    url: str = field(repr=False)
    mark: object = None

    def snapshot(self) -> exp.Expression:
        """The source's rows as of the newest live refresh: with a watermark, none added since (so
        a distinct count agrees with the sums the refresh brought back; a reverted refresh's rows
        are left out too); without one, the rows as they are now."""
        lk = self.link
        rows = sql.relation(lk.source_table, lk.source_query, lk.dialect)
        if lk.watermark is None or self.mark is None:
            return rows
        kept = (sqlglot.select(exp.Star()).from_(rows)
                .where(exp.LTE(this=col(lk.watermark), expression=sql.literal(self.mark))))
        return exp.alias_(exp.Subquery(this=kept), "d", table=True)


def values(link: Link, m: Metric, columns: list[str], periods: pa.Table, closure: pa.Table,
           lo: dt.date, hi: dt.date, ytd: bool) -> dict[tuple[str, str], float]:
    """{(unit, period): value} of the metric, worked out at the source."""
    lk, url = link.link, link.url
    tree = compile_dataset_metric(m, columns, lo, hi, cumulative=ytd)
    text = sql.to_source(tree.sql, m.source.dataset, link.snapshot(), {CLOSURE: closure, PERIODS: periods},
                         tree.params, lk.dialect)
    try:
        got = engines.source(url).fetch(text)
    except KpiError:
        raise
    except Exception as exc:  # noqa: BLE001 - drivers' and Spark's errors vary
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise KpiError(Msg("query_linked_source_refused", dataset=m.source.dataset, metric=m.code,
                           source=lk.shown_url, detail=(said[0] if said else type(exc).__name__)[:300])) from exc
    out = {}
    for org, period, value in zip(*(got.column(i).to_pylist() for i in range(3)), strict=True):
        if value is not None:
            out[(org, period)] = float(value)
    return out


def as_of(con: duckdb.DuckDBPyConnection, dataset: str, live: list[int]) -> str | None:
    """The last month the dataset's live refreshes hold."""
    last = catalog.last_month(con, dataset, live)
    return None if last is None else f"{last:%Y-%m}"


def unmapped(con: duckdb.DuckDBPyConnection, dataset: str, live: list[int], lo: dt.date, hi: dt.date) -> int:
    """Rows of the live refreshes in the month range whose org key is no unit's (the query API
    registers the org keys)."""
    [(n,)] = con.execute(
        "SELECT coalesce(sum(n), 0) FROM linked_rows WHERE dataset = ? AND list_contains(?, batch_id) "
        "AND month >= ? AND month < ? AND (org IS NULL OR org NOT IN (SELECT key FROM _org_keys))",
        [dataset, live, lo.replace(day=1), hi]).fetchall()
    return int(n)


def rows(link: Link, columns: list[str], where: exp.Expression, day: exp.Expression, params: list,
         limit: int) -> tuple[list[dict], int]:
    """A drill-through's rows at the source: `where` as the drill-through builds it for DuckDB (its
    org keys a list bound to an UNNEST, then the first and end day), with every value written in."""
    keys, *rest = params
    values = iter(rest)

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            return node.this.copy().isin(*[sql.literal(k) for k in keys])
        if isinstance(node, exp.Placeholder):
            return sql.literal(next(values))
        return node

    cond = where.copy().transform(fix)
    lk = link.link
    try:
        source = engines.source(link.url)
        total = source.fetch(sqlglot.select(exp.alias_(exp.Count(this=exp.Star()), "n")).from_(link.snapshot())
                             .where(cond).sql(lk.dialect)).column(0)[0].as_py()
        got = source.fetch(sqlglot.select(*[col(c) for c in columns]).from_(link.snapshot()).where(cond.copy())
                           .order_by(day.copy()).limit(limit).sql(lk.dialect))
    except Exception as exc:  # noqa: BLE001 - drivers' and Spark's errors vary
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise KpiError(Msg("query_linked_rows_refused", dataset=lk.name, source=lk.shown_url,
                           detail=(said[0] if said else type(exc).__name__)[:300])) from exc
    return got.to_pylist(), int(total or 0)
