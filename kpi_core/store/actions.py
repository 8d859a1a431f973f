"""Action items in the warehouse (SPEC §9): add, read, list, change, close, and note reminders;
every change in one transaction with its audit entry.

Who may do what is decided in kpi_core/services/actions.py; this module keeps the rows right:
a title and a closing note that a reader can see, a closed action stays closed. An action is
not KPI data: its writes leave the data version alone (`bump=False`), so no cached number is
thrown away because someone opened an action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace

import duckdb

from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.text import is_invisible
from kpi_core.store import audit
from kpi_core.store.warehouse import Warehouse, now

STATUSES = ("open", "closed")
MAX_TITLE = 200
MAX_NOTE = 4000
COLUMNS = ("id", "metric", "org", "period", "owner", "due", "title", "status", "origin", "base_actual",
           "base_target", "base_attainment", "base_status", "created_by", "created_at", "closed_by", "closed_at",
           "note", "last_reminded_at")


@dataclass(frozen=True)
class Baseline:
    """A KPI cell as it stood: actual, target, attainment and status."""

    actual: float | None
    target: float | None
    attainment: float | None
    status: str


@dataclass(frozen=True)
class NewAction:
    """What opening an action writes (checked by the caller: the metric, unit and owner exist)."""

    metric: str
    org: str
    period: str
    owner: str
    due: dt.date
    title: str
    origin: str
    baseline: Baseline


@dataclass(frozen=True)
class Action:
    id: int
    metric: str
    org: str
    period: str
    owner: str
    due: dt.date
    title: str
    status: str
    origin: str
    baseline: Baseline
    created_by: str
    created_at: dt.datetime
    closed_by: str | None = None
    closed_at: dt.datetime | None = None
    note: str | None = None
    last_reminded_at: dt.datetime | None = None

    def overdue(self, today: dt.date) -> bool:
        """Open and past its due date (the due day itself is not overdue)."""
        return self.status == "open" and self.due < today

    def as_dict(self) -> dict:
        """Plain values (JSON output, the audit log)."""
        return asdict(self)


def text(value: object, code: str, limit: int) -> str:
    """Text a person must give (a title, a closing note), trimmed; refused when nothing visible is
    left or it is longer than `limit`."""
    s = "" if value is None else str(value).strip()
    if not any(not ch.isspace() and not is_invisible(ch) for ch in s):
        raise ValidationFailed(Msg(code))
    if len(s) > limit:
        raise ValidationFailed(Msg("action_text_too_long", n=len(s), limit=limit))
    return s


def _from_row(row: tuple) -> Action:
    r = dict(zip(COLUMNS, row, strict=True))
    base = Baseline(r.pop("base_actual"), r.pop("base_target"), r.pop("base_attainment"), r.pop("base_status"))
    return Action(**r, baseline=base)


def _select(con: duckdb.DuckDBPyConnection, where: str, params: list, limit: int | None = None) -> list[Action]:
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM action_item WHERE {where} "
                       f"ORDER BY status = 'closed', due, id{tail}", params).fetchall()
    return [_from_row(r) for r in rows]


def _one(con: duckdb.DuckDBPyConnection, action_id: int) -> Action:
    found = _select(con, "id = ?", [int(action_id)])
    if not found:
        raise NotFound(Msg("action_not_found", id=action_id))
    return found[0]


def get(wh: Warehouse, action_id: int) -> Action:
    """One action; NotFound when there is none with that id."""
    with wh.read() as con:
        return _one(con, action_id)


def list_actions(wh: Warehouse, *, units: Iterable[str] | None = None, open_only: bool = False,
                 owner: str | None = None, overdue_on: dt.date | None = None,
                 limit: int | None = None) -> list[Action]:
    """Actions on `units` (None: on every unit), open ones first and the soonest due first; only
    open ones, one owner's, or those overdue on a day when asked."""
    where, params = ["TRUE"], []
    if open_only or overdue_on is not None:
        where.append("status = 'open'")
    if owner is not None:
        where.append("owner = ?")
        params.append(owner)
    if overdue_on is not None:
        where.append("due < ?")
        params.append(overdue_on)
    with wh.read() as con:
        if units is None:
            return _select(con, " AND ".join(where), params, limit)
        found = _select(con, " AND ".join(where), params)
    # The units are picked here: binding a company's subtree (hundreds of codes) as a list
    # parameter costs more than the query itself, on every cockpit view.
    wanted = set(units)
    picked = [a for a in found if a.org in wanted]
    return picked if limit is None else picked[:limit]


