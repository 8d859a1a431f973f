"""The audit log: who changed what, when, before and after, and why."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

import duckdb

from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.safe_export import neutralise
from kpi_core.store.warehouse import now


def record(con: duckdb.DuckDBPyConnection, user: str, action: str, object_type: str,
           object_key: str | None, *, before=None, after=None, reason: str | None = None) -> None:
    """Add one entry inside the caller's transaction, so the change and its record commit together."""
    con.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?)",
        [now(), user, action, object_type, object_key,
         None if before is None else json.dumps(before, ensure_ascii=False, default=str),
         None if after is None else json.dumps(after, ensure_ascii=False, default=str), reason],
    )


COLUMNS = ("id", "happened_at", "user_name", "action", "object_type", "object_key", "before", "after", "reason")


def entries(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict]:
    """Newest entries first."""
    return _select(con, "TRUE", [], limit)


def _select(con, where: str, params: list, limit: int) -> list[dict]:
    cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE {where} ORDER BY id DESC LIMIT ?",
                      [*params, limit])
    return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]


@dataclass(frozen=True)
class Search:
    """What to look for in the log; every field optional, all given ones must match."""

    user: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_key: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None       # inclusive: the whole day
    text: str | None = None            # anywhere in before, after or reason


def search(wh, query: Search = Search(), *, limit: int = 1000, user: str | Actor = "admin") -> list[dict]:
    """Entries matching `query`, newest first (admins only). Every value is a bound parameter."""
    require(as_actor(user), "audit")
    where, params = ["TRUE"], []
    for col, value in (("user_name", query.user), ("action", query.action), ("object_type", query.object_type),
                       ("object_key", query.object_key)):
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    if query.since:
        where.append("happened_at >= ?")
        params.append(dt.datetime.combine(query.since, dt.time(), dt.UTC))
    if query.until:
        where.append("happened_at < ?")
        params.append(dt.datetime.combine(query.until + dt.timedelta(days=1), dt.time(), dt.UTC))
    if query.text:
        where.append("(contains(lower(coalesce(CAST(before AS VARCHAR), '') || ' ' || "
                     "coalesce(CAST(after AS VARCHAR), '') || ' ' || coalesce(reason, '') || ' ' || "
                     "coalesce(object_key, '')), lower(?)))")
        params.append(query.text)
    with wh.connect() as con:
        return _select(con, " AND ".join(where), params, limit)


def to_csv(rows: list[dict]) -> bytes:
    """The entries as UTF-8 CSV with a BOM (Excel opens it right), formula-like cells neutralised."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_safe(r[c]) for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict]) -> bytes:
    """The entries as a formatted workbook, formula-like cells neutralised."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "audit"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_safe(r[c]) for c in COLUMNS])
    for col, width in zip("ABCDEFGHI", (8, 22, 14, 14, 14, 18, 40, 40, 30), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _safe(v):
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).replace(tzinfo=None)  # Excel has no time zones: stored as UTC
    return neutralise(v)
