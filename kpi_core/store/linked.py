"""The catalog of linked datasets: where each one's rows live, which columns mean time and org
unit, and how far its last refresh got. The URL (with its password) is read only by `url_of`
to connect; `Linked` and every list hold the URL with the password hidden."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from kpi_core.model.errors import NotFound
from kpi_core.model.messages import Msg
from kpi_core.store.warehouse import now

_FIELDS = ("name", "shown_url", "dialect", "source_table", "source_query", "time_column", "org_column", "watermark",
           "last_watermark", "as_of", "linked_by", "linked_at", "refreshed_at", "last_rows", "last_partials",
           "last_bytes", "last_seconds")


@dataclass(frozen=True)
class Linked:
    """A linked dataset as listed (no password anywhere in it)."""

    name: str
    shown_url: str
    dialect: str
    source_table: str | None
    source_query: str | None
    time_column: str
    org_column: str
    watermark: str | None
    last_watermark: object
    as_of: dt.date | None
    linked_by: str
    linked_at: dt.datetime
    refreshed_at: dt.datetime | None
    last_rows: int | None
    last_partials: int | None
    last_bytes: int | None
    last_seconds: float | None

    def row(self) -> dict:
        """For lists and JSON output."""
        return {k: getattr(self, k) for k in _FIELDS}


def encode(value: object) -> str | None:
    """A watermark value as JSON that keeps its type (a date stays a date on the next refresh)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return json.dumps({"datetime": value.isoformat()})
    if isinstance(value, dt.date):
        return json.dumps({"date": value.isoformat()})
    if isinstance(value, Decimal):
        return json.dumps({"decimal": str(value)})
    if isinstance(value, bool | int | float | str):
        return json.dumps({"value": value})
    return json.dumps({"value": str(value)})


def decode(text: str | None) -> object:
    if text is None:
        return None
    [(kind, value)] = json.loads(text).items()
    return {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "decimal": Decimal}.get(
        kind, lambda v: v)(value)


def record(con: duckdb.DuckDBPyConnection, *, name: str, url: str, shown_url: str, dialect: str,
           table: str | None, query: str | None, time_column: str, org_column: str, watermark: str | None,
           user: str) -> None:
    """Add or replace a link (its refresh state starts anew), inside the caller's transaction."""
    con.execute("DELETE FROM linked_dataset WHERE name = ?", [name])
    con.execute("INSERT INTO linked_dataset (name, url, shown_url, dialect, source_table, source_query, time_column, "
                "org_column, watermark, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, url, shown_url, dialect, table, query, time_column, org_column, watermark, user, now()])


def refreshed(con: duckdb.DuckDBPyConnection, name: str, batch: int, *, watermark: object, as_of: dt.date | None,
              rows: int, partials: int, size: int, seconds: float) -> None:
    """Record a refresh (batch `batch`) inside its transaction."""
    con.execute("INSERT INTO linked_batch VALUES (?, ?, ?)", [batch, name, encode(watermark)])
    con.execute("UPDATE linked_dataset SET last_watermark = ?, as_of = ?, refreshed_at = ?, last_rows = ?, "
                "last_partials = ?, last_bytes = ?, last_seconds = ? WHERE name = ?",
                [encode(watermark), as_of, now(), rows, partials, size, seconds, name])


def watermark(con: duckdb.DuckDBPyConnection, live: list[int]) -> object:
    """The watermark of the newest of the live refreshes (None: none, or no watermark)."""
    rows = con.execute("SELECT watermark FROM linked_batch WHERE list_contains(?, batch_id) "
                       "ORDER BY batch_id DESC LIMIT 1", [live]).fetchall()
    return decode(rows[0][0]) if rows else None


def last_month(con: duckdb.DuckDBPyConnection, name: str, live: list[int]) -> dt.date | None:
    """The last month the dataset's live refreshes hold."""
    return con.execute("SELECT max(month) FROM linked_rows WHERE dataset = ? AND list_contains(?, batch_id)",
                       [name, live]).fetchall()[0][0]


def get(con: duckdb.DuckDBPyConnection, name: str) -> Linked:
    rows = con.execute(f"SELECT {', '.join(_FIELDS)} FROM linked_dataset WHERE name = ?", [name]).fetchall()
    if not rows:
        raise NotFound(Msg("store_linked_none", name=name))
    return _linked(rows[0])


def find(con: duckdb.DuckDBPyConnection, name: str) -> Linked | None:
    """The link of a dataset, or None for an embedded one."""
    rows = con.execute(f"SELECT {', '.join(_FIELDS)} FROM linked_dataset WHERE name = ?", [name]).fetchall()
    return _linked(rows[0]) if rows else None


def all_linked(con: duckdb.DuckDBPyConnection) -> list[Linked]:
    return [_linked(r) for r in con.execute(f"SELECT {', '.join(_FIELDS)} FROM linked_dataset ORDER BY name")
            .fetchall()]


def url_of(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The URL to connect with, password included: for the source engine only."""
    rows = con.execute("SELECT url FROM linked_dataset WHERE name = ?", [name]).fetchall()
    if not rows:
        raise NotFound(Msg("store_linked_none", name=name))
    return rows[0][0]


def _linked(row: tuple) -> Linked:
    values = dict(zip(_FIELDS, row, strict=True))
    values["last_watermark"] = decode(values["last_watermark"])
    return Linked(**values)
