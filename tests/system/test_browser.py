"""The app in headless Chromium against `serve.py` (what `make run` starts) on a free port, on a copy of the demo
company: an upload (errors first, then a fixed file, then the cockpit shows it), an executive's
drill-down by clicking and back by breadcrumb, the English switch, a manager building a board
that another user cannot open, and a team lead who sees only their team and is refused rows of
another team. Everyone signs in through the form. Screenshots go to test-artifacts/browser/."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
EXAMPLES = ROOT / "data" / "examples"


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI=true: browser tests must run)")
        pytest.skip(why)


@pytest.fixture(scope="module")
def server(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    yield from serve(path)


def wait_up(url: str, proc: subprocess.Popen, out, log: Path, seconds: float) -> None:
    """Until the app at `url` answers its health check; else stop it and fail with its log's end."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    proc.kill()
    out.close()
    pytest.fail(f"the app did not start: {log.read_text(errors='replace')[-3000:]}")


def serve(path: Path):
    """The app as `make run` starts it (serve.py) on a free port over the warehouse at `path`: yields its URL."""
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (make test installs it as root with apt)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _need(False, "the playwright package is missing (requirements-dev.txt)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KPI_WAREHOUSE": str(path), "KPI_TODAY": DEMO_TODAY.isoformat()}
    # The server's output goes to a file: a pipe nobody reads fills up and blocks the server.
    log = ARTIFACTS.parent / f"browser-server-{path.parent.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "serve.py", "--server.port", str(port),  # as make run starts it
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none"],  # the code does not change under a test
                            cwd=ROOT, env=env, stdout=(out := log.open("wb")), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, out, log, 60)
    try:
        yield url
    finally:  # also when the caller closes the generator early (servers.close())
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


@pytest.fixture(scope="module")
def browser(server):
    yield from launch()


