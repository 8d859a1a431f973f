"""The alerts page (AppTest on the demo): the states a user may read, acknowledge and snooze from
the page, the transitions, and the rules edited by an admin."""

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.auth import users
from kpi_core.model.alert import document, parse_rules
from kpi_core.services import alerts as alert_service
from kpi_core.store import alerts, org
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY
from tests.system.test_app_pages import no_english_sentence, no_raw_keys_or_nan, page_as

pytestmark = pytest.mark.slow

RULES = """
alerts:
  - code: revenue_seen
    metric: revenue
    scope: {org: HQ, include: children}
    when: {value_above: 0}
    notify: [{user: ceo}]
"""


@pytest.fixture
def wh(demo_path):
    wh = open_warehouse(demo_path)
    raw, _ = document(RULES, "t.yaml")
    rules, problems = parse_rules(raw, "t.yaml")
    alerts.apply_rules(wh, rules, problems=problems, reason="test")
    alert_service.check(wh, today=DEMO_TODAY)
    return wh


def alerts_as(wh, name: str, monkeypatch, lang: str = "zh") -> AppTest:
    return page_as(wh.path, name, "pages/alerts.py", monkeypatch, lang)


def test_a_manager_sees_only_their_units_alerts(wh, monkeypatch):
    firing = [s for s in alerts.list_states(wh, "admin", today=DEMO_TODAY) if s["state"] == "firing"]
    assert len(firing) >= 2  # every division's revenue is above zero
    at = alerts_as(wh, "mgr_d1", monkeypatch)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["组织单元"]) == [f"{org.tree(wh).units['D1'].name} (D1)"]  # D1 only, of all the divisions firing
    no_english_sentence(at)
    no_raw_keys_or_nan(at)


def test_acknowledge_and_snooze_from_the_page(wh, monkeypatch):
    at = alerts_as(wh, "ceo", monkeypatch, lang="en")
    first = at.session_state["al_pick"]
    at.button(key="al_ack").click().run()
    assert not at.exception
    state = {s["id"]: s for s in alerts.list_states(wh, "admin", today=DEMO_TODAY)}
    assert state[first]["state"] == "acknowledged" and state[first]["acked_by"] == "ceo"
    assert any("Acknowledged" in s.value for s in at.success)
    at.selectbox(key="al_pick").set_value(first)
    at.button(key="al_snooze").click().run()
    state = {s["id"]: s for s in alerts.list_states(wh, "admin", today=DEMO_TODAY)}
    assert state[first]["state"] == "snoozed"


def test_an_admin_edits_the_rules_on_the_page(wh, monkeypatch):
    users.add(wh, "admin", "admin")
    at = alerts_as(wh, "admin", monkeypatch)
    at.session_state["al_tabs"] = "预警规则"  # the tab a click opens (only the open one is built)
    at.run().text_area(key="al_yaml").set_value(RULES.replace("value_above: 0", "value_above: 1"))
    at.text_input(key="al_reason").set_value("higher bar")
    at.button(key="al_apply").click().run()
    assert not at.exception
    assert alerts.current_rules(wh)["revenue_seen"].when.value_above == 1
