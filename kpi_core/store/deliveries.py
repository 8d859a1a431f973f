"""The outbox's life after a message is queued: claim what is due, record sent or failed, retry
with back-off, the dead letters, and telling the admins when a message could not be delivered.

Each step is one short transaction; sending happens between them, outside any (services/delivery.py).
A claimed row is `sending` with `next_at` pushed a lease ahead: no other sender picks it up
meanwhile, and a sender that died leaves it due again when the lease ends.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb

from kpi_core.model.access import Actor, acting
from kpi_core.model.channel import Channel
from kpi_core.model.errors import KpiError, NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.notice import Attachment, Notice
from kpi_core.store import audit, channels, outbox
from kpi_core.store.warehouse import Warehouse

# Waits after the 1st, 2nd, … failed attempt; after the last one the message is dead.
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2),
           dt.timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = dt.timedelta(minutes=15)  # longer than a batch of sends can take (each has its timeout)
DEAD_REF = "outbox:"              # the ref of the admins' notice about a dead message


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row, with what sending it needs (the channel and its secret, if any)."""

    id: int
    channel_name: str
    address: str | None
    user: str | None
    notice: Notice
    attempts: int          # including this one
    channel: Channel | None = None
    secret: str | None = field(default=None, repr=False)


def _notice(row: tuple, attachments: list[Attachment]) -> Notice:
    kind, ref, subject, body, link, rows_json = row
    return Notice(kind, subject, body, ref=ref, link=link, rows=tuple(json.loads(rows_json) if rows_json else ()),
                  attachments=tuple(attachments))


_COLUMNS = "id, channel, address, user_name, attempts, kind, ref, subject, body, link, rows_json"


def claim(wh: Warehouse, now: dt.datetime, *, limit: int = 50) -> list[Delivery]:
    """Take up to `limit` due messages for sending (pending and due, or claimed by a sender whose
    lease ran out), counting the attempt now."""
    with wh.transaction(bump=False) as con:
        rows = con.execute(
            f"UPDATE outbox SET status = 'sending', next_at = ?, attempts = attempts + 1 WHERE id IN ("
            "SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_at <= ? ORDER BY next_at, id "
            f"LIMIT ?) RETURNING {_COLUMNS}", [now + LEASE, now, limit]).fetchall()
        defs = channels.definitions(con)
        secrets = {n: channels.secret_of(con, c) for n, c in defs.items()}
        out = []
        for r in sorted(rows):
            files = [Attachment(*a) for a in con.execute(
                "SELECT name, mime, content FROM outbox_attachment WHERE outbox_id = ? ORDER BY rowid",
                [r[0]]).fetchall()]
            out.append(Delivery(r[0], r[1], r[2], r[3], _notice(r[5:], files), r[4], defs.get(r[1]),
                                secrets.get(r[1])))
    return out


def mark_sent(wh: Warehouse, oid: int, now: dt.datetime) -> bool:
    """Record a message as sent; False when it was not ours to record (no longer claimed)."""
    with wh.transaction(bump=False) as con:
        return bool(con.execute("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL "
                                "WHERE id = ? AND status = 'sending' RETURNING id", [now, oid]).fetchall())


def mark_failed(wh: Warehouse, oid: int, error: str, now: dt.datetime) -> str | None:
    """Record a failed attempt: pending again after the back-off, or dead after the last attempt
    (the admins are then told, in the same transaction). The status it got, or None if not ours."""
    with wh.transaction(bump=False) as con:
        found = con.execute("SELECT attempts, kind, ref, channel FROM outbox WHERE id = ? AND status = 'sending'",
                            [oid]).fetchall()
        if not found:
            return None
        attempts, kind, ref, channel = found[0]
        dead = attempts >= MAX_ATTEMPTS
        wait = BACKOFF[min(attempts, len(BACKOFF)) - 1]
        con.execute("UPDATE outbox SET status = ?, next_at = ?, last_error = ? WHERE id = ?",
                    ["dead" if dead else "pending", now if dead else now + wait, error[:500], oid])
        # A dead notice about a dead message tells no one again: no loop when mail itself is down.
        if dead and not (kind == "system" and (ref or "").startswith(DEAD_REF)):
            tell_admins(con, oid, channel, attempts, error[:300], now)
        return "dead" if dead else "pending"


def tell_admins(con: duckdb.DuckDBPyConnection, oid: int, channel: str, attempts: int, error: str,
                now: dt.datetime) -> None:
    """A system notice to every active admin, in their language: inbox, and e-mail when they have it."""
    admins = con.execute("SELECT a.name, coalesce(p.value, 'zh') FROM app_user a LEFT JOIN user_pref p "
                         "ON p.user_name = a.name AND p.key = 'lang' WHERE a.role = 'admin' AND a.active "
                         "ORDER BY a.name").fetchall()
    for name, lang in admins:
        lang = lang if lang in ("zh", "en") else "zh"
        notice = Notice("system", Msg("channel_dead_subject", id=oid, channel=channel).render(lang),
                        Msg("channel_dead_body", id=oid, channel=channel, attempts=attempts, error=error).render(lang),
                        ref=f"{DEAD_REF}{oid}", link="?page=admin&tab=channels")
        outbox.notify_user(con, name, notice, now=now)


@dataclass(frozen=True)
class Letter:
    """A message on the outbox's lists (the dead letters, or a channel's recent ones)."""

    id: int
    channel: str
    address: str | None
    user: str | None
    kind: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    next_at: dt.datetime

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def letters(wh: Warehouse, *, status: str = "dead", limit: int = 200, user: str | Actor = "admin") -> list[Letter]:
    """Messages with a status (the dead letters by default), newest first (admins only)."""
    acting(user, channels.CAPABILITY)
    with wh.connect() as con:
        rows = con.execute("SELECT id, channel, address, user_name, kind, subject, status, attempts, last_error, "
                           "created_at, next_at FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?",
                           [status, limit]).fetchall()
    return [Letter(*r) for r in rows]


def retry(wh: Warehouse, oid: int, now: dt.datetime, *, user: str | Actor = "admin") -> None:
    """Put a dead message back in the queue, due now, with its attempts counted afresh (admins only)."""
    who = acting(user, channels.CAPABILITY)
    with wh.transaction(bump=False) as con:
        found = con.execute("SELECT status FROM outbox WHERE id = ?", [oid]).fetchall()
        if not found:
            raise NotFound(Msg("channel_no_message", id=oid))
        if found[0][0] != "dead":
            raise KpiError(Msg("channel_not_dead", id=oid, status=found[0][0]))
        con.execute("UPDATE outbox SET status = 'pending', attempts = 0, next_at = ? WHERE id = ?", [now, oid])
        audit.record(con, who, "retry", "outbox", str(oid), before={"status": "dead"}, after={"status": "pending"})


def counts(wh: Warehouse) -> dict[str, int]:
    """How many messages have each status."""
    with wh.connect() as con:
        return dict(con.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
