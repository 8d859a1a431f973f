"""The app as users meet it, in headless Chromium: every kind of download gives a file that
opens; a screen follows each action without a reload; a refused page or unit is said; boards
are renamed, told apart and deleted in the browser. Screenshots go to test-artifacts/browser/."""

import io
import re
import shutil
import time
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from tests.system.test_browser import (
    PASSWORD,
    _download,
    _people,
    idle,
    launch,
    serve,
    shot,
    sign_in,
    wait_title,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("flows") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    for width in (1440, 390):
        _same_titles(path, width)
    yield from serve(path)


def _same_titles(path, width: int) -> None:
    """Two boards of one title by two owners, shared with everyone (a pair for each width's test)."""
    from kpi_core.store import boards
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(path)
    for owner in ("ceo", "mgr_d1"):
        boards.save(wh, boards.Board(code=f"weekly{width}_{owner}", title=f"每周经营{width}", owner=owner,
                                     share="everyone", tiles=[{"type": "kpi_card", "metrics": ["revenue"]}]))


@pytest.fixture(scope="module")
def browser(server):
    yield from launch()


@pytest.fixture(params=[1440, 390], ids=["desktop", "phone"])
def page(browser, request):
    ctx = browser.new_context(viewport={"width": request.param, "height": 1400}, locale="zh-CN",
                              accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    pg.width = request.param
    yield pg
    ctx.close()


def _download_in(pg, scope: str, name: str) -> bytes:
    """The file a download button inside the element of `scope` (a CSS selector) gives."""
    with pg.expect_download() as dl:
        pg.locator(scope).get_by_role("button", name=name, exact=True).first.click()
    return open(dl.value.path(), "rb").read()


def _open_sidebar(pg) -> None:
    """On a phone the sidebar starts closed."""
    if pg.width < 600 and not pg.get_by_role("radio").first.is_visible():
        pg.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button'
                   ).first.click()
        time.sleep(0.5)


def test_every_kind_of_download_gives_a_file_that_opens(server, page):
    from PIL import Image

    sign_in(page, server, "root", "boards?board=executive_bsc&lang=zh")
    wait_title(page, "集团平衡计分卡")
    page.locator('[class*="st-key-img_trend"]').wait_for()
    idle(page)
    # the board as a workbook: a cover sheet, then a sheet per tile
    book = openpyxl.load_workbook(io.BytesIO(_download(page, "导出 Excel")))
    assert len(book.sheetnames) > 5
    cover = " ".join(str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value is not None)
    assert "集团平衡计分卡" in cover
    # a chart tile as SVG and as PNG
    svg = _download_in(page, '[class*="st-key-img_trend"]', "SVG")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and len(list(root.iter())) > 20  # parses as an SVG drawing
    png = Image.open(io.BytesIO(_download_in(page, '[class*="st-key-img_trend"]', "PNG")))
    assert png.format == "PNG" and png.size[0] > 200 and png.size[1] > 100
    shot(page, f"g1_board_downloads_{page.width}")
    # the audit log as xlsx and csv, the org template
    page.goto(f"{server}/admin?lang=zh")
    wait_title(page, "管理")
    org = openpyxl.load_workbook(io.BytesIO(_download(page, "下载组织架构模板"))).active
    assert [c.value for c in org[2]] == ["编码", "名称", "上级编码"] and org["A3"].value == "HQ"
    page.get_by_role("tab", name="审计日志").click()
    audit = openpyxl.load_workbook(io.BytesIO(_download_in(page, '[data-testid="stMain"]', "导出 Excel"))).active
    assert audit.max_row > 1
    csv = _download_in(page, '[data-testid="stMain"]', "导出 CSV").decode("utf-8-sig")
    assert len(csv.splitlines()) == audit.max_row
    # the upload template
    page.goto(f"{server}/upload?org=D1-SAL-T1&lang=zh")
    wait_title(page, "数据上报")
    tpl = openpyxl.load_workbook(io.BytesIO(_download(page, re.compile("下载.*模板")))).active
    assert tpl["A4"].value == "D1-SAL-T1"


def test_each_screen_follows_its_action_without_a_reload(server, page, tmp_path):
    if page.width < 600:
        pytest.skip("one width is enough for the actions; the phone layout is looked at in the other tests")
    sign_in(page, server, "root", "admin?lang=zh")
    wait_title(page, "管理")
    count = page.get_by_text(re.compile(r"共 \d+ 个组织单元"))
    before = int(re.search(r"\d+", count.inner_text()).group())
    # the org import: the table below and its count show the new unit at once, the uploader empties
    org = tmp_path / "新团队.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["编码", "名称", "上级编码"])
    book.active.append(["D1-SAL-T9", "华东销售九组", "D1-SAL"])
    book.save(org)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(org))
    page.get_by_role("button", name="确认写入").click()
    page.get_by_text(re.compile(r"已写入批次 \d+：1 个组织单元")).wait_for()
    page.get_by_text(f"共 {before + 1} 个组织单元").wait_for()
    assert page.get_by_role("button", name="确认写入").count() == 0
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0
    shot(page, "g2_org_loaded")
    # an upload: after confirming, no preview or button of the file loaded; the batch is listed
    page.goto(f"{server}/upload?org=D1-SAL-T1&period=2026-10&lang=zh")
    wait_title(page, "数据上报")
    facts = tmp_path / "十月人数.csv"
    facts.write_text("metric,org,period,value\nheadcount,D1-SAL-T1,2026-10,21\n", encoding="utf-8")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(facts))
    page.get_by_role("button", name="确认写入").click()
    done = page.get_by_text(re.compile(r"已写入批次 (\d+)"))
    done.first.wait_for()
    batch = re.search(r"已写入批次 (\d+)", done.first.inner_text()).group(1)
    idle(page)
    assert page.get_by_role("button", name="确认写入").count() == 0
    assert page.get_by_text(re.compile("将有 .* 个单元格变化")).count() == 0
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0
    revert_box = page.locator('[class*="st-key-revert_id"] input')
    assert revert_box.input_value() == batch  # the newest batch, listed now
    shot(page, "g3_uploaded")
    # a revert: said, and the batch is no longer offered for reverting
    page.get_by_label("原因").last.fill("填错了")
    page.get_by_role("button", name="撤销该批次").click()
    page.get_by_text(f"批次 {batch} 已撤销，之前的数值已恢复。").wait_for()
    idle(page)
    assert revert_box.input_value() != batch
    shot(page, "g4_reverted")


