"""The audit log: who changed what, when, before and after, and why."""

from __future__ import annotations

import json

import duckdb

from .warehouse import now


def record(con: duckdb.DuckDBPyConnection, user: str, action: str, object_type: str,
           object_key: str | None, *, before=None, after=None, reason: str | None = None) -> None:
    """Add one entry inside the caller's transaction, so the change and its record commit together."""
    con.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?)",
        [now(), user, action, object_type, object_key,
         None if before is None else json.dumps(before, ensure_ascii=False, default=str),
         None if after is None else json.dumps(after, ensure_ascii=False, default=str), reason],
    )


def entries(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict]:
    """Newest entries first."""
    cur = con.execute(
        "SELECT id, happened_at, user_name, action, object_type, object_key, before, after, reason "
        "FROM audit_log ORDER BY id DESC LIMIT ?", [limit])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
