"""A review cycle in headless Chromium: the manager moves it from the manager review through
calibration to closed, rates, calibrates with a reason, and downloads the person's packet as PDF
and Excel, which open (the PDF's Chinese read back as text); the person, on a phone in English,
sees their frozen review and peers only as an average. No request leaves the app's origin; no
page says NaN or shows a raw message code."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest

from kpi_core.auth import users
from kpi_core.services import reviews as service
from kpi_core.store.warehouse import open_warehouse
from tests.system.test_browser import _people, idle, launch, serve, shot, wait_title
from tests.system.test_browser_alerts import _page, _sign_in

pytestmark = pytest.mark.slow
PEERS = ("emp_p0002", "emp_p0003", "emp_p0004")
RAW = re.compile(r"\b(nan|NaN|None|(?:rv|ui|review)_[a-z_]+)\b")


@pytest.fixture(scope="module")
def server(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser_reviews") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    wh = open_warehouse(path)
    for n in range(2, 5):
        users.add(wh, f"emp_p000{n}", "employee", orgs=[f"P000{n}"])
    for url in serve(path):
        yield url, path


def others_rate(path: Path) -> None:
    """The person's self rating and three peers', given in their own sessions meanwhile."""
    wh = open_warehouse(path)
    service.rate(wh, "2026-Q3", "P0001", "self", 4, comment="完成了华东大客户续约", by=users.actor(wh, "emp_p0001"))
    for rater, score in zip(PEERS, (3, 4, 5), strict=True):
        service.rate(wh, "2026-Q3", "P0001", "peer", score, comment=f"同事意见 {score}", by=users.actor(wh, rater))


@pytest.fixture(scope="module")
def browser(server):
    yield from launch()


def pick(pg, label: str, option: str) -> None:
    """One more option of a multiselect, typed and chosen."""
    box = pg.locator('[data-testid="stMultiSelect"]').filter(has_text=label).first
    box.locator("input").click()
    box.locator("input").fill(option)
    pg.get_by_role("option", name=option, exact=True).click()
    pg.keyboard.press("Escape")


def clean(pg) -> None:
    shown = pg.locator('[data-testid="stMain"]').inner_text()
    assert not RAW.search(shown), RAW.findall(shown)
    assert pg.outside == []


def button(pg, name: str) -> None:
    pg.get_by_role("button", name=name, exact=True).click()
    idle(pg)


def tab(pg, name: str) -> None:
    pg.get_by_role("tab", name=name).click()
    idle(pg)


def choose(pg, label: str, option: str) -> None:
    pg.get_by_label(label, exact=True).click()
    pg.get_by_role("option", name=option, exact=True).click()
    idle(pg)


def download(pg, name: str) -> bytes:
    with pg.expect_download() as dl:
        pg.get_by_role("button", name=name, exact=True).click()
    return Path(dl.value.path()).read_bytes()


def test_the_manager_takes_a_cycle_from_open_to_closed_and_downloads_the_packet(server, browser):
    server, path = server
    pg = _page(browser, server, 1440)
    _sign_in(pg, server, "mgr_d1", "reviews?lang=zh", "zh")
    wait_title(pg, "考评")
    idle(pg)
    pg.get_by_text("还没有考评周期，请在上方开启。").wait_for()
    pg.get_by_text("开启考评周期").click()
    pg.get_by_role("textbox", name="周期名称").fill("2026-Q3")
    pg.get_by_role("textbox", name="考核期间").fill("2026-Q3")
    button(pg, "开启")
    pg.get_by_text("已开启考评周期 2026-Q3：2026-Q3，华东销售事业部 (D1) 及其下级。").wait_for()
    clean(pg)
    tab(pg, "团队与评价人")
    choose(pg, "人员", "曾娟玲 (P0001)")
    for rater in PEERS:
        pick(pg, "同事", rater)
    button(pg, "保存评价人")
    pg.get_by_text("已保存 曾娟玲 (P0001) 的评价人（3 人）。").wait_for()
    shot(pg, "rv_0_raters_zh_1440")
    button(pg, "进入下一阶段：自评")
    pg.get_by_text("考评周期 2026-Q3 当前阶段：自评。").wait_for()
    others_rate(path)
    button(pg, "进入下一阶段：上级评价")
    pg.get_by_text("考评周期 2026-Q3 当前阶段：上级评价。").wait_for()
    tab(pg, "待我评分")
    choose(pg, "评分对象", "曾娟玲 (P0001) · 上级")
    pg.get_by_label("评语").fill("稳定完成目标，客户口碑好")
    button(pg, "保存评分")
    pg.get_by_text("已保存评分：曾娟玲 (P0001)（上级）。").wait_for()
    shot(pg, "rv_1_rated_zh_1440")
    button(pg, "进入下一阶段：校准")
    tab(pg, "校准")
    pg.get_by_text("九宫格（绩效 × 潜力）").wait_for()
    choose(pg, "单元", "华东销售一组 (D1-SAL-T1)")
    choose(pg, "人员", next(o for o in _options(pg, "人员") if o.startswith("曾娟玲")))
    choose(pg, "最终等级", "A")
    choose(pg, "潜力", "潜力高")
    pg.get_by_label("原因", exact=True).fill("关键客户续约")
    button(pg, "保存校准")
    pg.get_by_text(re.compile("已校准：曾娟玲")).wait_for()
    clean(pg)
    shot(pg, "rv_2_calibrated_zh_1440")
    button(pg, "结束并冻结结果")
    pg.get_by_text("考评周期 2026-Q3 当前阶段：已结束。").wait_for()
    tab(pg, "考评结果")
    choose(pg, "查看谁的考评", "曾娟玲 (P0001)")
    pg.get_by_text(re.compile("结束时已冻结，数据来自导入批次")).wait_for()
    clean(pg)
    shot(pg, "rv_3_closed_zh_1440")
    doc = pdfium.PdfDocument(download(pg, "考评报告（PDF）"))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r\n", "")
    assert "考评报告：曾娟玲（2026-Q3）" in text and "关键客户续约" in text
    assert not any(rater in text for rater in PEERS)
    book = openpyxl.load_workbook(io.BytesIO(download(pg, "考评报告（Excel）")))
    assert book.sheetnames == ["概要", "KPI", "评分", "评语", "反馈与改进计划"]
    assert {r[0]: r[1] for r in book["概要"].iter_rows(min_row=2, values_only=True)}["最终等级"] == "A"
    clean(pg)
    pg.context.close()
    the_person_sees_their_frozen_review_on_a_phone_in_english(server, browser)
    assert service.get(open_warehouse(path), "2026-Q3").state == "closed"


def _options(pg, label: str) -> list[str]:
    pg.get_by_label(label, exact=True).click()
    found = pg.get_by_role("option").all_inner_texts()
    pg.keyboard.press("Escape")
    return found


def the_person_sees_their_frozen_review_on_a_phone_in_english(server, browser) -> None:
    pg = _page(browser, server, 390)
    _sign_in(pg, server, "emp_p0001", "reviews?lang=en", "en")
    wait_title(pg, "Reviews")
    idle(pg)
    pg.get_by_text(re.compile("Frozen at closing, from import batches")).wait_for()
    shown = pg.locator('[data-testid="stMain"]').inner_text()
    assert "Calibration reason" not in shown and not any(rater in shown for rater in PEERS)
    clean(pg)
    shot(pg, "rv_4_person_en_390")
    tab(pg, "To rate")
    pg.get_by_text("Nothing to rate now (the cycle is in: Closed).").wait_for()
    clean(pg)
    pg.context.close()
