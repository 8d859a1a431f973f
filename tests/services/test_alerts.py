"""Checking alert rules on a copy of the demo company, its data changed by real imports: each
condition firing and not, the state machine, renotify, ack, snooze, re-arming, failing rules,
per-recipient access and the late-upload rule."""

from __future__ import annotations

import datetime as dt
import math
import shutil

import pytest

from kpi_core.auth import users
from kpi_core.ingest.facts.load import import_facts
from kpi_core.model.alert import parse_rules
from kpi_core.services import alerts
from kpi_core.services.alert_conditions import robust_z
from kpi_core.services.revert import revert
from kpi_core.store import alerts as store
from kpi_core.store import outbox, prefs
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def base(demo_template, tmp_path_factory):
    """The demo company with an admin user, once per module."""
    path = tmp_path_factory.mktemp("alerts") / "base.duckdb"
    shutil.copyfile(demo_template, path)
    wh = open_warehouse(path)
    users.add(wh, "boss", "admin")
    return path


@pytest.fixture
def wh(base, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copyfile(base, path)
    return open_warehouse(path)


def load(wh, tmp_path, rows: list[tuple[str, str, str, float]], name: str = "a.csv") -> int:
    """Import actuals (metric, org, period, value) as a team lead's file would arrive."""
    f = tmp_path / name
    f.write_text("metric,org,period,value\n" + "".join(f"{m},{o},{p},{v}\n" for m, o, p, v in rows), encoding="utf-8")
    result = import_facts(wh, "actuals", f)
    assert result.batch is not None, result.errors
    return result.batch


def rule(wh, when: str, *, org: str = "D1-CS", include: str = "unit", metric: str = "customer_complaints",
         notify: str = "[{user: boss}]", extra: str = "") -> None:
    found, problems = parse_rules([__import__("yaml").safe_load(
        f"{{code: r1, metric: {metric}, scope: {{org: {org}, include: {include}}}, when: {when}, "
        f"notify: {notify}{extra}}}")], "t")
    assert not problems, problems
    store.apply_rules(wh, found)


def check(wh, at=AT, today=DEMO_TODAY):
    return alerts.check(wh, now=at, today=today)


def inbox_of(wh, user):
    return outbox.inbox(wh, user)


# ------------------------------------------------------------------ each condition, firing and not

# D1-CS's customer complaints (lower is better; the demo's target for 2026-11 is 13): the
# values imported for 2026-10 and 2026-11 (and 2025-11 for last year), and whether the rule fires.
CONDITIONS = [
    ("{status: red}", {"2026-11": 30}, True),
    ("{status: red}", {"2026-11": 5}, False),
    ("{status: amber}", {"2026-11": 30}, True),
    ("{status: amber}", {"2026-11": 5}, False),
    ("{value_above: 15}", {"2026-11": 20}, True),
    ("{value_above: 15}", {"2026-11": 15}, False),
    ("{value_below: 15}", {"2026-11": 10}, True),
    ("{value_below: 15}", {"2026-11": 15}, False),
    ("{change_vs: previous, above: 0.2}", {"2026-10": 20, "2026-11": 25}, True),
    ("{change_vs: previous, above: 0.2}", {"2026-10": 20, "2026-11": 24}, False),
    ("{change_vs: previous, below: -0.1}", {"2026-10": 20, "2026-11": 17}, True),
    ("{change_vs: previous, below: -0.1}", {"2026-10": 20, "2026-11": 19}, False),
    ("{change_vs: last_year, above: 0.5}", {"2025-11": 10, "2026-11": 16}, True),
    ("{change_vs: last_year, above: 0.5}", {"2025-11": 10, "2026-11": 14}, False),
    ("{status_changed: true}", {"2026-10": 30, "2026-11": 5}, True),
    ("{status_changed: true}", {"2026-10": 30, "2026-11": 31}, False),
]


@pytest.mark.parametrize("when, values, fires", CONDITIONS)
def test_each_condition_fires_when_it_holds_and_not_otherwise(wh, tmp_path, when, values, fires):
    load(wh, tmp_path, [("customer_complaints", "D1-CS", p, v) for p, v in values.items()])
    rule(wh, when)
    events = check(wh)
    assert [(e.rule, e.org, e.period, e.state) for e in events] == (
        [("r1", "D1-CS", "2026-11", "firing")] if fires else [])
    listed = {(s["org"], s["state"]) for s in store.list_states(wh, today=DEMO_TODAY)}
    assert listed == {("D1-CS", "firing" if fires else "ok")}


def _series(level: float, nov: float) -> list[tuple[str, str, str, float]]:
    """D1-CS complaints 2024-01..2026-11 on a straight line (one more each month), November 2026 as given."""
    months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)][:35]
    return [("customer_complaints", "D1-CS", p, level + i if p != "2026-11" else nov) for i, p in enumerate(months)]


