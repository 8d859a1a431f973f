"""Datasets: raw tables from files or databases, one physical table per batch.

The dataset's view (`ds_<slug>`) unions the tables of its live batches, found by replaying
its loaded batches in order (replace starts anew, append adds), so replace and revert move
no rows and a revert is exact.
"""

from __future__ import annotations

import json

import duckdb
import sqlglot
from sqlglot import exp

from kpi_core.model.errors import KpiError, NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.names import quoted, slug, view_name
from kpi_core.store.warehouse import Warehouse, now


def live_batches(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[int, str]]:
    """(batch id, table) that make up the dataset now: replay of its loaded batches. A linked
    dataset's batches are its refreshes, which keep partials only (their table is "")."""
    rows = con.execute(
        "SELECT b.id, b.mode, coalesce(d.table_name, '') FROM batch b LEFT JOIN dataset_batch d ON d.batch_id = b.id "
        "WHERE b.dataset = ? AND b.kind IN ('dataset', 'linked') AND b.status = 'loaded' ORDER BY b.id",
        [name]).fetchall()
    live: list[tuple[int, str]] = []
    for bid, mode, table in rows:
        live = [(bid, table)] if mode == "replace" else [*live, (bid, table)]
    return live


def refresh_view(con: duckdb.DuckDBPyConnection, name: str, *, check_append: bool = False) -> None:
    """Rebuild the dataset's view over its live batch tables and record its columns."""
    live = live_batches(con, name)
    view = quoted(view_name(name)).sql("duckdb")
    if not live:
        con.execute(f"DROP VIEW IF EXISTS {view}")
        con.execute("DELETE FROM dataset WHERE name = ?", [name])
        return
    if check_append and len(live) > 1:
        _check_compatible(con, [t for _, t in live])
    selects = [sqlglot.select("*").from_(exp.Table(this=quoted(t))) for _, t in live]
    union = selects[0]
    for s in selects[1:]:
        union = exp.Union(this=union, expression=s, distinct=False, by_name=True)
    con.execute(f"CREATE OR REPLACE VIEW {view} AS {union.sql('duckdb')}")
    cols = [{"name": r[0], "type": r[1]} for r in con.execute(f"DESCRIBE {view}").fetchall()]
    con.execute("DELETE FROM dataset WHERE name = ?", [name])
    con.execute("INSERT INTO dataset VALUES (?, ?, ?, ?)",
                [name, slug(name), json.dumps(cols, ensure_ascii=False), now()])


def _check_compatible(con, tables: list[str]) -> None:
    first = {r[0]: r[1] for r in con.execute(f"DESCRIBE {quoted(tables[0]).sql('duckdb')}").fetchall()}
    last = {r[0]: r[1] for r in con.execute(f"DESCRIBE {quoted(tables[-1]).sql('duckdb')}").fetchall()}
    clashes = [Msg("store_column_clash", column=c, was=first[c], now=t)
               for c, t in last.items() if c in first and first[c] != t]
    if clashes:
        raise KpiError(Msg("store_append_mismatch", clashes=semicolons(clashes)))


def semicolons(parts: list) -> object:
    """Messages one after another, "; " between them in English (their codes kept)."""
    return parts[0] if len(parts) == 1 else Msg("store_semicolons", first=parts[0], rest=semicolons(parts[1:]))


def after_revert(con: duckdb.DuckDBPyConnection, batch: dict) -> None:
    """Called inside a revert's transaction."""
    refresh_view(con, batch["dataset"])


def record_columns(con: duckdb.DuckDBPyConnection, name: str, cols: list[dict]) -> None:
    """A linked dataset's columns ({"name", "type"}), as the source has them."""
    con.execute("DELETE FROM dataset WHERE name = ?", [name])
    con.execute("INSERT INTO dataset VALUES (?, ?, ?, ?)", [name, slug(name), json.dumps(cols, ensure_ascii=False),
                                                              now()])


def list_datasets(wh: Warehouse) -> list[dict]:
    with wh.connect() as con:
        rows = con.execute("SELECT name, columns, updated_at, l.shown_url FROM dataset "
                           "LEFT JOIN linked_dataset l USING (name) ORDER BY name").fetchall()
        out = []
        for name, cols, at, where in rows:
            if where is None:
                [(n,)] = con.execute(f"SELECT count(*) FROM {quoted(view_name(name)).sql('duckdb')}").fetchall()
            else:  # linked: the rows stay at the source; its live refreshes counted them
                live = [b for b, _ in live_batches(con, name)]
                [(n,)] = con.execute("SELECT coalesce(sum(n), 0) FROM linked_rows WHERE dataset = ? "
                                     "AND list_contains(?, batch_id)", [name, live]).fetchall()
            out.append({"name": name, "rows": n, "columns": json.loads(cols), "updated_at": at, "linked": where})
    return out


def column_names(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The dataset's column names as written, inside the caller's connection or transaction."""
    row = con.execute("SELECT columns FROM dataset WHERE name = ?", [name]).fetchall()
    if not row:
        raise NotFound(Msg("store_dataset_not_imported", name=name))
    return [c["name"] for c in json.loads(row[0][0])]


def columns(wh: Warehouse, name: str) -> list[dict]:
    with wh.connect() as con:
        row = next(iter(con.execute("SELECT columns FROM dataset WHERE name = ?", [name]).fetchall()), None)
    if row is None:
        raise NotFound(Msg("store_no_dataset", name=name))
    return json.loads(row[0])


