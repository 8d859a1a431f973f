"""The inbox page (AppTest on the demo): a user's messages, read and unread, the menu's count, and
their subscriptions saved and removed from the page."""

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.model.notice import Notice
from kpi_core.store import outbox
from kpi_core.store import subscriptions as sub_store
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY, signed_in
from tests.system.test_app_pages import APP, no_english_sentence, no_raw_keys_or_nan, page_as

pytestmark = pytest.mark.slow


@pytest.fixture
def wh(demo_path):
    return open_warehouse(demo_path)


def inbox_as(wh, name: str, monkeypatch, lang: str = "zh") -> AppTest:
    return page_as(wh.path, name, "pages/inbox.py", monkeypatch, lang)


def post(wh, user: str, subject: str) -> int:
    with wh.transaction(bump=False) as con:
        return outbox.to_inbox(con, user, Notice("alert", subject, "第一行\n第二行", link="?org=D1&period=2026-10"),
                               now=dt.datetime.now(dt.UTC))


def test_a_users_messages_and_only_theirs(wh, monkeypatch):
    post(wh, "mgr_d1", "华东事业部 收入转红")
    post(wh, "ceo", "集团的另一条消息")
    at = inbox_as(wh, "mgr_d1", monkeypatch)
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert len(labels) == 1 and "华东事业部 收入转红" in labels[0] and labels[0].startswith("● ")
    no_english_sentence(at)
    no_raw_keys_or_nan(at)


def test_read_and_unread_and_read_all(wh, monkeypatch):
    first = post(wh, "mgr_d1", "一")
    post(wh, "mgr_d1", "二")
    at = inbox_as(wh, "mgr_d1", monkeypatch)
    at.button(key=f"inbox_toggle_{first}").click().run()
    assert outbox.unread(wh, "mgr_d1") == 1
    at.toggle(key="inbox_unread").set_value(True).run()
    assert [e.label for e in at.expander] == [next(e.label for e in at.expander)]  # only the unread one
    at.button(key="inbox_read_all").click().run()
    assert outbox.unread(wh, "mgr_d1") == 0
    assert at.info and "没有未读消息" in at.info[0].value


def test_a_subscription_is_saved_and_removed_from_the_page(wh, monkeypatch):
    at = inbox_as(wh, "mgr_d1", monkeypatch, lang="en")
    at.session_state["inbox_tabs"] = "My subscriptions"  # the tab a click opens (only the open one is built)
    at.run().radio(key="sub_kind").set_value("cockpit")
    at.selectbox(key="sub_org").set_value("D1")
    at.selectbox(key="sub_schedule").set_value("after_import")
    at.button[[b.label for b in at.button].index("Save subscription")].click().run()
    assert not at.exception
    assert [s.sub.key for s in sub_store.listed(wh)] == ["mgr_d1:cockpit:D1"]
    assert "Subscription saved." in [s.value for s in at.success]
    at.button(key="sub_remove").click().run()
    assert sub_store.listed(wh) == []


def test_a_board_is_subscribed_from_its_page(wh, monkeypatch):
    monkeypatch.setenv("KPI_WAREHOUSE", str(wh.path))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "zh"
    signed_in(at, wh.path, "ceo")
    at.run()
    at.switch_page("pages/boards.py")
    at.run()
    board = at.session_state["board"]
    at.selectbox(key=f"sub_sched_{board}").set_value("daily")
    at.button(key=f"sub_save_{board}").click().run()
    assert not at.exception
    assert [(s.sub.key, s.sub.schedule) for s in sub_store.listed(wh)] == [(f"ceo:board:{board}", "daily")]
    assert "订阅已保存。" in [s.value for s in at.success]