def launch():
    """Debian's Chromium, headless, through Playwright: yields the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    ctx.close()


PASSWORD = "browser-test-pw"


def _people(path: Path) -> None:
    """Passwords for the demo's users, an admin, and a private board of the executive's."""
    from kpi_core.auth import users
    from kpi_core.store import boards
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(path)
    users.add(wh, "root", "admin", password=PASSWORD)
    for name in ("ceo", "mgr_d1", "lead_t1", "emp_p0001"):
        users.set_password(wh, name, PASSWORD)
    boards.save(wh, boards.Board(code="ceo_private", title="总裁私人看板", owner="ceo",
                                 tiles=[{"type": "kpi_card", "metrics": ["revenue"]}]))


def sign_in(pg, server: str, name: str, path: str = "") -> None:
    """Open a link, meet the sign-in form, sign in: the app then shows the page the link asked for."""
    pg.goto(f"{server}/{path}")
    wait_title(pg, "登录")
    pg.get_by_label("用户名").fill(name)
    pg.get_by_label("密码").fill(PASSWORD)
    pg.get_by_role("button", name="登录", exact=True).click()
    pg.wait_for_function("() => { const h = document.querySelector('h1'); return h && !h.innerText.includes('登录'); }")


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.5)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def title(pg) -> str:
    return pg.locator("h1").first.inner_text()


def wait_title(pg, text: str) -> None:
    pg.wait_for_function("t => document.querySelector('h1') && document.querySelector('h1').innerText.includes(t)",
                         arg=text)


def test_an_upload_shows_errors_then_loads_and_the_cockpit_shows_it(server, page):
    sign_in(page, server, "root", "?org=D1-SAL-T1&period=2026-10")
    wait_title(page, "华东销售一组")
    page.get_by_role("tab", name="平衡计分卡").click()
    page.get_by_text(re.compile(r"在岗人数: 9 \(")).wait_for()  # headcount before the upload
    page.goto(f"{server}/upload?org=D1-SAL")
    wait_title(page, "数据上报")
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(str(EXAMPLES / "broken_actuals.xlsx"))
    page.get_by_text(re.compile(r"有 \d+ 处错误")).wait_for()
    assert page.get_by_text(re.compile(r"有 11 处错误，未写入任何数据")).count() == 1
    page.get_by_text("下载标注了错误的文件").wait_for()
    shot(page, "a1_upload_errors")
    uploader.set_input_files(str(EXAMPLES / "团队月度实绩_宽表_2026.xlsx"))
    page.get_by_role("button", name="确认写入").wait_for()
    assert page.get_by_text(re.compile(r"将有 55 个单元格变化")).count() == 1
    shot(page, "a2_upload_preview")
    page.get_by_role("button", name="确认写入").click()
    page.get_by_text(re.compile(r"已写入批次 \d+")).first.wait_for()
    shot(page, "a3_uploaded")
    page.goto(f"{server}/?org=D1-SAL-T1&period=2026-10")
    wait_title(page, "华东销售一组")
    page.get_by_role("tab", name="平衡计分卡").click()
    page.get_by_text(re.compile(r"在岗人数: 15 \(")).wait_for()  # the uploaded October headcount
    shot(page, "a4_cockpit_after_upload")


def test_executive_drills_by_clicking_and_back_by_breadcrumb(server, page):
    sign_in(page, server, "ceo")
    wait_title(page, "华锐智能制造集团")
    shot(page, "b1_company")
    # a click on the heat map: the first column is the first division
    heat = page.locator('[data-testid="stVegaLiteChart"]').first
    heat.locator(".mark-rect path").first.click()
    wait_title(page, "华东销售事业部")
    assert "org=D1" in page.url
    for unit in ("华东销售部", "华东销售一组"):
        page.get_by_role("button", name=f"↓ {unit}").click()
        wait_title(page, unit)
    assert "org=D1-SAL-T1" in page.url
    shot(page, "b2_team")
    page.get_by_role("button", name="华锐智能制造集团").click()
    wait_title(page, "华锐智能制造集团")
    assert "org=HQ" in page.url
    # the period too: from the month to its year, then down to a quarter
    page.get_by_role("button", name="2026", exact=True).click()
    page.get_by_role("button", name="2026-Q3").click()
    page.wait_for_url(re.compile(r"period=2026-Q3"))
    shot(page, "b3_back_to_company")


@pytest.mark.parametrize("user, link, unit, kpis, absent", [
    ("root", "?org=D3-PRD&period=2026-10", "智装生产部", ("一次交检合格率", "不良率", "安全事故数"), "销售收入"),
    ("emp_p0001", "", "曾娟玲", ("销售收入", "毛利率", "活跃客户数"), "安全事故数"),
])
def test_a_production_department_and_a_person_see_their_own_kpis(server, page, user, link, unit, kpis, absent):
    """Issue 13: each unit opens on its own scorecard, not on the company's sales cards."""
    sign_in(page, server, user, link)
    wait_title(page, unit)
    page.get_by_text("按本单位自己的计分卡考核").wait_for()
    page.get_by_text("核心指标", exact=True).wait_for()  # the headline cards come after the scorecard line
    idle(page)
    cards = page.locator('[data-testid="stMetric"]')
    labels = [cards.nth(i).locator('[data-testid="stMetricLabel"]').inner_text() for i in range(cards.count())]
    assert all(any(k in label for label in labels) for k in kpis), labels
    assert not [x for x in labels if absent in x]  # production is not judged on sales, nor a salesperson on safety
    assert page.locator("text=无数据 >> visible=true").count() == 0  # no "no data" card
    shot(page, f"d_{user}_own_kpis")


def test_switching_to_english_changes_the_labels(server, page):
    sign_in(page, server, "root")
    wait_title(page, "驾驶舱")
    page.get_by_text("English").click()
    wait_title(page, "Cockpit")
    page.get_by_text("Overall score").first.wait_for()
    assert page.get_by_text("Headline KPIs").count() == 1
    shot(page, "c1_english")
    assert "lang=en" in page.url



def idle(page) -> None:
    """Wait until the app has finished its rerun (a component's first value starts another)."""
    time.sleep(0.5)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    time.sleep(0.5)


