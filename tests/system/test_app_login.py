"""Signing in through the app (AppTest on a copy of the demo): no page before sign-in, the
first-run administrator, wrong passwords, sign-out, and the menu each role gets."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.auth import users
from kpi_core.store import audit
from kpi_core.store.warehouse import open_warehouse
from pages.nav import PAGES, menu
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.slow
APP = str(Path(__file__).resolve().parents[2] / "app.py")
PW = "first-admin-pw"


@pytest.fixture
def fresh(demo_template, tmp_path, monkeypatch):
    """A demo warehouse with its role users but no admin yet, as after `make run` on a new machine."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    monkeypatch.setenv("KPI_WAREHOUSE", str(path))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())
    return path


def new_session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "zh"
    return at


def test_no_page_shows_before_sign_in(fresh):
    for page in ("pages/cockpit.py", "pages/boards.py", "pages/admin.py"):
        at = new_session()
        at.run()
        at.switch_page(page).run()
        assert not at.exception
        assert at.title[0].value == "登录绩效驾驶舱"
        assert not at.metric and not at.dataframe  # no number, no table


def test_first_run_creates_the_admin_once_and_signs_them_in(fresh):
    at = new_session()
    at.run()
    assert any("首次使用" in i.value for i in at.info)
    at.text_input(key="fa_name").set_value("boss")
    at.text_input(key="fa_pw").set_value(PW)
    at.text_input(key="fa_pw2").set_value(PW)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value.startswith("驾驶舱")
    wh = open_warehouse(fresh)
    assert users.get(wh, "boss").role == "admin"
    later = new_session()  # the form is gone once an admin exists
    later.run()
    assert not any("首次使用" in i.value for i in later.info)
    assert [e["action"] for e in audit.search(wh, audit.Search(user="boss"), limit=2)] == ["login", "add"]


def test_wrong_password_is_refused_in_the_users_language_and_sign_out_ends_the_session(fresh):
    wh = open_warehouse(fresh)
    users.add(wh, "boss", "admin", password=PW)
    at = new_session()
    at.run()
    at.text_input(key="login_name").set_value("boss")
    at.text_input(key="login_pw").set_value("not the password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["用户名或密码错误，或账号因多次失败已被锁定（管理员可以解锁）"]
    at.text_input(key="login_pw").set_value(PW)
    at.button[0].click().run()
    assert at.title[0].value.startswith("驾驶舱")
    token = at.session_state["session_token"]
    assert users.resume(wh, token).name == "boss"
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "登录绩效驾驶舱"
    assert users.resume(wh, token) is None  # the cookie's token no longer signs anyone in


@pytest.mark.parametrize("name, role, pages", [
    ("lead_t1", "team_lead", ["cockpit", "boards", "metrics", "upload", "scorecards", "actions", "alerts", "inbox",
                              "reviews"]),
    # an employee sees what they are judged on, and their alerts, actions and messages
    ("emp_p0001", "employee", ["cockpit", "boards", "metrics", "scorecards", "actions", "alerts", "inbox",
                               "reviews"]),
    ("ceo", "executive", ["cockpit", "boards", "metrics", "targets", "scorecards", "actions", "alerts", "inbox",
                           "reviews", "overview"]),
])
def test_each_role_gets_its_menu_and_its_own_place(fresh, name, role, pages):
    wh = open_warehouse(fresh)
    users.add(wh, "boss", "admin", password=PW)
    users.set_password(wh, name, PW)
    at = new_session()
    at.query_params["org"] = "HQ"  # a link to the company
    at.run()
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_pw").set_value(PW)
    at.button[0].click().run()
    assert not at.exception
    home = {"lead_t1": "华东销售一组", "emp_p0001": "曾娟玲", "ceo": "华锐智能制造集团"}[name]
    assert at.title[0].value.endswith(home)
    assert menu(role) == pages
    for key, (path, *_rest) in PAGES.items():  # the pages registered in this session's navigation
        if key in pages:
            at.switch_page(path).run()
            assert not at.exception, (key, at.exception)
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(path)


def _signed_in_as(fresh, name: str) -> AppTest:
    wh = open_warehouse(fresh)
    if not users.has_admin(wh):
        users.add(wh, "boss", "admin", password=PW)
    users.set_password(wh, name, PW)
    at = new_session()
    at.run()
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_pw").set_value(PW)
    at.button[0].click().run()
    assert not at.exception and at.title[0].value.startswith("驾驶舱")
    return at


@pytest.mark.parametrize("change", ["disabled", "new password", "signed out elsewhere"])
def test_an_ended_session_lands_on_sign_in_at_the_next_click(fresh, change):
    """SPEC §7: the session is checked on every rerun, not only at sign-in."""
    at = _signed_in_as(fresh, "lead_t1")
    wh = open_warehouse(fresh)
    if change == "disabled":
        users.update(wh, "lead_t1", active=False, by="boss", reason="left the company")
    elif change == "new password":
        users.set_password(wh, "lead_t1", "another long password", by="boss")
    else:
        users.log_out(wh, "lead_t1", at.session_state["session_token"])
    at.sidebar.selectbox(key="period").set_value("2026-09").run()  # the next click
    assert not at.exception
    assert at.title[0].value == "登录绩效驾驶舱" and not at.metric and not at.dataframe
    assert [w.value for w in at.warning] == ["你的登录已结束（在别处退出、密码已更改或账号已停用），请重新登录。"]
    assert "actor" not in at.session_state


def test_a_role_or_unit_change_applies_at_the_next_click(fresh):
    at = _signed_in_as(fresh, "lead_t1")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/targets.py")  # not a team lead's page
    users.update(open_warehouse(fresh), "lead_t1", role="manager", orgs=["D2"], by="boss")
    at.sidebar.selectbox(key="period").set_value("2026-09").run()
    assert at.session_state["actor"].role == "manager" and at.session_state["actor"].orgs == ("D2",)
    assert at.title[0].value == "驾驶舱 · 华南销售事业部"  # moved to what they may now see
    assert "D1-SAL-T1" not in at.sidebar.selectbox(key="org").options
    at.switch_page("pages/targets.py").run()  # a manager's page, there at once
    assert not at.exception and at.title[0].value.startswith("目标管理")
