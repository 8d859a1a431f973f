"""A new company set up in the browser alone, as a newcomer would, without the CLI: the first
administrator, then the guided start's steps in order — org tree from the downloaded template,
a metric from the metric center's form, the company scorecard, targets and actuals from the
upload templates, a first board — until the start page says the company is set up and the
cockpit scores the metric. Screenshots go to test-artifacts/browser/."""

import io
import re

import openpyxl
import pytest

from tests.system.test_browser import PASSWORD, _add_tile, _download, idle, launch, serve, shot, wait_title
from tests.system.test_browser_metric_form import choose, field, fill

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from kpi_core.store.warehouse import open_warehouse

    path = tmp_path_factory.mktemp("newco") / "new.duckdb"
    open_warehouse(path).migrate()  # what `make run` leaves before anyone signs in: an empty warehouse
    yield from serve(path)


@pytest.fixture(scope="module")
def browser(server):
    yield from launch()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1400}, locale="zh-CN", accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    ctx.close()


def _fill(book_bytes: bytes, values: dict[tuple[str, str], float], path) -> None:
    """A template with `values` put in by (unit code, column header)."""
    book = openpyxl.load_workbook(io.BytesIO(book_bytes))
    ws = book.active
    header = {c.value: c.column for c in ws[3]}
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, ws.max_row + 1)}
    for (unit, column), v in values.items():
        ws.cell(row=rows[unit], column=header[column], value=v)
    book.save(path)


def _upload(page, path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_role("button", name="确认写入").click()
    page.get_by_text(re.compile(r"已写入批次 \d+")).first.wait_for()
    idle(page)


def _go(page, link: str) -> None:
    """Follow a link of the start page."""
    page.get_by_role("link", name=link).first.click()
    idle(page)


def test_a_new_company_is_set_up_in_the_browser_alone(server, page, tmp_path):
    # 1. the first administrator: the password rule is shown before any try
    page.goto(f"{server}/?lang=zh")
    page.get_by_text("首次使用：请创建管理员账号").wait_for()
    page.get_by_text("密码至少 10 个字符。").first.wait_for()
    page.get_by_role("textbox", name="用户名").fill("boss")
    page.get_by_role("textbox", name="密码", exact=True).fill(PASSWORD)
    page.get_by_role("textbox", name="再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="创建管理员").click()
    # 2. the empty cockpit leads to the guided start, not to a shell command
    page.get_by_text("仓库还是空的。请在「开始使用」页按步骤建立组织架构、指标和数据。").wait_for()
    assert "python -m" not in page.content()
    page.get_by_role("link", name="开始使用").last.click()
    wait_title(page, "开始使用")
    page.get_by_text("已完成 0/6 步").wait_for()
    shot(page, "n1_start_empty")
    # 3. the org tree from the downloaded template
    org = openpyxl.load_workbook(io.BytesIO(_download(page, "下载组织架构模板")))
    ws = org.active
    assert [c.value for c in ws[2]] == ["编码", "名称", "上级编码"]
    for row in (("NC", "新创科技", None), ("NC-S", "销售部", "NC"), ("NC-S1", "销售一组", "NC-S"),
                ("NC-M", "市场部", "NC")):
        ws.append(row)
    org.save(tmp_path / "组织.xlsx")
    _go(page, "去「管理」")
    wait_title(page, "管理")
    _upload(page, tmp_path / "组织.xlsx")
    page.get_by_text("共 4 个组织单元").wait_for()
    # 4. a metric from the metric center's form
    page.goto(f"{server}/start?lang=zh")
    wait_title(page, "开始使用")
    page.get_by_text("已完成 1/6 步").wait_for()
    _go(page, "去「指标中心」")
    _metric_from_the_form(page)
    # 5. the company scorecard from the default, in one click
    page.goto(f"{server}/start?lang=zh")
    page.get_by_text("已完成 2/6 步").wait_for()
    page.get_by_role("button", name="用默认计分卡起步").click()
    page.get_by_text("公司计分卡已建立").wait_for()
    page.get_by_text("已完成 3/6 步").wait_for()
    # 6. targets, then actuals, from the upload page's templates
    page.goto(f"{server}/upload?org=NC&lang=zh")
    wait_title(page, "数据上报")
    page.locator('[class*="st-key-tpl_kind"]').get_by_text("目标值").click()
    page.locator('[class*="st-key-tpl_subtree"]').get_by_text(re.compile("包含全部下级")).click()
    idle(page)
    targets = _download(page, re.compile("下载.*模板"))
    _fill(targets, {("NC-S1", "2026年11月"): 100, ("NC-M", "2026年11月"): 50}, tmp_path / "目标.xlsx")
    page.locator('[class*="st-key-up_kind"]').get_by_text("目标值").click()
    idle(page)
    _upload(page, tmp_path / "目标.xlsx")
    page.locator('[class*="st-key-tpl_kind"]').get_by_text("实际值").click()
    idle(page)
    actuals = _download(page, re.compile("下载.*模板"))
    _fill(actuals, {("NC-S1", "2026年11月"): 120, ("NC-M", "2026年11月"): 40}, tmp_path / "实际.xlsx")
    page.locator('[class*="st-key-up_kind"]').get_by_text("实际值").click()
    idle(page)
    _upload(page, tmp_path / "实际.xlsx")
    assert page.get_by_text("这些指标还没有目标").count() == 0  # targets came first
    shot(page, "n2_first_upload")
    # 7. a first board
    page.goto(f"{server}/boards?lang=zh")
    page.get_by_label("看板编码（小写字母、数字、下划线）").fill("first")
    page.get_by_label("看板标题").first.fill("第一个看板")
    page.get_by_role("button", name="创建").click()
    wait_title(page, "编辑看板")
    _add_tile(page, "指标卡", "新签合同额", "合同额")
    page.get_by_label("原因").fill("第一个看板")
    idle(page)
    page.get_by_role("button", name="保存看板").click()
    page.wait_for_function("() => { const h = document.querySelector('h1'); "
                           "return h && h.innerText.startsWith('第一个看板'); }")  # saved: no longer editing
    # 8. set up: the start page says so, the cockpit scores the metric
    page.goto(f"{server}/start?lang=zh")
    page.get_by_text("已完成 6/6 步").wait_for()
    page.get_by_text("公司已设置完毕").wait_for()
    shot(page, "n3_start_done")
    page.goto(f"{server}/?org=NC&period=2026-11&lang=zh")
    wait_title(page, "新创科技")
    # 120 + 40 against 100 + 50, rolled up to the company
    page.get_by_text(re.compile(r"目标: 150 · 达成率: 106\.7%")).first.wait_for()
    assert page.get_by_text("无目标").count() == 0
    shot(page, "n4_cockpit")


def _metric_from_the_form(page) -> None:
    """新签合同额 (contract value): uploaded monthly, a count, higher is better, summed up the tree."""
    idle(page)
    page.get_by_text("新建指标").first.click()
    idle(page)
    fill(page, "mf_new_0_code", "contract_value")
    fill(page, "mf_new_0_name", "新签合同额")
    fill(page, "mf_new_0_name_en", "Contract value")
    fill(page, "mf_new_0_unit", "count")
    choose(page, "mf_new_0_perspective", "财务")
    page.get_by_text("定义检查通过，可以保存。").first.wait_for()
    fill(page, "mf_new_0_reason", "第一个指标")
    field(page, "mf_new_0_save", "button").click()
    page.get_by_text("已新建指标“新签合同额”（contract_value）。").wait_for()
