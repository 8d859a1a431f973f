"""The scorecards page and the cockpit on scorecards, through AppTest on the demo company: each
unit opens on its own KPIs, the page opens on the latest month with data, editing is for admins
and managers within their subtree, and a saved change is a version with its reason."""

import pytest

from kpi_core.model.scorecard import ScorecardDef
from kpi_core.present import cockpit
from kpi_core.query.api import latest_month
from kpi_core.store import org, scorecards
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY, signed_in
from tests.system.test_app_pages import app, app_warehouse, no_raw_keys_or_nan  # noqa: F401

pytestmark = pytest.mark.slow


def test_pages_open_on_the_latest_month_with_data(app, app_warehouse):  # noqa: F811
    app.run()
    latest = latest_month(open_warehouse(app_warehouse), DEMO_TODAY)
    assert app.session_state["period"] == latest == f"{DEMO_TODAY:%Y-%m}"  # the demo has data this month
    options = app.selectbox(key="period").options
    assert "2026-12" not in options and latest in options  # no month after the data is offered


# HR's engagement survey is quarterly: its cards are read at a quarter (at a month it has no value).
@pytest.mark.parametrize("unit, period", [("D3-PRD", "2026-10"), ("D3-PRD-T1", "2026-10"), ("P0001", "2026-10"),
                                          ("D1-HR", "2026-Q3")])
def test_a_unit_opens_on_its_own_kpis(app, app_warehouse, unit, period):  # noqa: F811
    wh = open_warehouse(app_warehouse)
    own = scorecards.current(wh)[unit]
    app.query_params["org"] = unit
    app.query_params["period"] = period
    app.run()
    assert not app.exception
    data = cockpit.build(wh, org.tree(wh), unit, period, today=DEMO_TODAY)
    assert sorted(data.cards) == sorted(own.codes) and data.scorecard.origin == "own"
    names = {data.metrics[c].name for c in data.headline}
    shown = [m for m in app.metric if m.label in names]
    assert len(shown) == len(data.headline) and all(m.value != "—" for m in shown)  # no "no data" card
    assert not [b for b in app.markdown if "无数据" in b.value]
    assert any("按本单位自己的计分卡考核" in c.value for c in app.caption)
    no_raw_keys_or_nan(app)


def test_the_place_survives_opening_another_page(app):  # noqa: F811
    app.query_params["org"] = "D3-PRD"
    app.query_params["period"] = "2026-10"
    app.run()
    for page in ("pages/scorecards.py", "pages/targets.py", "pages/cockpit.py"):
        app.switch_page(page).run()
        assert not app.exception
        assert (app.session_state["org"], app.session_state["period"]) == ("D3-PRD", "2026-10"), page


def test_a_link_past_the_data_says_so_and_shows_the_latest(app):  # noqa: F811
    app.query_params["period"] = "2026-12"
    app.run()
    assert app.session_state["period"] == "2026-11"
    assert any("晚于最新数据" in x.value for x in app.toast)


def test_the_admin_edits_a_scorecard_with_a_reason(app, app_warehouse):  # noqa: F811
    wh = open_warehouse(app_warehouse)
    scorecards.apply(wh, [ScorecardDef.model_validate({"org": "D2-SAL", "metrics": [
        {"metric": "revenue", "weight": 60}, {"metric": "active_customers", "weight": 40}]})], reason="test start")
    app.run()
    app.switch_page("pages/scorecards.py").run()
    app.selectbox(key="org").set_value("D2-SAL").run()
    assert not app.exception and app.title[0].value.startswith("计分卡")
    assert [r for r in app.dataframe[0].value["占比"]] == ["60.0%", "40.0%"]  # weights shown as shares
    app.checkbox(key="sc_pw_D2-SAL").check().run()  # weigh the two perspectives on the card: 50 each to start
    app.button(key="sc_save_D2-SAL").click().run()
    assert any("原因" in e.value for e in app.error)  # no reason: refused, nothing written
    assert scorecards.current(wh)["D2-SAL"].perspective_weights is None
    app.text_input(key="sc_reason_D2-SAL").set_value("weigh the perspectives")
    app.button(key="sc_save_D2-SAL").click().run()
    assert not app.error and [x.value for x in app.success] == ["已保存"]
    assert scorecards.current(wh)["D2-SAL"].perspective_weights == {"financial": 50.0, "customer": 50.0}
    assert list(app.dataframe[0].value["占比"]) == ["50.0%", "50.0%"]  # the table above shows the saved card
    assert scorecards.history(wh, "D2-SAL")[-1]["reason"] == "weigh the perspectives"
    no_raw_keys_or_nan(app)


@pytest.mark.parametrize("user, unit, editable", [
    ("mgr_d1", "D1-SAL", True), ("mgr_d1", "D1", True), ("ceo", "D1", False), ("lead_t1", "D1-SAL-T1", False)])
def test_who_sees_the_editor(app, app_warehouse, user, unit, editable):  # noqa: F811
    signed_in(app, app_warehouse, user)
    app.run()
    app.switch_page("pages/scorecards.py").run()
    app.selectbox(key="org").set_value(unit).run()
    assert not app.exception and app.session_state["org"] == unit
    assert any(b.key == f"sc_save_{unit}" for b in app.button) == editable