def _add_tile(page, kind: str, metric: str, title: str) -> None:
    idle(page)
    page.get_by_label("图块类型").click()
    page.get_by_role("option", name=kind, exact=True).click()
    box = page.locator('[data-testid="stMultiSelect"]').first
    box.locator("input").click()
    box.locator("input").fill(metric)
    page.get_by_role("option", name=metric, exact=True).click()
    page.keyboard.press("Escape")
    page.get_by_label("标题（可选）").fill(title)
    page.get_by_role("button", name="添加", exact=True).click()
    page.locator(f"text={title}").first.wait_for()
    time.sleep(1)


def _sorted_labels(page) -> list[str]:
    items = page.frame_locator('iframe[title*="sortable"]').first.locator(".sortable-item")
    items.first.wait_for()
    return items.all_inner_texts()


def test_manager_builds_a_board_from_scratch(server, page, browser):
    sign_in(page, server, "mgr_d1", "boards?lang=zh")
    wait_title(page, "集团平衡计分卡")
    page.get_by_role("button", name="新建看板").click()
    page.get_by_label("看板编码（小写字母、数字、下划线）").fill("my_sales")
    page.get_by_label("看板标题").first.fill("我的销售看板")
    page.get_by_role("button", name="创建").click()
    wait_title(page, "编辑看板")
    _add_tile(page, "指标卡", "销售收入", "T1 收入")
    _add_tile(page, "趋势图", "毛利", "T2 毛利趋势")
    _add_tile(page, "单位柱状图", "订单数", "T3 各单位订单")
    labels = _sorted_labels(page)
    assert [x.split(" · ", 1)[1] for x in labels] == ["T1 收入", "T2 毛利趋势", "T3 各单位订单"]
    # drag the first tile past the third
    items = page.frame_locator('iframe[title*="sortable"]').first.locator(".sortable-item")
    src, dst = items.nth(0).bounding_box(), items.nth(2).bounding_box()
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(src["x"] + src["width"] / 2 + (dst["x"] + dst["width"] * 0.9 - src["x"] - src["width"] / 2)
                        * i / 20, src["y"] + src["height"] / 2 + (dst["y"] - src["y"]) * i / 20)
        time.sleep(0.03)
    page.mouse.up()
    idle(page)
    deadline = time.time() + 30
    while time.time() < deadline and _sorted_labels(page)[0].find("T2 毛利趋势") < 0:
        time.sleep(0.5)
    assert [x.split(" · ", 1)[1] for x in _sorted_labels(page)] == ["T2 毛利趋势", "T3 各单位订单",
                                                                                "T1 收入"]
    # the board's period filter
    page.get_by_label("期间").first.click()
    page.keyboard.type("2026-08")
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"· 2026-08 ·")).first.wait_for()  # the tiles' place line
    idle(page)
    shot(page, "d1_board_built")
    page.get_by_label("原因").fill("first version")
    idle(page)
    page.get_by_role("button", name="保存看板").click()
    page.wait_for_function("() => { const h = document.querySelector('h1'); "
                           "return h && h.innerText.startsWith('我的销售看板'); }")  # saved: no longer editing
    # reopen it from a fresh page: the order, the tiles and the filter are kept
    page.goto(f"{server}/boards?board=my_sales&lang=zh")
    wait_title(page, "我的销售看板")
    page.get_by_text("T1 收入").wait_for()
    titles = page.locator('[class*="st-key-tile_"] strong').all_inner_texts()
    assert titles[:2] == ["T2 毛利趋势", "T3 各单位订单"], titles
    assert page.get_by_text(re.compile(r"· 2026-08 ·")).count() >= 1
    shot(page, "d2_board_reopened")
    # a click on a unit's bar filters the other tiles to that unit
    bars = page.locator('[class*="st-key-tile_"]').filter(has_text="T3 各单位订单")
    bars.locator('[data-testid="stVegaLiteChart"] .mark-rect path, [data-testid="stVegaLiteChart"] '
                 '.role-mark.marks path').first.click()
    page.get_by_text(re.compile("已按 .+ 筛选")).wait_for()
    card = page.locator('[class*="st-key-tile_"]').filter(has_text="T1 收入")
    assert "华锐智能制造集团" not in card.inner_text()
    shot(page, "d3_cross_filtered")
    # another user, without access to this private board, cannot open it, not even by its link
    other = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    other.set_default_timeout(90_000)
    sign_in(other, server, "lead_t1", "boards?board=my_sales&lang=zh")
    other.get_by_text(re.compile("没有看板 my_sales")).wait_for()
    assert "我的销售看板" not in other.content()
    shot(other, "d4_board_refused_to_another_user")
    other.context.close()