Then = Callable[[duckdb.DuckDBPyConnection, "Action"], None] | None  # more to write in the same transaction


def add(wh: Warehouse, new: NewAction, *, by: str, then: Then = None) -> Action:
    """Write a new open action and its audit entry (and what `then` writes with it); returns it."""
    title = text(new.title, "action_title_required", MAX_TITLE)
    b = new.baseline
    with wh.transaction(bump=False) as con:
        action_id = con.execute(
            "INSERT INTO action_item (metric, org, period, owner, due, title, status, origin, base_actual, "
            "base_target, base_attainment, base_status, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [new.metric, new.org, new.period, new.owner, new.due, title, new.origin, b.actual, b.target,
             b.attainment, b.status, by, now()]).fetchall()[0][0]
        action = _one(con, action_id)
        audit.record(con, by, "create", "action", str(action_id), after=action.as_dict())
        if then is not None:
            then(con, action)
    return action


def update(wh: Warehouse, action_id: int, *, by: str, owner: str | None = None, due: dt.date | None = None,
           title: str | None = None, then: Then = None) -> Action:
    """Change an open action's owner, due date or title (what is None stays; `then` writes more
    with a change); returns it."""
    with wh.transaction(bump=False) as con:
        before = _open_one(con, action_id)
        after = replace(before, owner=before.owner if owner is None else owner,
                        due=before.due if due is None else due,
                        title=before.title if title is None else text(title, "action_title_required", MAX_TITLE))
        if after == before:
            return before
        con.execute("UPDATE action_item SET owner = ?, due = ?, title = ? WHERE id = ?",
                    [after.owner, after.due, after.title, before.id])
        audit.record(con, by, "update", "action", str(before.id), before=_changed(before, after),
                     after=_changed(after, before))
        if then is not None:
            then(con, after)
    return after


def close(wh: Warehouse, action_id: int, *, by: str, note: str) -> Action:
    """Close an open action with its note (root cause and what was done); returns it."""
    note = text(note, "action_note_required", MAX_NOTE)
    at = now()
    with wh.transaction(bump=False) as con:
        before = _open_one(con, action_id)
        con.execute("UPDATE action_item SET status = 'closed', closed_by = ?, closed_at = ?, note = ? WHERE id = ?",
                    [by, at, note, before.id])
        after = _one(con, before.id)
        audit.record(con, by, "close", "action", str(before.id), before={"status": "open"},
                     after={"status": "closed", "note": note}, reason=note)
    return after


def _open_one(con: duckdb.DuckDBPyConnection, action_id: int) -> Action:
    action = _one(con, action_id)
    if action.status != "open":
        raise ValidationFailed(Msg("action_closed_already", id=action.id))
    return action


def _changed(a: Action, b: Action) -> dict:
    """The fields of `a` that differ from `b` (what an update's audit entry shows)."""
    return {k: getattr(a, k) for k in ("owner", "due", "title") if getattr(a, k) != getattr(b, k)}


def claim_reminder(con: duckdb.DuckDBPyConnection, action_id: int, *, at: dt.datetime,
                   every: dt.timedelta) -> bool:
    """Inside the caller's transaction: note that the owner is reminded of an open action at `at`,
    unless a reminder went out less than `every` before (then False, and nothing changes). The
    check and the note are one statement, so two schedulers never both send the same reminder."""
    done = con.execute("UPDATE action_item SET last_reminded_at = ? WHERE id = ? AND status = 'open' "
                       "AND (last_reminded_at IS NULL OR last_reminded_at <= ?) RETURNING id",
                       [at, int(action_id), at - every]).fetchall()
    if done:
        audit.record(con, "system", "remind", "action", str(action_id), after={"last_reminded_at": at})
    return bool(done)
