"""Linked datasets (SPEC §8): link a table or query in a source engine, and refresh it.

A link records where the rows are and which columns mean time and org unit; nothing is copied.
A refresh runs one query at the source — org key × month partial aggregates of every metric on
the dataset that decomposes, only past the watermark when the dataset names one — and keeps them
as an import batch, so boards read them like an embedded dataset's partials. Every other measure
(count(distinct …), a median) is worked out at the source per query (`query.linked_values`).
The same checks as the CLI's and the Admin page's: the datasets capability, the audit log, and a
source's refusal said in words a person can act on, never with the URL's password.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from kpi_core.engine import linked as sql
from kpi_core.engine.compile import bind_columns
from kpi_core.engine.partials import kind, table_name
from kpi_core.model.access import Actor, acting, as_actor, require
from kpi_core.model.errors import KpiError
from kpi_core.model.expressions import ExpressionError, check_measure
from kpi_core.model.messages import Msg
from kpi_core.model.metric import DatasetSource, Metric
from kpi_core.model.names import check_name, quoted
from kpi_core.model.text import collisions
from kpi_core.store import audit, batches, engines
from kpi_core.store import linked as catalog
from kpi_core.store.datasets import live_batches, record_columns
from kpi_core.store.partials import AGG_STATE
from kpi_core.store.warehouse import Warehouse


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: its batch (None: nothing new), source rows aggregated, partial rows and
    bytes brought back, how long it took, and whether it was incremental."""

    dataset: str
    batch: int | None
    rows: int
    partials: int
    size: int
    seconds: float
    incremental: bool

    def row(self) -> dict:
        return {"dataset": self.dataset, "batch": self.batch, "rows": self.rows, "partials": self.partials,
                "bytes": self.size, "seconds": round(self.seconds, 3), "incremental": self.incremental}


def link(wh: Warehouse, name: str, url: str, *, table: str | None = None, query: str | None = None,
         time_column: str, org_column: str, watermark: str | None = None, user: str | Actor = "admin") -> Refreshed:
    """Link a dataset to a table or query at a source, check its columns there, and refresh it."""
    who = acting(user, "datasets")
    name = check_name(name)
    dialect = engines.dialect_of(url)
    rows = sql.relation(table, query, dialect)
    probe = _ask(name, url, sql.probe_query(rows).sql(dialect))
    cols = [{"name": f.name, "type": str(f.type)} for f in probe.schema]
    names = [c["name"] for c in cols]
    for role, column in ((Msg("services_linked_role_time"), time_column), (Msg("services_linked_role_org"), org_column),
                         (Msg("services_linked_role_watermark"), watermark)):
        if column is not None and column not in names:
            raise KpiError(Msg("services_linked_no_column", dataset=name, role=role, column=column,
                               columns=", ".join(names)))
    with wh.transaction() as con:
        if con.execute("SELECT 1 FROM dataset_batch WHERE dataset = ? LIMIT 1", [name]).fetchall():
            raise KpiError(Msg("services_linked_name_embedded", name=name))
        clash = collisions([name], [n for (n,) in con.execute("SELECT name FROM dataset WHERE name <> ?", [name])
                                    .fetchall()])
        if clash:
            raise KpiError(Msg("ingest_dataset_name_clash", name=name, other=clash[name]))
        if live_batches(con, name):  # linked before: its old source's partials go, so none mix with the new
            batches.create(con, kind="linked", dataset=name, mode="replace", source=engines.safe(url), user=who,
                           rows_in=0, rows_loaded=0, rows_rejected=0)
        catalog.record(con, name=name, url=url, shown_url=engines.safe(url), dialect=dialect, table=table,
                       query=query, time_column=time_column, org_column=org_column, watermark=watermark, user=who)
        record_columns(con, name, cols)
        audit.record(con, who, "link", "dataset", name, after={
            "source": engines.safe(url), "table": table, "query": query, "time_column": time_column,
            "org_column": org_column, "watermark": watermark})
    return refresh(wh, name, full=True, user=user)


