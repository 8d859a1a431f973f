"""Import batches: every stored fact points to one; listed here, reverted by kpi_core/services/revert.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import NotFound
from kpi_core.model.messages import Msg
from kpi_core.store import audit
from kpi_core.store.warehouse import Warehouse, now

BATCH_COLUMNS = ["id", "kind", "dataset", "mode", "source", "sha256", "user_name", "created_at",
                 "rows_in", "rows_loaded", "rows_rejected", "status", "reverted_at", "reverted_by", "note"]


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def create(con: duckdb.DuckDBPyConnection, *, kind: str, source: str, user: str, rows_in: int,
           rows_loaded: int, rows_rejected: int, sha256: str | None = None,
           dataset: str | None = None, mode: str | None = None, note: str | None = None) -> int:
    """A new batch row inside the caller's transaction; returns its id."""
    [(bid,)] = con.execute("SELECT nextval('batch_id_seq')").fetchall()
    con.execute(
        "INSERT INTO batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', NULL, NULL, ?)",
        [bid, kind, dataset, mode, source, sha256, user, now(), rows_in, rows_loaded, rows_rejected, note])
    audit.record(con, user, "import", kind, str(bid),
                 after={"source": source, "rows": rows_loaded, "dataset": dataset, "mode": mode}, reason=note)
    return int(bid)


def list_batches(wh: Warehouse, limit: int = 200, *, user: str | Actor = "admin") -> list[dict]:
    """Newest first: every batch for an admin, the ones they loaded for anyone else."""
    actor = as_actor(user)
    mine = None if actor.is_admin else actor.name
    with wh.connect() as con:
        cur = con.execute(f"SELECT {', '.join(BATCH_COLUMNS)} FROM batch WHERE ? IS NULL OR user_name = ? "
                          "ORDER BY id DESC LIMIT ?", [mine, mine, limit])
        return [dict(zip(BATCH_COLUMNS, r, strict=True)) for r in cur.fetchall()]


def get(con: duckdb.DuckDBPyConnection, batch_id: int) -> dict:
    row = next(iter(con.execute(f"SELECT {', '.join(BATCH_COLUMNS)} FROM batch WHERE id = ?",
                                [batch_id]).fetchall()), None)
    if row is None:
        raise NotFound(Msg("store_no_batch", id=batch_id))
    return dict(zip(BATCH_COLUMNS, row, strict=True))


