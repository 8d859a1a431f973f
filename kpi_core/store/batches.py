"""Import batches: every stored fact points to one; a batch can be listed and reverted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from kpi_core.model.access import Actor, as_actor, outside, require
from kpi_core.model.errors import AccessDenied, KpiError, NotFound
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
        raise NotFound(f"no batch {batch_id}")
    return dict(zip(BATCH_COLUMNS, row, strict=True))


def _check_revert(con, actor: Actor, b: dict, reason: str | None) -> None:
    """A batch of facts may be reverted by whoever may write all of its facts; others by an admin."""
    from kpi_core.store import closing, org  # late: both build on this module

    if b["kind"] not in ("actuals", "targets"):
        require(actor, "org" if b["kind"] == "org" else "datasets")
        return
    require(actor, b["kind"])
    table = "actual_fact" if b["kind"] == "actuals" else "target_fact"
    rows = con.execute(f"SELECT DISTINCT org, period FROM {table} WHERE batch_id = ?", [b["id"]]).fetchall()
    foreign = outside(actor, org.load_tree(con), b["kind"], sorted({o for o, _ in rows}))
    if foreign:
        raise AccessDenied(f"{actor.describe()} may not revert batch {b['id']}: it holds {b['kind']} of "
                           f"{', '.join(foreign[:5])}{' …' if len(foreign) > 5 else ''}")
    closing.guard(con, actor, sorted({p for _, p in rows}), reason, f"reverting batch {b['id']}")


def revert(wh: Warehouse, batch_id: int, *, user: str | Actor = "admin", reason: str | None = None) -> dict:
    """Take a batch back: the values it replaced become current again."""
    from kpi_core.store import datasets, org  # late: both build on this module

    actor = as_actor(user)
    user = actor.name
    with wh.transaction() as con:
        b = get(con, batch_id)
        _check_revert(con, actor, b, reason)
        if b["status"] == "reverted":
            raise KpiError(f"batch {batch_id} was already reverted on {b['reverted_at']:%Y-%m-%d %H:%M}")
        con.execute("UPDATE batch SET status = 'reverted', reverted_at = ?, reverted_by = ? WHERE id = ?",
                    [now(), user, batch_id])
        if b["kind"] == "dataset":
            datasets.after_revert(con, b)
        elif b["kind"] == "org":
            org.check_tree(con)  # refuses (and rolls back) a revert that would break the tree
        audit.record(con, user, "revert", "batch", str(batch_id), before={"status": "loaded"},
                     after={"status": "reverted"}, reason=reason)
        return get(con, batch_id)