def refresh(wh: Warehouse, name: str, *, full: bool = False, user: str | Actor = "admin") -> Refreshed:
    """Bring the dataset's partials up to date: only rows past the last watermark (an appended
    batch), or all of them (a batch that replaces the others) when `full` or without one."""
    who = acting(user, "datasets")
    t0 = time.perf_counter()
    with wh.connect() as con:
        lk, url = catalog.get(con, name), catalog.url_of(con, name)
        metrics, columns = _metrics_on(con, name)
        live = [b for b, _ in live_batches(con, name)]
        last = catalog.watermark(con, live)  # a reverted refresh is read again
    rows = sql.relation(lk.source_table, lk.source_query, lk.dialect)
    incremental = bool(lk.watermark) and last is not None and not full
    since = None
    mark = None
    if lk.watermark:
        top = _ask(name, url, sql.max_query(rows, lk.watermark).sql(lk.dialect))
        mark, missing = top.column(0)[0].as_py(), top.column(1)[0].as_py()
        if missing:  # a refresh by watermark would never read them: refuse rather than leave them out
            raise KpiError(Msg("services_linked_no_watermark", dataset=name, n=f"{missing:,}", column=lk.watermark))
        if incremental and mark is not None and _before(mark, last):
            raise KpiError(Msg("services_linked_watermark_fell", dataset=name, column=lk.watermark,
                               was=str(last), now=str(mark)))
        if incremental and (mark is None or mark == last):
            return Refreshed(name, None, 0, 0, 0, time.perf_counter() - t0, True)
        since = (lk.watermark, last if incremental else None, mark)
    partial = [m for m, _ in metrics if _decomposes(m, columns)]
    query, shapes = sql.partials_query(partial, columns, rows, lk.org_column, lk.time_column, since)
    got = _ask(name, url, query.sql(lk.dialect))
    with wh.transaction() as con:
        # Another refresh (or a new link) since this one read its starting point: its rows would count twice.
        now_live = [b for b, _ in live_batches(con, name)]
        if now_live != live or catalog.get(con, name).linked_at != lk.linked_at:
            raise KpiError(Msg("services_linked_refreshed_meanwhile", dataset=name))
        bid = batches.create(con, kind="linked", dataset=name, mode="append" if incremental else "replace",
                             source=lk.shown_url, user=who, rows_in=_total(got), rows_loaded=got.num_rows,
                             rows_rejected=0)
        _keep(con, name, bid, got, shapes, {m.code: v for m, v in metrics})
        as_of = catalog.last_month(con, name, [b for b, _ in live_batches(con, name)])
        catalog.refreshed(con, name, bid, watermark=mark if lk.watermark else None, as_of=as_of, rows=_total(got),
                          partials=got.num_rows, size=got.nbytes, seconds=time.perf_counter() - t0)
    return Refreshed(name, bid, _total(got), got.num_rows, got.nbytes, time.perf_counter() - t0, incremental)


def listed(wh: Warehouse, *, user: str | Actor = "admin") -> list[catalog.Linked]:
    """Every linked dataset, its source shown without password (readers of data may see them)."""
    require(as_actor(user), "datasets")
    with wh.connect() as con:
        return catalog.all_linked(con)


def _ask(name: str, url: str, text: str) -> pa.Table:
    """Run `text` at the source; its refusal as a message naming the dataset (never the password)."""
    try:
        return engines.source(url).fetch(text)
    except KpiError:
        raise
    except (sa.exc.SQLAlchemyError, Exception) as exc:  # noqa: BLE001 - Spark's and drivers' errors vary
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise KpiError(Msg("services_linked_source_refused", dataset=name, source=engines.safe(url),
                           detail=(said[0] if said else type(exc).__name__)[:300])) from exc


def _before(a: object, b: object) -> bool:
    """Whether watermark `a` comes before `b` (False when they cannot be compared)."""
    try:
        return a < b
    except TypeError:
        return False


def _metrics_on(con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[tuple[Metric, int]], list[str]]:
    """(metric, version) of the current metrics on the dataset, and its columns."""
    [(cols,)] = con.execute("SELECT columns FROM dataset WHERE name = ?", [name]).fetchall()
    out = []
    for definition, version in con.execute("SELECT definition, version FROM metric ORDER BY code").fetchall():
        m = Metric.model_validate(json.loads(definition))
        if isinstance(m.source, DatasetSource) and m.source.dataset == name:
            out.append((m, version))
    return out, [c["name"] for c in json.loads(cols)]


def _decomposes(m: Metric, columns: list[str]) -> bool:
    try:
        return kind(bind_columns(check_measure(m.source.measure, columns), columns)) == "agg"
    except (ExpressionError, KeyError):
        return False  # no longer fits the columns: answered from the source, which says why


def _total(got: pa.Table) -> int:
    return int(pc.sum(got["n"]).as_py() or 0) if got.num_rows else 0


def _keep(con: duckdb.DuckDBPyConnection, name: str, bid: int, got: pa.Table, shapes: list[tuple[Metric, int]],
          versions: dict[str, int]) -> None:
    """The refresh's rows per org × month, and each metric's partials, as batch `bid`."""
    con.register("_incoming", got)
    try:
        con.execute("INSERT INTO linked_rows SELECT ?, ?, org, CAST(month AS DATE), n FROM _incoming", [name, bid])
        con.execute(f"CREATE TABLE IF NOT EXISTS {AGG_STATE} (table_name VARCHAR, batch_id BIGINT)")
        for j, (m, width) in enumerate(shapes):
            target = table_name(m, versions[m.code])
            q = quoted(target).sql("duckdb")
            cols = ", ".join(f"p{i} DOUBLE" for i in range(width))
            con.execute(f"CREATE TABLE IF NOT EXISTS {q} (batch_id BIGINT, org VARCHAR, month DATE, n BIGINT, {cols})")
            parts = ", ".join(f'CAST("m{j}_p{i}" AS DOUBLE)' for i in range(width))
            con.execute(f"INSERT INTO {q} SELECT ?, org, CAST(month AS DATE), n, {parts} FROM _incoming", [bid])
            con.execute(f"INSERT INTO {AGG_STATE} VALUES (?, ?)", [target, bid])
    finally:
        con.unregister("_incoming")