@pytest.mark.parametrize("nov, fires", [(80, True), (44, False)])  # on the line, 2026-11 is 10 + 34 = 44
def test_anomaly_fires_on_a_value_off_the_series(wh, tmp_path, nov, fires):
    load(wh, tmp_path, _series(10, nov))
    rule(wh, "{anomaly: 3.5}")
    assert [e.state for e in check(wh)] == (["firing"] if fires else [])


@pytest.mark.parametrize("series, lag, expected", [
    ([1.0] * 8 + [1.0], 1, 0.0),                      # flat: nothing unusual
    ([float(i) for i in range(20)], 12, 0.0),          # a straight line: every seasonal residual is 12
    ([0.0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 21], 1, None),  # see below
])
def test_robust_z_of_known_series(series, lag, expected):
    z = robust_z(series, lag)
    if expected is None:
        # residuals 1,-1,2,-2,1,-1,2,-2,1,-1 then 21: median 0, MAD 1 → 0.6745·21/1
        assert z == pytest.approx(0.6745 * 21)
    else:
        assert z == expected


def test_robust_z_needs_history_and_a_last_value():
    assert robust_z([1.0, 2.0, 3.0], 1) is None
    assert robust_z([float(i) for i in range(10)] + [None], 1) is None
    assert math.isinf(robust_z([1.0] * 9 + [5.0], 1))


@pytest.mark.parametrize("level, fires", [(30, True), (5, False)])  # the monthly target is 13
def test_projected_miss_uses_the_forecast(wh, tmp_path, level, fires):
    """A quarter in progress (2026-Q4: October and November in) projected from a flat series."""
    load(wh, tmp_path, [(m, o, p, level) for m, o, p, _ in _series(0, 0)])
    rule(wh, "{projected: miss}", extra=", grain: quarter")
    events = check(wh)
    assert [e.state for e in events] == (["firing"] if fires else [])
    with wh.connect() as con:
        assert store.failures_in(con) == {}


# ------------------------------------------------------------------ the state machine over checks


