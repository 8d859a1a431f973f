"""After the scores, on the demo: a review meeting's notes, the improvement plan as action items
followed up by their dates, and a unit's retrospective (what was red, the actions taken, how each
KPI moved since)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kpi_core.model.errors import AccessDenied, ValidationFailed
from kpi_core.query.api import context
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.services import actions
from kpi_core.services import review_feedback as feedback
from kpi_core.store import audit
from tests.conftest import DEMO_TODAY
from tests.services.test_reviews import opened, wh, who  # noqa: F401 (wh is a fixture)

DUE = DEMO_TODAY + dt.timedelta(days=30)


def test_meeting_notes_are_the_managers_to_write_and_the_persons_to_read(wh):  # noqa: F811
    name = opened(wh, "calibration")
    n = feedback.add_note(wh, name, "p0001", "  面谈：下季度重点是培训时长  ", by=who(wh, "mgr_d1"))
    read = feedback.notes(wh, name, "P0001", by=who(wh, "emp_p0001"))
    assert [x["note"] for x in read] == ["面谈：下季度重点是培训时长"]
    entry = audit.search(wh, audit.Search(action="note"))[0]
    assert (entry["user_name"], entry["object_key"], json.loads(entry["after"])["id"]) == ("mgr_d1", f"{name}:P0001", n)
    with pytest.raises(AccessDenied):
        feedback.add_note(wh, name, "P0001", "x", by=who(wh, "emp_p0001"))
    with pytest.raises(AccessDenied):
        feedback.notes(wh, name, "P0001", by=who(wh, "emp_p0002"))
    with pytest.raises(ValidationFailed) as e:
        feedback.add_note(wh, name, "P0001", " \u200b ", by=who(wh, "mgr_d1"))
    assert e.value.args[0].code == "review_note_required"


def test_the_improvement_plan_is_action_items_with_their_dates(wh):  # noqa: F811
    name = opened(wh, "calibration")
    item = feedback.add_plan_item(wh, name, "P0001", metric="training_hours", owner="emp_p0001", due=DUE,
                                  title="每月完成 20 小时培训", by=who(wh, "mgr_d1"), today=DEMO_TODAY)
    assert (item.origin, item.period, item.org, item.owner, item.due) == (
        f"review:{name}:P0001", "2026-Q3", "P0001", "emp_p0001", DUE)
    assert [a.id for a in feedback.plan(wh, name, "P0001", by=who(wh, "emp_p0001"))] == [item.id]
    assert feedback.plan(wh, name, "P0002", by=who(wh, "mgr_d1")) == []
    with pytest.raises(AccessDenied):
        feedback.plan(wh, name, "P0001", by=who(wh, "emp_p0002"))
    with pytest.raises(AccessDenied):
        feedback.add_plan_item(wh, name, "P0001", metric="training_hours", owner="emp_p0001", due=DUE,
                               title="x", by=who(wh, "mgr_d2"), today=DEMO_TODAY)
    actions.close(wh, item.id, note="培训已排期", by=who(wh, "emp_p0001"))  # its owner closes it with a note
    assert feedback.plan(wh, name, "P0001", by="root")[0].note == "培训已排期"


def test_a_retrospective_shows_what_was_red_the_actions_and_their_movement(wh):  # noqa: F811
    tree, _ = context(wh)
    in_q3 = actions.open_action(wh, metric="training_hours", org="P0001", period="2026-08", owner="mgr_d1", due=DUE,
                                title="补课", by="root", today=DEMO_TODAY)
    actions.open_action(wh, metric="revenue", org="P0002", period="2026-01", owner="mgr_d1", due=DUE,
                        title="年初的", by="root", today=DEMO_TODAY)
    r = feedback.retrospective(wh, "D1-SAL-T1", "2026-Q3", by=who(wh, "mgr_d1"), today=DEMO_TODAY)
    card = unit_scorecard(wh, tree, "D1-SAL-T1", "2026-Q3", today=DEMO_TODAY)
    assert [x["metric"] for x in r.red] == [it["metric"] for it in card.items if it["status"] == "red"]
    assert [a.id for a, _ in r.taken] == [in_q3.id]
    move = r.taken[0][1]
    assert move.since == "2026-08" and move.then == in_q3.baseline and move.latest is not None
    with pytest.raises(AccessDenied):
        feedback.retrospective(wh, "D1-SAL-T1", "2026-Q3", by=who(wh, "mgr_d2"), today=DEMO_TODAY)