def test_a_refused_page_or_unit_is_said(server, page):
    sign_in(page, server, "emp_p0001", "admin?lang=zh")
    page.get_by_text("「管理」页面只对以下角色开放：管理员。已为你打开驾驶舱。").wait_for()
    wait_title(page, "驾驶舱")
    shot(page, f"g5_page_refused_{page.width}")
    # signed in, a page outside the menu by its address: said in the UI language, never
    # Streamlit's own English "Page not found"
    page.goto(f"{server}/admin?lang=zh")
    page.get_by_text("「管理」页面只对以下角色开放：管理员。已为你打开驾驶舱。").wait_for()
    wait_title(page, "驾驶舱")
    assert page.get_by_text("Page not found").count() == 0
    assert [a.inner_text() for a in page.locator('[data-testid="stSidebarNavLink"]').all()
            if a.is_visible() and "admin" in (a.get_attribute("href") or "")] == []
    page.goto(f"{server}/?org=HQ&lang=zh")
    page.get_by_text(re.compile("链接中的单位「HQ」不在你的查看范围内，已打开「曾娟玲")).wait_for()
    assert "华锐智能制造集团" not in page.locator("h1").first.inner_text()
    page.goto(f"{server}/?org=HQ&lang=en")
    page.get_by_text(re.compile('The unit "HQ" in the link is outside what you may see')).wait_for()
    shot(page, f"g6_unit_refused_{page.width}")


def test_boards_are_told_apart_renamed_and_deleted_in_the_browser(server, page):
    title = f"每周经营{page.width}"
    sign_in(page, server, "root", f"boards?board=weekly{page.width}_ceo&lang=zh")
    wait_title(page, title)
    _open_sidebar(page)
    listed = page.locator('[data-testid="stSidebar"] [role="radiogroup"]').last.inner_text()
    assert f"{title} · ceo" in listed and f"{title} · mgr_d1" in listed
    # the tile list while editing names tiles by place and title, not by internal ids
    page.goto(f"{server}/boards?board=executive_bsc&lang=zh")
    wait_title(page, "集团平衡计分卡")
    page.get_by_role("button", name="编辑", exact=True).click()
    wait_title(page, "编辑看板")
    items = page.frame_locator('iframe[title*="sortable"]').first.locator(".sortable-item")
    items.first.wait_for()
    labels = items.all_inner_texts()
    assert labels[0].startswith("1. ") and not any(re.search(r"\[[0-9a-f]{6,}\]", x) for x in labels), labels
    page.get_by_role("button", name="取消").click()
    # rename, then delete, from the board's manage menu
    page.goto(f"{server}/boards?board=weekly{page.width}_mgr_d1&lang=zh")
    wait_title(page, title)
    page.get_by_role("button", name="管理").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("看板标题").fill(f"{title}（新）")
    dialog.get_by_role("button", name="重命名").click()
    wait_title(page, f"{title}（新）")
    shot(page, f"g7_board_renamed_{page.width}")
    page.get_by_role("button", name="管理").click()
    dialog.get_by_role("button", name="删除看板").click()
    dialog.get_by_text("请先勾选确认框，再删除看板。").wait_for()  # not deleted without saying so
    shot(page, f"g7b_board_delete_unconfirmed_{page.width}")
    dialog.get_by_text(f"我确定要删除「{title}（新）」").click()
    dialog.get_by_role("button", name="删除看板").click()
    page.get_by_text(f"看板「{title}（新）」已删除（保留在版本历史中）。").wait_for()
    _open_sidebar(page)
    assert f"{title}（新）" not in page.locator('[data-testid="stSidebar"]').inner_text()
    shot(page, f"g8_board_deleted_{page.width}")


def test_a_new_users_password_rule_is_shown_before_a_try(server, page):
    sign_in(page, server, "root", "admin?lang=zh")
    wait_title(page, "管理")
    page.get_by_role("tab", name="用户").click()
    page.get_by_text("密码至少 10 个字符。").first.wait_for(state="attached")
    assert PASSWORD  # the same users as the other browser tests
