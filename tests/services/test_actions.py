"""Action items on the demo company: who may open, close and read them (roles × units), the owner
must read the unit, the note is required, the baseline and the movement are the query API's own
numbers, and an overdue action reminds its owner — only them, in their language, once a day."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from kpi_core.auth import users
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.periods import parse_period
from kpi_core.query.api import Query, context, latest_month, run
from kpi_core.services import actions as service
from kpi_core.services.actions import AlertRef, Baseline, parse_alert_ref, trend
from kpi_core.store import actions as store
from kpi_core.store import audit, prefs
from kpi_core.store import outbox as box
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

DUE = DEMO_TODAY + dt.timedelta(days=14)
# The demo's users (kpi_core/demo/load.py) and two more: an admin and another division's manager.
ALL = ("root", "ceo", "mgr_d1", "mgr_d2", "lead_t1", "emp_p0001")


@pytest.fixture
def wh(demo_path):
    wh = open_warehouse(demo_path)
    users.add(wh, "root", "admin")
    users.add(wh, "mgr_d2", "manager", orgs=["D2"])
    users.add(wh, "gone", "manager", orgs=["D1"])
    users.update(wh, "gone", active=False)
    with wh.connect():
        yield wh


def who(wh, name: str):
    return users.actor(wh, name)


def open_one(wh, by="root", **kw):
    fields = {"metric": "revenue", "org": "D1-SAL-T1", "owner": "ceo", "due": DUE, "title": "win back accounts",
              "period": "2026-10"}
    return service.open_action(wh, **{**fields, **kw}, by=who(wh, by), today=DEMO_TODAY)


# Who may open an action on a unit: the admin anywhere; a manager or team lead within their units.
OPEN = [("root", "D1", True), ("root", "D2", True), ("ceo", "D1", False), ("mgr_d1", "D1", True),
        ("mgr_d1", "D1-SAL-T1", True), ("mgr_d1", "P0001", True), ("mgr_d1", "D2", False), ("mgr_d1", "HQ", False),
        ("mgr_d2", "D1-SAL", False), ("lead_t1", "D1-SAL-T1", True), ("lead_t1", "P0001", True),
        ("lead_t1", "D1-SAL", False), ("emp_p0001", "P0001", False), ("emp_p0001", "D1-SAL-T1", False)]


@pytest.mark.parametrize("user, unit, allowed", OPEN)
def test_who_may_open_an_action(wh, user, unit, allowed):
    if allowed:
        a = open_one(wh, by=user, org=unit)
        assert (a.org, a.created_by, a.status) == (unit, user, "open")
    else:
        with pytest.raises(AccessDenied):
            open_one(wh, by=user, org=unit)
        assert service.visible_actions(wh) == []


# Who may close an action on D1-SAL-T1 owned by the employee P0001 (whose team it is).
CLOSE = [("emp_p0001", True), ("lead_t1", True), ("mgr_d1", True), ("root", True), ("ceo", False),
         ("mgr_d2", False)]


@pytest.mark.parametrize("user, allowed", CLOSE)
def test_who_may_close_an_action(wh, user, allowed):
    a = open_one(wh, owner="emp_p0001")
    if allowed:
        closed = service.close(wh, a.id, note="root cause found; fixed", by=who(wh, user))
        assert (closed.status, closed.closed_by) == ("closed", user)
    else:
        with pytest.raises(AccessDenied):
            service.close(wh, a.id, note="root cause found; fixed", by=who(wh, user))
        assert service.read(wh, a.id).status == "open"


@pytest.mark.parametrize("note", ["", "   ", "\u200b"])
def test_closing_needs_a_note(wh, note):
    a = open_one(wh)
    with pytest.raises(ValidationFailed):
        service.close(wh, a.id, note=note, by=who(wh, "root"))


@pytest.mark.parametrize("owner, refused", [("ceo", None), ("MGR_D1", None), ("emp_p0001", None),
                                            ("nobody", ValidationFailed), ("gone", ValidationFailed),
                                            ("mgr_d2", ValidationFailed)])
def test_the_owner_must_be_an_active_user_who_reads_the_unit(wh, owner, refused):
    if refused is None:
        assert open_one(wh, owner=owner).owner == users.get(wh, owner).name
    else:
        with pytest.raises(refused):
            open_one(wh, owner=owner)


def test_bad_input_is_refused(wh):
    for kw, error in [({"title": "  "}, ValidationFailed), ({"due": DEMO_TODAY - dt.timedelta(days=1)},
                                                            ValidationFailed),
                      ({"metric": "no_such"}, NotFound), ({"org": "NOPE"}, NotFound),
                      ({"period": "2026-13"}, ValueError)]:
        with pytest.raises(error):
            open_one(wh, **kw)
    assert service.visible_actions(wh) == []


def test_everyone_who_reads_a_unit_sees_its_actions_and_nobody_else(wh):
    ids = {u: open_one(wh, org=u).id for u in ("D1", "D1-SAL-T1", "D2")}
    seen = {name: sorted(a.org for a in service.visible_actions(wh, by=who(wh, name))) for name in ALL}
    assert seen == {"root": ["D1", "D1-SAL-T1", "D2"], "ceo": ["D1", "D1-SAL-T1", "D2"],
                    "mgr_d1": ["D1", "D1-SAL-T1"], "mgr_d2": ["D2"], "lead_t1": ["D1-SAL-T1"],
                    "emp_p0001": ["D1-SAL-T1"]}
    assert [a.org for a in service.visible_actions(wh, by=who(wh, "mgr_d1"), org="D1-SAL")] == ["D1-SAL-T1"]
    with pytest.raises(AccessDenied):
        service.visible_actions(wh, by=who(wh, "mgr_d1"), org="D2")
    with pytest.raises(AccessDenied):
        service.read(wh, ids["D2"], by=who(wh, "mgr_d1"))
    with pytest.raises(AccessDenied):
        service.close(wh, ids["D2"], note="n", by=who(wh, "mgr_d1"))


def cell(wh, metric, org, period):
    p = parse_period(period)
    return run(wh, Query((metric,), org=org, grain=p.grain, first=p.label, last=p.label), today=DEMO_TODAY).cells[0]


@pytest.mark.parametrize("metric, org, period", [("revenue", "D1-SAL-T1", "2026-10"),
                                                 ("customer_complaints", "D1", "2026-08"),
                                                 ("revenue", "D1-SAL", "2026-Q3"), ("gross_margin", "D2", "2026")])
def test_the_baseline_and_the_movement_are_the_query_apis_numbers(wh, metric, org, period):
    a = open_one(wh, metric=metric, org=org, period=period)
    then = cell(wh, metric, org, period)
    assert a.baseline == Baseline(then.actual, then.target, then.attainment, then.status)
    latest = parse_period(latest_month(wh, DEMO_TODAY)).to(parse_period(period).grain).label
    now = cell(wh, metric, org, latest)
    move = service.movement(wh, a, DEMO_TODAY)
    assert (move.since, move.latest) == (period, latest)
    assert move.now == Baseline(now.actual, now.target, now.attainment, now.status)
    assert move.change == pytest.approx(now.actual - then.actual)
    assert move.attainment_change == pytest.approx(now.attainment - then.attainment)


def test_without_a_period_the_action_is_on_the_latest_month(wh):
    assert open_one(wh, period=None).period == latest_month(wh, DEMO_TODAY)


B = Baseline
@pytest.mark.parametrize("then, now, expected", [
    (B(1, 2, 0.5, "red"), B(2, 2, 1.0, "green"), "better"), (B(1, 2, 0.9, "amber"), B(1, 2, 0.5, "red"), "worse"),
    (B(1, 2, 0.5, "red"), B(1.2, 2, 0.6, "red"), "better"), (B(1, 2, 0.5, "red"), B(0.8, 2, 0.4, "red"), "worse"),
    (B(1, 2, 0.5, "red"), B(1, 2, 0.5, "red"), "same"), (B(1, 0, None, "red"), B(1, 0, None, "red"), "same"),
    (B(1, 2, 0.5, "red"), None, "unknown"), (B(None, 2, None, "no_data"), B(1, 2, 0.5, "red"), "unknown"),
])
def test_trend(then, now, expected):
    assert trend(then, now) == expected


@pytest.mark.parametrize("ref, expected", [
    ("alert:cost_red:cost:D1:2026-10", AlertRef("cost_red", "cost", "D1", "2026-10")),
    (" alert:r:revenue:D1-SAL:2026-Q3 ", AlertRef("r", "revenue", "D1-SAL", "2026-Q3")),
    ("alert:r:revenue:D1", None), ("action:1", None), ("alert:r:revenue:D1:2026-10:x", None),
    ("alert::revenue:D1:2026-10", None), ("", None)])
def test_parse_alert_ref(ref, expected):
    if expected is None:
        with pytest.raises(ValidationFailed):
            parse_alert_ref(ref)
    else:
        assert parse_alert_ref(ref) == expected and str(expected) == ref.strip()


def test_an_action_opened_from_an_alert_keeps_the_reference(wh):
    ref = "alert:rev_red:revenue:D1-SAL:2026-Q3"
    a = service.open_from_alert(wh, ref, owner="mgr_d1", due=DUE, title="close the gap", by=who(wh, "mgr_d1"),
                                today=DEMO_TODAY)
    assert (a.metric, a.org, a.period, a.origin) == ("revenue", "D1-SAL", "2026-Q3", ref)
    with pytest.raises(AccessDenied):
        service.open_from_alert(wh, "alert:r:revenue:D2:2026-10", owner="mgr_d2", due=DUE, title="t",
                                by=who(wh, "mgr_d1"), today=DEMO_TODAY)


def test_edit_by_those_who_manage_the_unit(wh):
    a = open_one(wh, owner="emp_p0001")
    with pytest.raises(AccessDenied):  # the owner closes their own, but does not re-plan it
        service.edit(wh, a.id, due=DUE + dt.timedelta(days=7), by=who(wh, "emp_p0001"), today=DEMO_TODAY)
    b = service.edit(wh, a.id, owner="lead_t1", due=DUE + dt.timedelta(days=7), by=who(wh, "mgr_d1"),
                     today=DEMO_TODAY)
    assert (b.owner, b.due) == ("lead_t1", DUE + dt.timedelta(days=7))
    with pytest.raises(ValidationFailed):
        service.edit(wh, a.id, owner="mgr_d2", by=who(wh, "mgr_d1"), today=DEMO_TODAY)


def test_every_change_is_in_the_audit_log(wh):
    a = open_one(wh, by="mgr_d1", owner="lead_t1")
    service.edit(wh, a.id, title="win back two accounts", by=who(wh, "mgr_d1"), today=DEMO_TODAY)
    service.close(wh, a.id, note="they came back", by=who(wh, "lead_t1"))
    found = audit.search(wh, audit.Search(object_type="action", object_key=str(a.id)))
    assert [(e["user_name"], e["action"]) for e in found] == [("lead_t1", "close"), ("mgr_d1", "update"),
                                                             ("mgr_d1", "create")]


def inbox_of(wh, ref: str) -> list[tuple[str, str]]:
    with wh.connect() as con:
        return con.execute("SELECT user_name, subject FROM inbox WHERE ref = ? ORDER BY id", [ref]).fetchall()


def test_the_owner_is_told_when_given_an_action_by_someone_else(wh):
    given = open_one(wh, by="mgr_d1", owner="lead_t1")
    own = open_one(wh, by="mgr_d1", owner="mgr_d1")
    assert [u for u, _ in inbox_of(wh, f"action:{given.id}")] == ["lead_t1"]
    assert inbox_of(wh, f"action:{own.id}") == []


def test_an_overdue_action_reminds_its_owner_once_a_day_in_their_language(wh):
    prefs.put(wh, "lead_t1", "lang", "en")
    late = open_one(wh, metric="customer_complaints", org="D1-SAL-T1", owner="lead_t1", due=DEMO_TODAY)
    other = open_one(wh, org="D1", owner="mgr_d1", due=DEMO_TODAY + dt.timedelta(days=1))  # zh (no preference)
    done = open_one(wh, owner="lead_t1", due=DEMO_TODAY)
    service.close(wh, done.id, note="done", by=who(wh, "lead_t1"))
    day = DEMO_TODAY + dt.timedelta(days=2)
    t0 = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)
    before = {a.id: inbox_of(wh, f"action:{a.id}") for a in (late, other, done)}
    sent = service.remind_overdue(wh, t0)
    assert sorted((s["action"], s["owner"], s["lang"]) for s in sent) == [(late.id, "lead_t1", "en"),
                                                                         (other.id, "mgr_d1", "zh")]
    for a, owner, lang in ((late, "lead_t1", "en"), (other, "mgr_d1", "zh")):  # only the owner, in their language
        new = inbox_of(wh, f"action:{a.id}")[len(before[a.id]):]
        assert new == [(owner, Msg("action_overdue_subject", id=a.id, title=a.title).render(lang))]
    assert inbox_of(wh, f"action:{done.id}") == before[done.id]
    item = next(i for i in box.inbox(wh, "lead_t1") if i.ref == f"action:{late.id}")
    metric = context(wh)[1]["customer_complaints"]
    assert metric.name_en in item.body and metric.name not in item.body and item.kind == "action"
    item = next(i for i in box.inbox(wh, "mgr_d1") if i.ref == f"action:{other.id}")
    assert context(wh)[1]["revenue"].name in item.body
    # the KPI as the reader's language writes money: ¥…亿/万, never a bare 9-digit figure
    assert re.search(r"¥[\d.,]+[亿万]", item.body) and not re.search(r"\d{3},\d{3},\d{3}", item.body), item.body
    assert service.remind_overdue(wh, t0 + dt.timedelta(hours=2)) == []  # once a day
    again = service.remind_overdue(wh, t0 + dt.timedelta(days=1))
    assert sorted(s["action"] for s in again) == [late.id, other.id]
    found = audit.search(wh, audit.Search(object_type="action", object_key=str(late.id), action="remind"))
    assert len(found) == 2


def test_no_reminder_to_an_owner_who_may_no_longer_read_the_unit(wh):
    a = open_one(wh, org="D1", owner="mgr_d1", due=DEMO_TODAY)
    before = inbox_of(wh, f"action:{a.id}")
    users.update(wh, "mgr_d1", orgs=["D2"])  # moved to another division
    t0 = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)
    assert service.remind_overdue(wh, t0) == []
    assert inbox_of(wh, f"action:{a.id}") == before


def test_an_action_whose_metric_is_gone_keeps_its_baseline(wh):
    base = Baseline(5.0, 10.0, 0.5, "red")
    a = store.add(wh, store.NewAction("retired_metric", "D1", "2026-10", "mgr_d1", DUE, "t", "cell", base), by="root")
    move = service.movement(wh, a, DEMO_TODAY)
    assert (move.then, move.latest, move.now, move.change, move.trend) == (base, None, None, None, "unknown")
