"""Alert rules and states in the warehouse: apply (versioned, audited), remove, listing within
access, acknowledging and snoozing with their checks; the metric's due day kept and exported."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from kpi_core.auth import users
from kpi_core.ingest.facts.load import import_facts
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.services import alerts
from kpi_core.store import alerts as store
from kpi_core.store import dictionary
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

RULES = """
alerts:
  - code: cs_red
    metric: customer_complaints
    scope: {org: HQ, include: subtree}
    when: {status: red}
    notify: [{unit_role: manager}, {channel: ops_hook}]
channels:
  - {name: ops_hook, kind: webhook, url: "http://127.0.0.1:9/hook"}
"""


@pytest.fixture
def wh(demo_path):
    return open_warehouse(demo_path)


@pytest.fixture
def fired(wh, tmp_path):
    """cs_red applied and checked, with D1-CS and D2-CS red in 2026-11."""
    f = tmp_path / "a.csv"
    f.write_text("metric,org,period,value\ncustomer_complaints,D1-CS,2026-11,40\n"
                 "customer_complaints,D2-CS,2026-11,40\n", encoding="utf-8")
    assert import_facts(wh, "actuals", f).batch is not None
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    store.apply_file(wh, tmp_path / "rules.yaml")
    alerts.check(wh, now=dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC), today=DEMO_TODAY)
    return {s["org"]: s for s in store.list_states(wh, today=DEMO_TODAY) if s["state"] == "firing"}


def test_apply_is_versioned_audited_and_leaves_channels_alone(wh, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    result, channels = store.apply_file(wh, path, dry_run=True)
    assert result.created == ["cs_red"] and channels == ["ops_hook"] and store.current_rules(wh) == {}
    store.apply_file(wh, path, reason="first")
    assert store.apply_file(wh, path)[0].unchanged == ["cs_red"]
    path.write_text(RULES.replace("status: red", "status: amber"), encoding="utf-8")
    assert store.apply_file(wh, path)[0].updated == ["cs_red"]
    assert store.get_rule(wh, "cs_red").when.status == "amber"
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM channel").fetchall()[0][0] == 0
        versions = con.execute("SELECT version FROM alert_rule_version ORDER BY version").fetchall()
        actions = con.execute("SELECT action FROM audit_log WHERE object_type = 'alert_rule' ORDER BY id").fetchall()
    assert versions == [(1,), (2,)] and actions == [("create",), ("update",)]
    store.remove_rule(wh, "cs_red", reason="gone")
    assert store.current_rules(wh) == {}
    with pytest.raises(NotFound):
        store.get_rule(wh, "cs_red")


@pytest.mark.parametrize("text, code", [
    (RULES.replace("{unit_role: manager}", "{user: nobody}"), "alert_unknown_user"),
    (RULES.replace("org: HQ", "org: NOWHERE"), "alert_unknown_unit"),
    (RULES.replace("metric: customer_complaints", "metric: nope"), "alert_unknown_metric"),
    (RULES.replace("{channel: ops_hook}", "{channel: other}"), "alert_unknown_channel"),
])
def test_names_the_warehouse_lacks_are_refused(wh, tmp_path, text, code):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        store.apply_file(wh, path)
    assert [p.code for p in err.value.problems] == [code]


def test_only_admins_apply_rules(wh, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    with pytest.raises(AccessDenied):
        store.apply_file(wh, path, user=users.actor(wh, "mgr_d1"))


def test_a_manager_lists_acks_and_snoozes_only_within_their_subtree(wh, fired):
    assert {"D1-CS", "D2-CS"} <= set(fired)
    mgr = users.actor(wh, "mgr_d1")
    seen = {s["org"] for s in store.list_states(wh, mgr, today=DEMO_TODAY)}
    assert "D1-CS" in seen and not any(o.startswith("D2") for o in seen)
    with pytest.raises(NotFound):
        store.ack(wh, fired["D2-CS"]["id"], mgr)
    assert store.ack(wh, fired["D1-CS"]["id"], mgr).state == "acknowledged"
    with pytest.raises(ValidationFailed, match="only a firing alert"):
        store.ack(wh, fired["D1-CS"]["id"], mgr)
    with pytest.raises(ValidationFailed, match="before today"):
        store.snooze(wh, fired["D2-CS"]["id"], dt.date(2026, 11, 1), "admin", today=DEMO_TODAY)
    store.snooze(wh, fired["D2-CS"]["id"], dt.date(2026, 12, 1), "admin", today=DEMO_TODAY)
    states = {s["org"]: s["state"] for s in store.list_states(wh, today=DEMO_TODAY)}
    assert states["D1-CS"] == "acknowledged" and states["D2-CS"] == "snoozed"
    with wh.connect() as con:
        audited = con.execute("SELECT action, user_name FROM audit_log WHERE object_type = 'alert' "
                              "ORDER BY id").fetchall()
    assert audited == [("acknowledge", "mgr_d1"), ("snooze", "admin")]


def test_the_channel_gets_one_message_for_the_rules_scope(wh, fired):
    with wh.connect() as con:
        rows = con.execute("SELECT channel, body FROM outbox WHERE kind = 'alert'").fetchall()
    assert len(rows) == 1 and rows[0][0] == "ops_hook"
    assert all(org in rows[0][1] for org in fired)


def test_events_are_logged_and_kept_to_access(wh, fired):
    everything = store.events(wh)
    assert {e["org"] for e in everything} == set(fired)
    mine = store.events(wh, users.actor(wh, "mgr_d1"))
    assert mine and all(e["org"].startswith("D1") for e in mine)


def test_the_due_day_is_stored_versioned_and_exported(wh, tmp_path):
    assert dictionary.get(wh, "customer_complaints").due_day == 5
    text = dictionary.export(wh, tmp_path / "out")
    assert "due_day: 5" in text
    fresh = open_warehouse(tmp_path / "fresh.duckdb")
    shutil.copyfile(tmp_path / "out" / "metrics.yaml", tmp_path / "m.yaml")
    m = dictionary.parse_metrics([("m.yaml", {"code": "x", "name": "x", "source": "manual", "due_day": 7})])[0]
    dictionary.apply_metrics(fresh, m, reason="t")
    assert dictionary.get(fresh, "x").due_day == 7
    assert dictionary.history(fresh, "x")[0]["definition"]["due_day"] == 7
