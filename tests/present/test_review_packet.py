"""A review packet as Excel and as PDF, on a closed demo cycle: the Chinese is real text in the
PDF (extracted back and rendered to an image that is looked at), peers show only as an average
of three, no rater is named, and a PDF without a CJK font is refused in words."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pyarrow as pa
import pypdfium2 as pdfium
import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.errors import KpiError
from kpi_core.present import review_packet as packets
from kpi_core.services import review_feedback as feedback
from kpi_core.services import reviews as service
from tests.conftest import DEMO_TODAY
from tests.services.test_reviews import PEERS, opened, wh, who  # noqa: F401 (wh is a fixture)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "packets"


@pytest.fixture
def closed(wh):  # noqa: F811
    name = opened(wh)
    service.choose_raters(wh, name, "P0001", {u: "peer" for u in PEERS}, by=who(wh, "mgr_d1"))
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    service.rate(wh, name, "P0001", "self", 4, comment="自评：完成了华东大客户续约", by=who(wh, "emp_p0001"))
    for rater, score in zip(PEERS, (3, 4, 5), strict=True):
        service.rate(wh, name, "P0001", "peer", score, comment=f"同事意见 {score}", by=who(wh, rater))
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    service.rate(wh, name, "P0001", "manager", 4, comment="稳定完成目标", by=who(wh, "mgr_d1"))
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    service.calibrate(wh, name, "P0001", grade="A", potential="high", reason="关键客户续约", by=who(wh, "mgr_d1"))
    feedback.add_note(wh, name, "P0001", "面谈：下季度重点是培训时长", by=who(wh, "mgr_d1"))
    feedback.add_plan_item(wh, name, "P0001", metric="training_hours", owner="emp_p0001",
                           due=DEMO_TODAY + dt.timedelta(days=30), title="每月完成 20 小时培训", by=who(wh, "mgr_d1"),
                           today=DEMO_TODAY)
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    return wh, name


@pytest.mark.parametrize("lang, title", [("zh", "考评报告：曾娟玲（2026-Q3）"),
                                         ("en", "Review packet: 曾娟玲 (2026-Q3)")])
def test_the_pdf_holds_the_chinese_as_text_and_renders_it(closed, lang, title):
    w, name = closed
    data = feedback.packet(w, name, "P0001", by=who(w, "emp_p0001"), lang=lang, today=DEMO_TODAY)
    doc = pdfium.PdfDocument(packets.pdf(data, lang))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert title in text.replace("\r", "").replace("\n", "")
    assert "曾娟玲" in text and "关键客户续约" not in text  # the reason is the managers', not the person's
    assert "4.00" in text and "同事意见 3" in text  # peers: their average and comments only
    assert not any(rater in text for rater in PEERS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image = doc[0].render(scale=1.3).to_pil().convert("L")
    image.save(ARTIFACTS / f"packet_P0001_{lang}.png")
    dark = sum(image.histogram()[:128]) / (image.width * image.height)
    assert 0.01 < dark < 0.3  # drawn text and rules, not a blank page nor a page of boxes


def test_the_workbook_has_its_sheets_and_names_no_rater(closed):
    w, name = closed
    data = feedback.packet(w, name, "P0001", by=who(w, "mgr_d1"), lang="zh", today=DEMO_TODAY)
    book = openpyxl.load_workbook(io.BytesIO(packets.xlsx(data, "zh")))
    assert book.sheetnames == ["概要", "KPI", "评分", "评语", "反馈与改进计划"]
    assert list(book["反馈与改进计划"].iter_rows(min_row=2, values_only=True)) == [
        ("会议纪要", "面谈：下季度重点是培训时长"),
        ("改进项", f"每月完成 20 小时培训（负责人 emp_p0001，{DEMO_TODAY + dt.timedelta(days=30)} 前跟进，进行中）")]
    summary = {r[0]: r[1] for r in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert (summary["最终等级"], summary["潜力"], summary["绩效系数"], summary["校准原因"]) == ("A", "高", "1.2",
                                                                                   "关键客户续约")
    ratings = {r[0]: r[1] for r in book["评分"].iter_rows(min_row=2, values_only=True)}
    assert ratings == {"自评": "4.00", "上级": "4.00", "同事": "4.00", "下属": "人数不足，不显示"}
    cells = {str(v) for ws in book for row in ws.iter_rows(values_only=True) for v in row}
    assert not any(p in c for p in PEERS for c in cells)
    assert [r[0] for r in book["KPI"].iter_rows(min_row=2, values_only=True)] == [
        it["name"] for it in data["items"]]


def test_a_pdf_without_a_cjk_font_is_refused_in_words(closed, monkeypatch, tmp_path):
    w, name = closed
    monkeypatch.setenv("KPI_CJK_FONT", str(tmp_path / "missing.ttf"))
    data = feedback.packet(w, name, "P0001", by="root", lang="zh", today=DEMO_TODAY)
    with pytest.raises(KpiError) as e:
        packets.pdf(data, "zh")
    assert e.value.args[0].code == "review_pdf_no_font"


def test_a_restatement_after_closing_is_printed_beside_the_frozen_figure(closed):
    w, name = closed
    before = feedback.packet(w, name, "P0001", by="root", lang="zh", today=DEMO_TODAY)
    assert all(it["now"] is None for it in before["items"])
    import_table(w, "actuals", pa.table({"metric": ["training_hours"], "org": ["P0001"], "period": ["2026-07"],
                                         "value": [99.0]}), source="restated")
    after = feedback.packet(w, name, "P0001", by="root", lang="zh", today=DEMO_TODAY)
    line = next(it for it in after["items"] if it["metric"] == "training_hours")
    frozen = next(it for it in before["items"] if it["metric"] == "training_hours")
    assert (line["actual"], line["score"]) == (frozen["actual"], frozen["score"]) and line["now"]["actual"] > 99
    row = next(r for r in packets.kpi_rows(after, "zh") if r[0] == line["name"])
    assert row[-1].startswith("结束后更正为：") and [r[-1] for r in packets.kpi_rows(after, "zh")].count("") == len(
        after["items"]) - 1