def _download(page, name: str) -> bytes:
    with page.expect_download() as dl:
        page.get_by_role("button", name=name).click()
    return Path(dl.value.path()).read_bytes()


def test_team_lead_sees_only_their_team_and_cannot_load_another_teams_rows(server, page, tmp_path):
    import io

    import openpyxl

    sign_in(page, server, "lead_t1", "?org=HQ&period=2026-10&lang=zh")  # a link to the company
    wait_title(page, "华东销售一组")  # lands on their own team, not the company
    page.get_by_role("button", name=re.compile("^↓ ")).first.wait_for()  # the title renders first
    idle(page)
    drill = page.get_by_role("button", name=re.compile("^↓ ")).all_inner_texts()
    assert drill and all(re.match(r"↓ \S+", d) for d in drill)
    assert page.get_by_role("button", name="华锐智能制造集团").is_disabled()  # above their team
    assert page.get_by_role("button", name=re.compile("华东销售二组")).count() == 0
    shot(page, "e1_team_lead_cockpit")
    # boards: the private board of the executive is neither listed nor opened by its link
    page.goto(f"{server}/boards?board=ceo_private&lang=zh")
    page.get_by_text("ceo_private").first.wait_for()
    assert "总裁私人看板" not in page.content()
    shot(page, "e2_team_lead_boards")
    # the template holds their team's people only
    page.goto(f"{server}/upload?lang=zh")
    wait_title(page, "数据上报")
    wb = openpyxl.load_workbook(io.BytesIO(_download(page, re.compile("下载.*模板"))))
    codes = {str(r[0].value) for ws in wb for r in ws.iter_rows(min_row=1) if r[0].value}
    assert "D1-SAL-T1" in codes and "P0001" in codes
    assert not codes & {"D1-SAL-T2", "P0010", "HQ", "D1"}, codes
    # a file with a row for another team's person is refused, naming that row
    upload = tmp_path / "两组混合.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["指标", "组织", "期间", "实际值"])
    book.active.append(["headcount", "D1-SAL-T1", "2026-10", 9])
    book.active.append(["headcount", "D1-SAL-T2", "2026-10", 7])
    book.save(upload)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text(re.compile(r"有 1 处错误，未写入任何数据")).wait_for()
    shot(page, "e3_team_lead_refused")
    assert page.get_by_role("button", name="确认写入").count() == 0
    marked = openpyxl.load_workbook(io.BytesIO(_download(page, "下载标注了错误的文件")))
    listed = " ".join(str(c.value) for ws in marked for row in ws.iter_rows() for c in row if c.value is not None)
    assert "D1-SAL-T2 不在你可上报实际值的组织范围内（D1-SAL-T1）" in listed  # the workbook speaks Chinese too


def test_a_workbook_with_several_data_sheets_asks_which_to_read(server, page, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["请在 9月 或 10月 表中填报"])
    for title, value in (("9月", 11), ("10月", 12)):
        ws = book.create_sheet(title)
        ws.append(["指标", "组织", "期间", "实际值"])
        ws.append(["headcount", "D1-SAL-T1", f"2026-{title[:-1].zfill(2)}", value])
    book.active = 0  # it opens on the instructions
    path = tmp_path / "两个月.xlsx"
    book.save(path)
    sign_in(page, server, "root", "upload?org=D1-SAL-T1&lang=zh")  # an earlier test made English root's choice
    wait_title(page, "数据上报")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text("有多个工作表有数据（9月, 10月）").wait_for()
    shot(page, "f1_which_sheet")
    page.get_by_label("工作表").click()
    page.get_by_role("option", name="10月").click()
    page.get_by_role("button", name="确认写入").wait_for()
    assert page.get_by_text(re.compile(r"将有 1 个单元格变化")).count() == 1
    shot(page, "f2_sheet_chosen")