def test_idempotent_renotify_ack_resolve_and_rearm(wh, tmp_path):
    load(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-11", 30)], "red.csv")
    rule(wh, "{status: red}", extra=", renotify: 1d")
    assert [e.state for e in check(wh)] == ["firing"]
    assert len(inbox_of(wh, "boss")) == 1
    assert check(wh, AT + dt.timedelta(hours=1)) == []            # unchanged data: nothing new
    assert len(inbox_of(wh, "boss")) == 1                           # and nothing sent
    assert check(wh, AT + dt.timedelta(days=1, hours=1)) == []      # renotify: no event, one notice
    assert len(inbox_of(wh, "boss")) == 2
    sid = store.list_states(wh, today=DEMO_TODAY)[0]["id"]
    store.ack(wh, sid, "boss")
    assert check(wh, AT + dt.timedelta(days=3)) == []
    assert len(inbox_of(wh, "boss")) == 2                           # acknowledged: silent
    assert store.list_states(wh, today=DEMO_TODAY)[0]["state"] == "acknowledged"
    load(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-11", 5)], "green.csv")
    assert [e.state for e in check(wh, AT + dt.timedelta(days=4))] == ["resolved"]
    assert len(inbox_of(wh, "boss")) == 3                           # told it resolved
    load(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-11", 40)], "red2.csv")
    assert [e.state for e in check(wh, AT + dt.timedelta(days=5))] == ["firing"]  # re-armed
    with wh.connect() as con:
        logged = [r[0] for r in con.execute("SELECT state FROM alert_event ORDER BY id").fetchall()]
        acked = con.execute("SELECT count(*) FROM audit_log WHERE action = 'acknowledge'").fetchall()[0][0]
    assert logged == ["firing", "resolved", "firing"] and acked == 1


def test_snooze_holds_notices_until_the_date(wh, tmp_path):
    load(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-11", 30)])
    rule(wh, "{status: red}", extra=", renotify: 1d")
    check(wh)
    sid = store.list_states(wh, today=DEMO_TODAY)[0]["id"]
    store.snooze(wh, sid, dt.date(2026, 11, 30), "boss", today=DEMO_TODAY)
    assert store.list_states(wh, today=DEMO_TODAY)[0]["state"] == "snoozed"
    check(wh, AT + dt.timedelta(days=2), dt.date(2026, 11, 29))
    assert len(inbox_of(wh, "boss")) == 1                           # still snoozed: renotify held
    check(wh, AT + dt.timedelta(days=4), dt.date(2026, 12, 1))
    assert len(inbox_of(wh, "boss")) == 2                           # after the date: told again
    assert store.list_states(wh, today=dt.date(2026, 12, 1))[0]["state"] == "firing"


@pytest.mark.parametrize("state, holds, snoozed, last, renotify, expected", [
    (None, True, False, None, None, ("firing", "firing", True)),
    (None, False, False, None, None, ("ok", None, False)),
    ("ok", True, True, None, None, ("firing", "firing", False)),
    ("firing", True, False, 0, None, ("firing", None, False)),
    ("firing", True, False, 0, 1, ("firing", None, True)),
    ("firing", True, False, 0, 3, ("firing", None, False)),
    ("firing", True, False, None, None, ("firing", None, True)),   # fired while snoozed: told after
    ("firing", False, False, 0, None, ("resolved", "resolved", True)),
    ("acknowledged", True, False, 0, 1, ("acknowledged", None, False)),
    ("acknowledged", False, True, 0, None, ("resolved", "resolved", False)),
    ("resolved", False, False, 0, None, ("resolved", None, False)),
    ("resolved", True, False, 0, None, ("firing", "firing", True)),
])
def test_state_machine_table(state, holds, snoozed, last, renotify, expected):
    from kpi_core.model.alert import transition

    at = AT + dt.timedelta(hours=2)
    step = transition(state, holds, snoozed=snoozed, last_notified_at=None if last is None else AT,
                      renotify=None if renotify is None else dt.timedelta(hours=renotify), at=at)
    assert (step.state, step.event, step.notify) == expected


# ------------------------------------------------------------------ failures, recipients, late data


def test_a_failing_rule_tells_the_admins_once_and_others_still_run(wh, tmp_path):
    load(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-11", 30)])
    rule(wh, "{status: red}")
    found, _ = parse_rules([{"code": "broken", "metric": "revenue", "scope": {"org": "D1", "include": "unit"},
                             "when": {"status": "red"}, "notify": [{"user": "boss"}]}], "t")
    store.apply_rules(wh, found)
    with wh.transaction() as con:  # a stored rule whose unit the tree no longer has cannot be evaluated
        con.execute("UPDATE alert_rule_version SET definition = replace(definition, '\"D1\"', '\"GONE\"') "
                    "WHERE code = 'broken'")
    assert [e.rule for e in check(wh)] == ["r1"]
    check(wh, AT + dt.timedelta(hours=1))
    system = [i for i in inbox_of(wh, "boss") if i.kind == "system"]
    assert len(system) == 1 and "broken" in system[0].subject


def test_a_manager_is_told_only_of_their_units(wh, tmp_path):
    load(wh, tmp_path, [("customer_complaints", o, "2026-11", 30) for o in ("D1-CS", "D2-CS")])
    rule(wh, "{status: red}", org="HQ", include="subtree", notify="[{unit_role: manager}, {user: boss}]")
    prefs.put(wh, "mgr_d1", "lang", "en")
    fired = {e.org for e in check(wh)}
    assert {"D1-CS", "D2-CS"} <= fired
    mine = inbox_of(wh, "mgr_d1")
    assert len(mine) == 1 and mine[0].kind == "alert"
    text = mine[0].subject + mine[0].body
    assert "D1-CS" in text and "D2" not in text and "Customer complaints" in text
    assert "D2-CS" in inbox_of(wh, "boss")[0].body                   # the admin reads everything, in zh
    assert "客户投诉数" in inbox_of(wh, "boss")[0].body


def _reported(wh, period: str) -> set[str]:
    with wh.connect() as con:
        return {o for (o,) in con.execute("SELECT DISTINCT org FROM actual WHERE metric = 'customer_complaints' "
                                          "AND period = ?", [period]).fetchall()}


@pytest.mark.parametrize("today, due", [(dt.date(2026, 12, 5), "2026-10"), (dt.date(2026, 12, 6), "2026-11")])
def test_late_upload_fires_after_the_due_day_and_not_before(wh, tmp_path, today, due):
    """customer_complaints is due on the 5th of the next month: on 5 December October is the
    period judged, from the 6th November; the units missing are those that reported the month before."""
    rule(wh, "{missing_after_due_day: true}", org="HQ", include="subtree")
    at = dt.datetime.combine(today, dt.time(9), dt.UTC)
    before = str(int(due[-2:]) - 1).zfill(2)
    late = _reported(wh, f"2026-{before}") - _reported(wh, due)
    events = check(wh, at, today)
    assert {e.org for e in events if e.state == "firing"} == late
    assert {e.period for e in events} <= {due}
    if late:  # the late unit's upload arrives: it resolves
        load(wh, tmp_path, [("customer_complaints", o, due, 9) for o in late], "late.csv")
        assert {(e.org, e.state) for e in check(wh, at + dt.timedelta(hours=1), today)} == {
            (o, "resolved") for o in late}


def test_late_upload_of_a_reverted_file_fires(wh, tmp_path):
    """A unit whose November file was taken back is missing once the due day has passed."""
    rule(wh, "{missing_after_due_day: true}", org="D1", include="subtree")
    with wh.connect() as con:
        demo_batch = con.execute("SELECT DISTINCT batch_id FROM actual WHERE metric = 'customer_complaints' "
                                 "AND org = 'D1-CS' AND period = '2026-11'").fetchall()
    assert demo_batch
    batch = load(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-11", 12)], "nov.csv")
    assert check(wh, dt.datetime(2026, 12, 7, tzinfo=dt.UTC), dt.date(2026, 12, 7)) == []
    revert(wh, batch, reason="the file was wrong")
    # the demo's own November value is back after the revert: still nothing missing
    assert check(wh, dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC), dt.date(2026, 12, 7)) == []
