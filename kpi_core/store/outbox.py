"""Notifications waiting to be read (the inbox) or delivered (the outbox), written inside the
caller's transaction so a message and what caused it commit together."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb

from kpi_core.model.notice import Notice
from kpi_core.store import channels
from kpi_core.store.warehouse import Warehouse


def to_inbox(con: duckdb.DuckDBPyConnection, user: str, notice: Notice, *, now: dt.datetime) -> int:
    """Put a message in a user's in-app inbox; returns its id."""
    return con.execute(
        "INSERT INTO inbox (user_name, kind, ref, subject, body, link, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id", [user, notice.kind, notice.ref, notice.subject, notice.body, notice.link, now]
    ).fetchall()[0][0]


def to_channel(con: duckdb.DuckDBPyConnection, channel: str, notice: Notice, *, now: dt.datetime,
               address: str | None = None, user: str | None = None) -> int:
    """Queue a message for a channel (an e-mail to `address`, or a webhook call); returns its id."""
    oid = con.execute(
        "INSERT INTO outbox (channel, address, user_name, kind, ref, subject, body, link, rows_json, status, "
        "attempts, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) RETURNING id",
        [channel, address, user, notice.kind, notice.ref, notice.subject, notice.body, notice.link,
         json.dumps(list(notice.rows), ensure_ascii=False, default=str) if notice.rows else None, now, now],
    ).fetchall()[0][0]
    for a in notice.attachments:
        con.execute("INSERT INTO outbox_attachment VALUES (?, ?, ?, ?)", [oid, a.name, a.mime, a.content])
    return oid


@dataclass(frozen=True)
class InboxItem:
    id: int
    kind: str
    ref: str | None
    subject: str
    body: str
    link: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


def inbox(wh: Warehouse, user: str, *, unread_only: bool = False, limit: int = 100) -> list[InboxItem]:
    """A user's messages, newest first."""
    with wh.read() as con:
        rows = con.execute(
            "SELECT id, kind, ref, subject, body, link, created_at, read_at FROM inbox WHERE user_name = ? "
            "AND (NOT ? OR read_at IS NULL) ORDER BY id DESC LIMIT ?", [user, unread_only, limit]).fetchall()
    return [InboxItem(*r) for r in rows]


def unread(wh: Warehouse, user: str) -> int:
    """How many of a user's messages are unread (the sidebar's badge)."""
    with wh.read() as con:
        return con.execute("SELECT count(*) FROM inbox WHERE user_name = ? AND read_at IS NULL",
                           [user]).fetchall()[0][0]


def mark_read(wh: Warehouse, user: str, ids: list[int] | None = None, *, now: dt.datetime,
              read: bool = True) -> int:
    """Mark a user's messages read (or unread again); all of them when `ids` is None. Only the
    user's own messages change. Returns how many changed. (Not a data change: no version bump.)"""
    if ids is not None and not ids:
        return 0
    only = "" if ids is None else f" AND id IN ({', '.join('?' * len(ids))})"  # placeholders, values bound
    with wh.transaction(bump=False) as con:
        changed = con.execute(f"UPDATE inbox SET read_at = ? WHERE user_name = ?{only} AND (read_at IS NULL) = ? "
                              "RETURNING id", [now if read else None, user, *(ids or []), read]).fetchall()
    return len(changed)


def notify_user(con: duckdb.DuckDBPyConnection, user: str, notice: Notice, *, now: dt.datetime) -> list[int]:
    """Tell a user: their in-app inbox always, and an e-mail through the configured e-mail channel
    when they have an address. Returns the ids written (inbox first)."""
    ids = [to_inbox(con, user, notice, now=now)]
    mail = channels.mail_channel(con)  # the `default: true` e-mail channel, or the only one
    found = con.execute("SELECT email FROM app_user WHERE name = ? AND active", [user]).fetchall()
    address = (found[0][0] or "").strip() if found else ""
    if mail is not None and address:
        ids.append(to_channel(con, mail.name, notice, now=now, address=address, user=user))
    return ids


def notify_channel(con: duckdb.DuckDBPyConnection, channel: str, notice: Notice, *, now: dt.datetime) -> int:
    """Queue a message for a named channel (a webhook, or an e-mail channel's own address list: one
    row per address, the first id returned). A channel not (or no longer) defined still gets its
    row: delivering it fails, and once it is dead the admins are told."""
    found = channels.definitions(con).get(channel)
    if found is None or found.kind != "email" or not found.to:
        return to_channel(con, channel, notice, now=now)
    return [to_channel(con, channel, notice, now=now, address=a) for a in found.to][0]
