"""预警 and 消息 in headless Chromium (SPEC §9), on a copy of the demo company where an upload
turned D1's minimum cash red and a check fired: a manager in Chinese on a phone and an admin in
English on a desktop see the firing state and acknowledge it, find the alert in their inbox, open
it, read it and see the menu's count drop. No request leaves the app's origin; no page says NaN,
None or Traceback. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pyarrow as pa
import pytest
import yaml

from tests.conftest import DEMO_TODAY
from tests.system.test_browser import PASSWORD, _people, idle, launch, serve, shot, wait_title

pytestmark = pytest.mark.slow
RULES = """
- {code: cash_red, metric: min_cash_balance, scope: {org: HQ, include: children}, when: {status: red},
   notify: [{unit_role: manager}, {user: root}]}
"""


@pytest.fixture(scope="module")
def warehouse_path(demo_template, tmp_path_factory):
    from kpi_core.ingest.facts.from_arrow import import_table
    from kpi_core.model.alert import parse_rules
    from kpi_core.services import alerts
    from kpi_core.store import alerts as alert_store
    from kpi_core.store.warehouse import open_warehouse

    path = tmp_path_factory.mktemp("browser_alerts") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    wh = open_warehouse(path)
    rules, problems = parse_rules(yaml.safe_load(RULES), "t")
    assert not problems
    alert_store.apply_rules(wh, rules)
    import_table(wh, "actuals", pa.table({"metric": ["min_cash_balance"], "org": ["D1"], "period": ["2026-11"],
                                          "value": [40_000_000.0]}), source="low.csv")
    events = alerts.check(wh, now=dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC), today=DEMO_TODAY)
    assert [(e.org, e.state) for e in events] == [("D1", "firing")]
    return path


@pytest.fixture(scope="module")
def server(warehouse_path):
    yield from serve(warehouse_path)


@pytest.fixture(scope="module")
def browser(server):
    yield from launch()


def _page(browser, server, width: int):
    ctx = browser.new_context(viewport={"width": width, "height": 1200}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    pg.outside = []
    pg.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else pg.outside.append(r.url))
    return pg


def _sign_in(pg, server: str, name: str, path: str, lang: str) -> None:
    pg.goto(f"{server}/{path}")
    wait_title(pg, "登录" if lang == "zh" else "Sign in")
    pg.get_by_label("用户名" if lang == "zh" else "User name").fill(name)
    pg.get_by_label("密码" if lang == "zh" else "Password", exact=True).fill(PASSWORD)
    pg.get_by_role("button", name="登录" if lang == "zh" else "Sign in", exact=True).click()
    pg.wait_for_function("() => { const h = document.querySelector('h1'); "
                         "return h && !/登录|Sign in/.test(h.innerText); }")
    idle(pg)


def _clean(pg) -> None:
    text = pg.locator('[data-testid="stMain"]').inner_text()
    assert not re.search(r"\b(NaN|None|Traceback)\b", text), text
    assert pg.locator('[data-testid="stException"]').count() == 0
    width = pg.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 2, f"the page is {width}px wider than the window"


def _menu(pg) -> str:
    """The sidebar's menu text (also when the sidebar is closed on a phone)."""
    return pg.locator('[data-testid="stSidebarNav"]').text_content() or ""


def _state_of(warehouse_path, user: str) -> str:
    from kpi_core.store import alerts as alert_store
    from kpi_core.store.warehouse import open_warehouse

    found = [s for s in alert_store.list_states(open_warehouse(warehouse_path), user, today=DEMO_TODAY)
             if s["org"] == "D1"]
    return found[0]["state"]


CASES = [  # user, lang, width, words
    ("mgr_d1", "zh", 390, {"title": "预警", "ack": "确认", "acked": "已确认", "inbox": "消息", "open": "打开",
                           "pick": "选择一条预警", "read": "标为已读", "unread": "标为未读",
                           "subject": "【绩效告警】"}),
    ("root", "en", 1440, {"title": "Alerts", "ack": "Acknowledge", "acked": "Acknowledged", "inbox": "Inbox",
                          "pick": "An alert", "open": "Open", "read": "Mark as read", "unread": "Mark as unread",
                          "subject": "【绩效告警】"}),
]


@pytest.mark.parametrize("name, lang, width, w", CASES, ids=["manager-zh-phone", "admin-en-desktop"])
def test_alert_is_shown_acknowledged_and_read_in_the_inbox(server, browser, warehouse_path, name, lang, width, w):
    pg = _page(browser, server, width)
    _sign_in(pg, server, name, f"alerts?lang={lang}", lang)
    wait_title(pg, w["title"])
    picked = pg.get_by_label(w["pick"], exact=True)  # the only alert firing is the one chosen
    pg.wait_for_function("l => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') === l "
                         "&& /^cash_red · .*\\(D1\\)$/.test(i.value))", arg=w["pick"])
    assert "cash_red" in picked.input_value()
    _clean(pg)
    shot(pg, f"alerts_{name}_{lang}_{width}_firing")
    if _state_of(warehouse_path, name) == "firing":  # the other case may have acknowledged it already
        pg.get_by_role("button", name=w["ack"], exact=True).click()
        pg.get_by_text(w["acked"]).first.wait_for()
        idle(pg)
        assert _state_of(warehouse_path, name) == "acknowledged"
    ack = pg.get_by_role("button", name=w["ack"], exact=True)
    assert ack.is_disabled()  # the table and the buttons follow at once
    _clean(pg)
    shot(pg, f"alerts_{name}_{lang}_{width}_acked")

    before = _menu(pg)
    count = re.search(rf"{w['inbox']}\s*[（(](\d+)[）)]", before)
    assert count, before
    pg.goto(f"{server}/inbox?lang={lang}")
    wait_title(pg, w["inbox"])
    idle(pg)
    message = pg.locator('[data-testid="stExpander"]').filter(has_text=w["subject"]).first
    message.locator("summary").click()
    message.get_by_text("cash_red").first.wait_for()
    assert message.get_by_role("link", name=w["open"]).count() == 1
    message.get_by_role("button", name=w["read"], exact=True).click()
    message.get_by_role("button", name=w["unread"], exact=True).wait_for()
    idle(pg)
    after = _menu(pg)
    left = re.search(rf"{w['inbox']}\s*[（(](\d+)[）)]", after)
    assert (int(left.group(1)) if left else 0) == int(count.group(1)) - 1, after
    _clean(pg)
    shot(pg, f"inbox_{name}_{lang}_{width}_read")
    message.get_by_role("link", name=w["open"]).click()  # the link opens the unit's cockpit
    pg.wait_for_function("() => location.pathname.endsWith('/cockpit') || location.search.includes('org=D1')")
    wait_title(pg, "华东销售事业部")
    _clean(pg)
    assert pg.outside == [], pg.outside
    pg.context.close()
