"""Subscriptions as stored: one row per user and thing sent, with when it last went."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from kpi_core.model.errors import NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.subscription import Subscription
from kpi_core.store import audit
from kpi_core.store.warehouse import Warehouse, now


@dataclass(frozen=True)
class Stored:
    sub: Subscription
    created_at: dt.datetime
    last_sent_at: dt.datetime | None
    last_batch: int | None

    @property
    def since(self) -> dt.datetime:
        """From when the schedule counts: the last send, or the creation."""
        return self.last_sent_at or self.created_at


def save(wh: Warehouse, subs: list[Subscription], *, by: str) -> tuple[list[str], list[str]]:
    """Create or replace subscriptions (checked by the caller); returns (created, updated) keys.
    A changed schedule keeps the time it last went, so it does not go twice."""
    created, updated = [], []
    with wh.transaction(bump=False) as con:
        for sub in subs:
            old = con.execute("SELECT definition FROM subscription WHERE key = ?", [sub.key]).fetchall()
            body = json.dumps(sub.definition(), ensure_ascii=False, sort_keys=True)
            if old:
                if old[0][0] == body:
                    continue
                con.execute("UPDATE subscription SET definition = ? WHERE key = ?", [body, sub.key])
                updated.append(sub.key)
            else:
                # an after-import subscription starts from the newest batch: it waits for the next import
                con.execute("INSERT INTO subscription VALUES (?, ?, ?, ?, ?, NULL, ?)",
                            [sub.key, sub.user, body, by, now(), newest_batch(con)])
                created.append(sub.key)
            audit.record(con, by, "subscription_save", "subscription", sub.key,
                         before=json.loads(old[0][0]) if old else None, after=sub.definition())
    return created, updated


def remove(wh: Warehouse, key: str, *, by: str) -> None:
    with wh.transaction(bump=False) as con:
        old = con.execute("SELECT definition FROM subscription WHERE key = ?", [key]).fetchall()
        if not old:
            raise NotFound(Msg("store_subscription_not_found", key=key))
        con.execute("DELETE FROM subscription WHERE key = ?", [key])
        audit.record(con, by, "subscription_remove", "subscription", key, before=json.loads(old[0][0]))


def listed(wh: Warehouse, user: str | None = None) -> list[Stored]:
    """Every subscription (or one user's), by key."""
    with wh.read() as con:
        rows = con.execute("SELECT definition, created_at, last_sent_at, last_batch FROM subscription "
                           "WHERE ? IS NULL OR user_name = ? ORDER BY key", [user, user]).fetchall()
    return [Stored(Subscription.model_validate(json.loads(d)), c, s, b) for d, c, s, b in rows]


def get(wh: Warehouse, key: str) -> Stored:
    found = [s for s in listed(wh) if s.sub.key == key]
    if not found:
        raise NotFound(Msg("store_subscription_not_found", key=key))
    return found[0]


def mark_sent(con, key: str, *, at: dt.datetime, batch: int | None) -> None:
    """Inside the transaction that queues the message: it went (at most once per moment)."""
    con.execute("UPDATE subscription SET last_sent_at = ?, last_batch = coalesce(?, last_batch) WHERE key = ?",
                [at, batch, key])


def newest_batch(con) -> int | None:
    """The newest loaded import batch (what 'after each import' watches)."""
    return con.execute("SELECT max(id) FROM batch WHERE status = 'loaded'").fetchall()[0][0]


def user_exists(wh: Warehouse, name: str) -> bool:
    with wh.connect() as con:
        return bool(con.execute("SELECT count(*) FROM app_user WHERE name = ? AND active", [name]).fetchall()[0][0])
