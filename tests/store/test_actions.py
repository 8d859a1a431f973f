"""Action items in the warehouse: a title and a closing note a reader can see, a closed action stays
closed, every change with its audit entry, lists by unit, owner, open and overdue, reminders noted
at most once per interval, and no write bumps the data version."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.store import actions, audit
from kpi_core.store.actions import Baseline, NewAction

BASE = Baseline(actual=80.0, target=100.0, attainment=0.8, status="red")
DUE = dt.date(2026, 12, 15)


def new(**kw) -> NewAction:
    fields = {"metric": "revenue", "org": "EAST", "period": "2026-10", "owner": "li", "due": DUE,
              "title": "win back lost accounts", "origin": "cell", "baseline": BASE}
    return NewAction(**{**fields, **kw})


def entries(wh, key: str) -> list[dict]:
    with wh.connect() as con:
        return [e for e in audit.entries(con, 1000) if e["object_type"] == "action" and e["object_key"] == key]


def test_add_keeps_what_was_given_trimmed_and_records_it(wh):
    version = wh.data_version()
    a = actions.add(wh, new(title="  win back lost accounts \n"), by="wang")
    assert actions.get(wh, a.id) == a
    assert (a.metric, a.org, a.period, a.owner, a.due, a.title, a.status, a.origin, a.baseline, a.created_by) == (
        "revenue", "EAST", "2026-10", "li", DUE, "win back lost accounts", "open", "cell", BASE, "wang")
    assert a.closed_at is None and a.note is None and a.last_reminded_at is None
    [entry] = entries(wh, str(a.id))
    assert (entry["user_name"], entry["action"]) == ("wang", "create")
    assert '"win back lost accounts"' in entry["after"] and '"red"' in entry["after"]
    assert wh.data_version() == version  # an action is not KPI data: no cached number is dropped


@pytest.mark.parametrize("title", ["", "   ", "\u200b\u200b", None, "x" * (actions.MAX_TITLE + 1)])
def test_a_title_must_say_something(wh, title):
    with pytest.raises(ValidationFailed):
        actions.add(wh, new(title=title), by="wang")
    assert actions.list_actions(wh) == []


@pytest.mark.parametrize("note", ["", "  \t ", "\u200b", None, "n" * (actions.MAX_NOTE + 1)])
def test_closing_needs_a_note(wh, note):
    a = actions.add(wh, new(), by="wang")
    with pytest.raises(ValidationFailed):
        actions.close(wh, a.id, by="li", note=note)
    assert actions.get(wh, a.id).status == "open"


def test_close_records_the_note_and_a_closed_action_stays_closed(wh):
    a = actions.add(wh, new(), by="wang")
    closed = actions.close(wh, a.id, by="li", note="  root cause: a lost account; called them back  ")
    assert (closed.status, closed.closed_by, closed.note) == ("closed", "li",
                                                             "root cause: a lost account; called them back")
    assert closed.closed_at is not None and not closed.overdue(DUE + dt.timedelta(days=30))
    assert [e["action"] for e in entries(wh, str(a.id))] == ["close", "create"]
    assert entries(wh, str(a.id))[0]["reason"] == closed.note
    with pytest.raises(ValidationFailed):
        actions.close(wh, a.id, by="li", note="again")
    with pytest.raises(ValidationFailed):
        actions.update(wh, a.id, by="wang", title="new")


def test_update_changes_only_what_is_given_and_records_before_and_after(wh):
    a = actions.add(wh, new(), by="wang")
    later = dt.date(2027, 1, 31)
    b = actions.update(wh, a.id, by="wang", due=later)
    assert (b.due, b.owner, b.title) == (later, "li", a.title)
    entry = entries(wh, str(a.id))[0]
    assert entry["action"] == "update" and "2026-12-15" in entry["before"] and "2027-01-31" in entry["after"]
    assert "owner" not in entry["before"]
    assert actions.update(wh, a.id, by="wang", due=later) == b  # nothing changes: nothing recorded
    assert len(entries(wh, str(a.id))) == 2


@pytest.mark.parametrize("missing", [0, 999])
def test_an_unknown_action_is_not_found(wh, missing):
    with pytest.raises(NotFound):
        actions.get(wh, missing)
    with pytest.raises(NotFound):
        actions.close(wh, missing, by="li", note="n")


def test_lists_by_unit_owner_open_and_overdue(wh):
    a = actions.add(wh, new(org="EAST", owner="li", due=dt.date(2026, 11, 1)), by="wang")
    b = actions.add(wh, new(org="SOUTH", owner="zhao", due=dt.date(2026, 12, 1)), by="wang")
    c = actions.add(wh, new(org="SVC", owner="li", due=dt.date(2026, 10, 1)), by="wang")
    actions.close(wh, c.id, by="li", note="done")
    ids = lambda **kw: [x.id for x in actions.list_actions(wh, **kw)]  # noqa: E731
    cases = [({}, [a.id, b.id, c.id]),  # open first, the soonest due first; closed last
             ({"units": ["EAST", "SOUTH"]}, [a.id, b.id]), ({"units": []}, []),
             ({"open_only": True}, [a.id, b.id]), ({"owner": "li"}, [a.id, c.id]),
             ({"overdue_on": dt.date(2026, 11, 2)}, [a.id]), ({"overdue_on": dt.date(2026, 11, 1)}, []),
             ({"overdue_on": dt.date(2026, 12, 2)}, [a.id, b.id]), ({"limit": 1}, [a.id])]
    assert [(kw, ids(**kw)) for kw, _ in cases] == cases


@pytest.mark.parametrize("due, today, overdue", [(DUE, DUE, False), (DUE, DUE + dt.timedelta(days=1), True),
                                                 (DUE, DUE - dt.timedelta(days=1), False)])
def test_overdue_is_past_the_due_day(wh, due, today, overdue):
    assert actions.add(wh, new(due=due), by="wang").overdue(today) is overdue


def test_a_reminder_is_noted_at_most_once_per_interval(wh):
    a = actions.add(wh, new(), by="wang")
    t0 = dt.datetime(2026, 12, 20, 9, 0, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    claims = []
    for at in (t0, t0 + dt.timedelta(hours=1), t0 + day - dt.timedelta(seconds=1), t0 + day):
        with wh.transaction(bump=False) as con:
            claims.append(actions.claim_reminder(con, a.id, at=at, every=day))
    assert claims == [True, False, False, True]
    assert actions.get(wh, a.id).last_reminded_at == t0 + day
    assert [e["action"] for e in entries(wh, str(a.id))].count("remind") == 2
    actions.close(wh, a.id, by="li", note="done")
    with wh.transaction(bump=False) as con:
        assert actions.claim_reminder(con, a.id, at=t0 + 5 * day, every=day) is False
