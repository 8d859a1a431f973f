"""The actions page and the cockpit's actions, through AppTest on the demo company: a manager opens
an action from a red cell's link, sees it on the unit's cockpit, closes it with a note (a note is
required); an employee sees no form; zh and en, no raw key, NaN or English sentence in Chinese."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.model.messages import Msg
from kpi_core.present import cockpit
from kpi_core.services import actions as service
from kpi_core.store import org
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY, signed_in
from tests.system.test_app_pages import no_english_sentence, no_raw_keys_or_nan

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/actions.py"


@pytest.fixture(scope="module")
def actions_warehouse(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("actions") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    return path


def app_as(path, monkeypatch, name: str, lang: str = "zh") -> AppTest:
    monkeypatch.setenv("KPI_WAREHOUSE", str(path))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    return signed_in(at, path, name)


def links(at) -> list:
    """The page links on screen (label, page and query string)."""
    return [e.proto for e in at.get("page_link")]


def red_below(path, unit: str, period: str):
    """A red row of the unit's cockpit on a unit below it (so following its link changes the unit)."""
    wh = open_warehouse(path)
    data = cockpit.build(wh, org.tree(wh), unit, period, today=DEMO_TODAY)
    return next(r for r in data.red if r.org != unit)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_opens_an_action_from_a_red_row_sees_it_on_the_cockpit_and_closes_it(actions_warehouse,
                                                                                        monkeypatch, lang):
    red = red_below(actions_warehouse, "D1", "2026-10")
    at = app_as(actions_warehouse, monkeypatch, "mgr_d1", lang)
    at.query_params.update({"org": "D1", "period": "2026-10"})
    at.run()
    at.session_state["cockpit_tab"] = Msg("ui_whats_red").render(lang)  # the red list's tab
    at.run()
    wanted = f"metric={red.metric}&org={red.org}&period={red.cell.period}"
    assert any(wanted in p.query_string and p.page == "actions" for p in links(at)), \
        [p.query_string for p in links(at)]
    # Following the link: the actions page with the form prefilled from the URL.
    at.query_params.update({"metric": red.metric, "org": red.org, "period": red.cell.period})
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.session_state["ac_metric"] == red.metric and at.session_state["org"] == red.org
    title = f"test {lang}: call the lost accounts back"
    at.text_input(key="ac_title_text").set_value(title)
    submit = next(b for b in at.button if b.proto.form_id == "ac_new_form")
    submit.click().run()
    assert not at.exception
    wh = open_warehouse(actions_warehouse)
    [a] = [x for x in service.visible_actions(wh) if x.title == title]
    assert (a.metric, a.org, a.period, a.created_by, a.status) == (red.metric, red.org, red.cell.period, "mgr_d1",
                                                                   "open")
    assert any(f"#{a.id}" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert f"#{a.id}" in list(table.iloc[:, 0])
    no_raw_keys_or_nan(at)
    if lang == "zh":
        no_english_sentence(at)
    # The unit's cockpit lists it, with a link to it.
    at.query_params.clear()
    at.query_params.update({"lang": lang})
    at.session_state["org"] = red.org
    at.switch_page("pages/cockpit.py").run()
    assert not at.exception
    assert any(f"action={a.id}" in p.query_string for p in links(at)), [p.label for p in links(at)]
    # Closing it needs a note.
    at.switch_page(PAGE).run()
    at.selectbox(key="ac_pick").set_value(a.id)
    close = next(b for b in at.button if b.proto.form_id == "ac_close_form")
    close.click().run()
    assert at.error and service.read(wh, a.id).status == "open"
    at.text_area(key="ac_note_text").set_value("root cause: two accounts lost; both called back")
    close = next(b for b in at.button if b.proto.form_id == "ac_close_form")
    close.click().run()
    assert not at.exception
    closed = service.read(wh, a.id)
    assert (closed.status, closed.closed_by, closed.note) == ("closed", "mgr_d1",
                                                             "root cause: two accounts lost; both called back")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_employee_sees_the_actions_of_their_team_but_cannot_open_one(actions_warehouse, monkeypatch, lang):
    wh = open_warehouse(actions_warehouse)
    a = service.open_action(wh, metric="revenue", org="D1-SAL-T1", period="2026-10", owner="emp_p0001",
                            due=DEMO_TODAY + dt.timedelta(days=3), title="visit two customers", today=DEMO_TODAY)
    at = app_as(actions_warehouse, monkeypatch, "emp_p0001", lang)
    at.query_params["org"] = "D1-SAL-T1"
    at.switch_page(PAGE).run()
    assert not at.exception
    assert not [b for b in at.button if b.proto.form_id == "ac_new_form"]
    assert f"#{a.id}" in list(at.dataframe[0].value.iloc[:, 0])
    assert [b for b in at.button if b.proto.form_id == "ac_close_form"]  # the owner closes their own
    no_raw_keys_or_nan(at)
    if lang == "zh":
        no_english_sentence(at)


def test_an_action_opened_from_an_alerts_link_keeps_the_alert(actions_warehouse, monkeypatch):
    ref = "alert:revenue_red:revenue:D1:2026-10"
    at = app_as(actions_warehouse, monkeypatch, "mgr_d1")
    at.query_params.update({"metric": "revenue", "org": "D1", "period": "2026-10", "ref": ref})
    at.run()
    at.switch_page(PAGE).run()
    at.text_input(key="ac_title_text").set_value("answer the revenue alert")
    next(b for b in at.button if b.proto.form_id == "ac_new_form").click().run()
    assert not at.exception
    wh = open_warehouse(actions_warehouse)
    [a] = [x for x in service.visible_actions(wh) if x.title == "answer the revenue alert"]
    assert (a.origin, a.metric, a.org, a.period) == (ref, "revenue", "D1", "2026-10")
