"""Hostile names and ended sessions, in headless Chromium against `streamlit run`.

A unit, a metric, a board and its tiles are named with markdown and HTML (a link, an image, an
autolink, an <img> tag); links carry the same in `?org=` and `?board=`; an upload's file name
too. Every page is walked as an admin and as the team lead whose team bears the name: nothing
users wrote may become an <a> or an <img> the app did not make, and the browser may make no
request outside the app's own origin. Then a signed-in user is disabled from the CLI, and their
next click, or a live board's next refresh, lands on the sign-in page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpi_core.ingest.org_file import import_org
from tests.system.test_browser import ARTIFACTS, PASSWORD, _people, idle, launch, serve, sign_in, wait_title

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

LINK = "[点我](http://evil.example/u)"
IMAGE = "![x](http://evil.example/u.png)"
TAG = "<img src=http://evil.example/t.png>"
AUTO = "www.evil.example"
UNIT = f"华东一组{IMAGE}{LINK}{TAG}{AUTO}"
METRIC = f"销售收入{LINK}{IMAGE}"
BOARD = f"恶意看板{IMAGE}{LINK}"


def _hostile(path: Path) -> None:
    """The demo, with a team, a metric, a board and its tiles named with markup."""
    import yaml

    from kpi_core.store import boards, dictionary
    from kpi_core.store.warehouse import open_warehouse

    _people(path)
    wh = open_warehouse(path)
    tree_file = path.with_name("rename.csv")
    tree_file.write_text(f'code,name,parent\nD1-SAL-T1,"{UNIT}",D1-SAL\n', encoding="utf-8")
    assert import_org(wh, tree_file).batch
    revenue = dictionary.current(wh)["revenue"].definition()
    revenue.update(name=METRIC, name_en=f"Revenue{LINK}", description=f"{IMAGE} {LINK} {TAG} {AUTO}")
    metric_file = path.with_name("metric.yaml")
    metric_file.write_text(yaml.safe_dump({"metrics": [revenue]}, allow_unicode=True), encoding="utf-8")
    dictionary.apply(wh, metric_file, reason="hostile names")
    boards.save(wh, boards.Board(code="evil", title=BOARD, share="everyone", refresh_seconds=10, tiles=[
        {"type": "kpi_card", "metrics": ["revenue"], "title": f"卡片{LINK}"},
        {"type": "bar_by_org", "metrics": ["revenue"], "title": f"柱图{IMAGE}", "org": "D1-SAL"},
        {"type": "text", "text": f"说明{LINK}{TAG}"}]))


@pytest.fixture(scope="module")
def hostile(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _hostile(path)
    for url in serve(path):
        yield url, path


@pytest.fixture(scope="module")
def chromium(hostile):
    yield from launch()


class Visit:
    """A browser tab that records every request it makes."""

    def __init__(self, browser, width: int = 1440, locale: str = "zh-CN"):
        self.ctx = browser.new_context(viewport={"width": width, "height": 1400}, locale=locale)
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(90_000)
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))

    def close(self) -> None:
        self.ctx.close()


# Every <a> and image the page holds whose address leaves the app's origin.
FOREIGN = """() => {
  const out = [];
  const foreign = (s) => { const u = new URL(s, location.href);
                           return u.origin !== location.origin && !['data:', 'blob:'].includes(u.protocol); };
  for (const a of document.querySelectorAll('a[href]')) if (foreign(a.getAttribute('href'))) out.push(a.outerHTML);
  for (const i of document.querySelectorAll('img[src], image[href], source[srcset]')) {
    const s = i.getAttribute('src') || i.getAttribute('href') || i.getAttribute('srcset');
    if (foreign(s)) out.push(i.outerHTML);
  }
  // a name's markup made into a link; the app's own page links may carry such a name as text
  for (const a of document.querySelectorAll('a')) if (a.innerText.includes('点我') && !(
      ['stPageLink-NavLink', 'stSidebarNavLink'].includes(a.dataset.testid) && a.innerText.includes('[点我]('))) {
    out.push(a.outerHTML);
  }
  return out;
}"""


def check(v: Visit, server: str, name: str) -> str:
    """Nothing on the page links or points outside, and no request left the origin; returns the text."""
    idle(v.page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    texts = [_shown(v, name)]
    for i, tab in enumerate(v.page.get_by_role("tab").all()):  # every tab's content (built when opened)
        tab.click()
        idle(v.page)
        texts.append(_shown(v, f"{name}_tab{i}"))
    outside = [u for u in v.requests if not u.startswith(server) and not u.startswith(("data:", "blob:"))]
    assert outside == [], (name, outside)
    return "\n".join(texts)


def _shown(v: Visit, name: str) -> str:
    """The page as it is now: a screenshot, nothing pointing outside, no trace or NaN; its text."""
    v.page.screenshot(path=str(ARTIFACTS / f"h_{name}.png"), full_page=True)
    assert v.page.evaluate(FOREIGN) == [], name
    text = v.page.locator("body").inner_text().replace("\u2060", "")  # the word joiner that keeps a URL text
    assert "Traceback" not in text and "NaN" not in text, name
    return text


PAGES = [  # (name, path, text that must show, as written)
    ("cockpit_division", "?org=D1-SAL&period=2026-10", LINK),
    ("cockpit_team", "?org=D1-SAL-T1&period=2026-10", UNIT),
    ("board", "boards?board=evil", BOARD),
    ("metrics", "metrics", METRIC),
    ("upload", "upload?org=D1-SAL-T1", LINK),
    ("targets", "targets?org=D1-SAL-T1", LINK),
    ("admin", "admin", "管理"),
    ("overview", "overview", "概览"),
    ("bad_org_link", "?org=" + LINK, LINK),
    ("bad_board_link", "boards?board=" + LINK, LINK),
]


@pytest.mark.parametrize("who, width", [("root", 1440), ("lead_t1", 390)])
def test_markup_in_names_and_links_stays_text_on_every_page(hostile, chromium, who, width):
    server, _path = hostile
    v = Visit(chromium, width)
    try:
        sign_in(v.page, server, who, "?lang=zh")  # a language chosen in another test does not carry over
        for name, path, shown in PAGES:
            if who != "root" and name in ("targets", "admin", "overview", "metrics", "cockpit_division"):
                continue  # not in a team lead's menu, or above their team
            v.page.goto(f"{server}/{path}")
            v.page.wait_for_function("() => document.querySelector('h1')")
            if name == "bad_org_link":  # the toast that says so goes away after a while: read it now
                toast = v.page.locator('[data-testid="stToast"]')
                toast.wait_for()
                assert "链接中的位置无效：组织单元“[点我](http://evil.example/u)”不存在" in \
                    toast.inner_text().replace("\u2060", "")
                assert v.page.evaluate(FOREIGN) == []
            if name == "metrics":
                v.page.get_by_label("搜索").fill("点我")  # only the metric named with markup
                v.page.keyboard.press("Enter")
            text = check(v, server, f"{who}_{name}")
            assert shown in text, (name, shown)  # shown whole, as its author wrote it
    finally:
        v.close()


def test_an_upload_named_with_markup_is_named_as_text(hostile, chromium, tmp_path):
    server, _path = hostile
    v = Visit(chromium)
    try:
        sign_in(v.page, server, "root", "upload?org=D1-SAL-T1&lang=zh")
        wait_title(v.page, "数据上报")
        bad = tmp_path / "![x](http:evil.example)[点我](http:evil.example).csv"
        bad.write_text("metric,org,period,actual\nrevenue,NOPE,2026-10,1\n", encoding="utf-8")
        v.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
        v.page.get_by_text(re.compile(r"有 1 处错误")).wait_for()
        text = check(v, server, "upload_named")
        assert f"{bad.name} 有 1 处错误" in text
    finally:
        v.close()


def test_english_and_the_drill_buttons_keep_names_as_text(hostile, chromium):
    server, _path = hostile
    v = Visit(chromium, locale="en-US")
    try:
        sign_in(v.page, server, "root", "?org=D1-SAL&period=2026-10")
        v.page.get_by_text("English").click()
        wait_title(v.page, "Cockpit")
        check(v, server, "cockpit_en")
        v.page.get_by_role("tab", name="Attainment heat map").click()
        drill = v.page.get_by_role("button", name=re.compile("^↓ 华东一组"))  # a drill button named with markup
        assert drill.inner_text().replace("\u2060", "") == f"↓ {UNIT}"
        drill.click()
        v.page.wait_for_function("() => document.querySelector('h1').innerText.includes('华东一组!')")
        assert f"Cockpit · {UNIT}" in check(v, server, "cockpit_en_team")
    finally:
        v.close()


def _cli(path: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(path), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_user_disabled_from_the_cli_is_signed_out_at_the_next_click(hostile, chromium):
    server, path = hostile
    v = Visit(chromium)
    try:
        sign_in(v.page, server, "lead_t1", "?period=2026-10&lang=zh")
        wait_title(v.page, "驾驶舱")
        idle(v.page)
        _cli(path, "users", "set", "lead_t1", "--disable", "--reason", "left")
        v.page.get_by_role("button", name="2026", exact=True).click()  # the next click
        wait_title(v.page, "登录")
        assert v.page.get_by_text("你的登录已结束").count() == 1
        v.page.screenshot(path=str(ARTIFACTS / "h_disabled_next_click.png"), full_page=True)
        v.page.goto(f"{server}/?period=2026-10")  # the cookie no longer signs them in either
        wait_title(v.page, "登录")
    finally:
        _cli(path, "users", "set", "lead_t1", "--enable")
        v.close()


def test_a_live_board_signs_out_a_disabled_user_at_its_next_refresh(hostile, chromium):
    """The board refreshes every 10 s in a fragment, which reruns without app.py: the fragment
    checks the session itself. Nobody clicks."""
    server, path = hostile
    v = Visit(chromium)
    try:
        sign_in(v.page, server, "mgr_d1", "boards?board=evil&lang=zh")
        wait_title(v.page, "恶意看板")
        idle(v.page)
        _passwd(path, "mgr_d1", PASSWORD + "-new")
        start = time.monotonic()
        wait_title(v.page, "登录")
        assert time.monotonic() - start < 60
        assert v.page.get_by_text("你的登录已结束").count() == 1
    finally:
        _passwd(path, "mgr_d1", PASSWORD)
        v.close()


def _passwd(path: Path, name: str, password: str) -> None:
    """A new password, set from the CLI: it ends the user's sessions."""
    done = subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(path), "users", "passwd", name,
                           "--password-stdin"], input=password + "\n", cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("first_url", ["cockpit", "admin", "common"])
def test_the_first_visit_to_a_new_server_goes_through_sign_in(demo_template, tmp_path, chromium, first_url):
    """Streamlit starts a new server in its legacy folder mode when `pages/` sits beside app.py: a
    first visit straight to a page would run it before sign-in, with every file of `pages/` in the
    sidebar. Each page leaves that mode first (pages/__init__.py), so the visit signs in."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    servers = serve(path)
    url = next(servers)
    try:
        ctx = chromium.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
        pg = ctx.new_page()
        pg.set_default_timeout(90_000)
        pg.goto(f"{url}/{first_url}?lang=zh")
        wait_title(pg, "登录")
        idle(pg)
        body = pg.inner_text("body")
        assert "common" not in body and "nav" not in body.split()  # no legacy sidebar of files
        assert not pg.locator("[data-testid='stMetric'], [data-testid='stDataFrame']").count()
        assert pg.get_by_label("用户名").count() == 1
        ctx.close()
    finally:
        servers.close()
