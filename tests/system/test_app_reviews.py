"""The Reviews page (AppTest): a manager opens a cycle from the form and moves it on, chooses
raters; the person rates themself; the manager rates, calibrates with a reason and closes; the
person sees their frozen review and only the average of three peers; an employee sees nothing
of another's review; the page speaks the reader's language without a raw code or NaN."""

from __future__ import annotations

import re

import pytest

from kpi_core.auth import users
from kpi_core.services import review_results as results
from kpi_core.services import reviews as service
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY
from tests.system.test_app_pages import page_as, rendered

PEERS = ("emp_p0002", "emp_p0003", "emp_p0004")


@pytest.fixture
def wh(demo_path):
    wh = open_warehouse(demo_path)
    for n in range(2, 5):
        users.add(wh, f"emp_p000{n}", "employee", orgs=[f"P000{n}"])
    return wh


def texts(at) -> str:
    kinds = ("markdown", "caption", "success", "error", "info", "warning")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    for d in at.dataframe:  # empty cells show the placeholder (—), as in the browser
        parts.append(d.value.astype(object).where(d.value.notna(), "—").to_string())
    return rendered("\n".join(str(p) for p in parts))


def clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert not re.search(r"\b(nan|NaN|None)\b", shown), re.findall(r".{0,80}\b(?:nan|NaN|None)\b.{0,40}", shown)
    assert not re.search(r"\b(rv|ui|review)_[a-z_]+\b", shown), shown  # no catalog code shown raw


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_cycle_through_the_page(wh, monkeypatch):
    at = page_as(wh.path, "mgr_d1", "pages/reviews.py", monkeypatch)
    clean(at)
    assert "还没有考评周期，请在上方开启。" in texts(at)
    at.text_input(key="rv_new_name").set_value("2026-Q3")
    at.text_input(key="rv_new_period").set_value("2026-Q3")
    next(b for b in at.button if b.label == "开启").click().run()
    clean(at)
    assert service.get(wh, "2026-Q3").org == "D1"  # a manager of D1 opens over their own unit
    at.session_state["rv_tabs_5"] = "团队与评价人"
    at.run()
    at.selectbox(key="rv_rater_person").set_value("P0001").run()
    at.multiselect[0].set_value(list(PEERS))
    next(b for b in at.button if b.label == "保存评价人").click().run()
    clean(at)
    assert service.raters(wh, "2026-Q3", "P0001") == [("P0001", r, "peer") for r in PEERS]
    button(at, "进入下一阶段：自评").click().run()
    clean(at)
    assert service.get(wh, "2026-Q3").state == "self"

    me = page_as(wh.path, "emp_p0001", "pages/reviews.py", monkeypatch)
    clean(me)
    me.session_state["rv_tabs_3"] = "待我评分"
    me.run()
    for ni in me.number_input:
        ni.set_value(4.0)
    me.text_area[0].set_value("完成了华东大客户续约")
    button(me, "保存评分").click().run()
    clean(me)
    assert "已保存评分：曾娟玲 (P0001)（自评）。" in texts(me)
    for rater, score in zip(PEERS, (3, 4, 5), strict=True):
        service.rate(wh, "2026-Q3", "P0001", "peer", score, by=users.actor(wh, rater))

    at.run()
    button(at, "进入下一阶段：上级评价").click().run()
    at.session_state["rv_tabs_5"] = "待我评分"
    at.run()
    at.selectbox(key="rv_rate_pick").set_value("P0001|manager").run()
    for ni in at.number_input:
        ni.set_value(4.5)
    button(at, "保存评分").click().run()
    clean(at)
    button(at, "进入下一阶段：校准").click().run()
    at.session_state["rv_tabs_5"] = "校准"
    at.run()
    clean(at)
    assert "九宫格（绩效 × 潜力）" in texts(at)
    at.selectbox(key="rv_cal_unit").set_value("D1-SAL-T1").run()
    person, grade, potential = (s for s in at.selectbox if s.label in ("人员", "最终等级", "潜力"))
    person.set_value("P0001")
    grade.set_value("A")
    potential.set_value("high")
    at.text_input(key="rv_cal_reason").set_value("关键客户续约")
    button(at, "保存校准").click().run()
    clean(at)
    assert results.outcome(wh, "2026-Q3", "P0001", by="admin", today=DEMO_TODAY).final_grade == "A"
    button(at, "结束并冻结结果").click().run()
    clean(at)
    assert service.get(wh, "2026-Q3").state == "closed"
    # feedback after closing: a meeting note and an improvement plan item, then the retrospective
    at.session_state["rv_tabs_5"] = "考评结果"
    at.run()
    at.selectbox(key="rv_subject").set_value("P0001").run()
    next(a for a in at.text_area if a.label == "会议纪要").set_value("面谈：下季度重点是培训时长")
    button(at, "保存纪要").click().run()
    clean(at)
    next(i for i in at.text_input if i.label == "负责人（用户名）").set_value("emp_p0001")
    next(i for i in at.text_input if i.label == "改进措施").set_value("每月完成 20 小时培训")
    next(s for s in at.selectbox if s.label == "要改进的 KPI").set_value("training_hours")
    button(at, "加入改进计划").click().run()
    clean(at)
    assert "已加入改进计划：每月完成 20 小时培训。" in texts(at)
    plan_rows = next(d.value for d in at.dataframe if "类别" in d.value.columns)
    assert plan_rows["类别"].tolist() == ["会议纪要", "改进项"]
    at.session_state["rv_tabs_5"] = "复盘"
    at.run()
    at.selectbox(key="rv_retro_unit").set_value("D1-SAL-T1").run()
    clean(at)
    assert "本期计分卡上的红灯" in texts(at) and "本期采取的行动：1 项" in texts(at)

    me.run()
    me.session_state["rv_tabs_3"] = "考评结果"
    me.run()
    clean(me)
    shown = texts(me)
    assert "结束时已冻结" in shown and "关键客户续约" not in shown  # the reason is not the person's to read
    ratings = next(d.value for d in me.dataframe if "平均分" in d.value.columns)
    assert dict(zip(ratings["来自"], ratings["平均分"], strict=True))["同事"] == "4.00"
    assert not any(r in shown for r in PEERS)
    assert [s.options for s in me.selectbox if s.key == "rv_subject"] == [["曾娟玲 (P0001)"]]


def test_an_employee_sees_nothing_of_anothers_cycle_and_english_reads_as_english(wh, monkeypatch):
    service.open_cycle(wh, "2026-Q3", "2026-Q3", "D1-SAL-T2")
    me = page_as(wh.path, "emp_p0001", "pages/reviews.py", monkeypatch, lang="en")
    clean(me)
    assert "There is no review cycle with a review of yours yet." in texts(me)
    boss = page_as(wh.path, "mgr_d1", "pages/reviews.py", monkeypatch, lang="en")
    clean(boss)
    assert "Move on to: Self review" in [b.label for b in boss.button]


def test_the_admin_sets_the_review_settings_and_a_new_cycle_keeps_them(wh, monkeypatch):
    users.add(wh, "root", "admin")
    at = page_as(wh.path, "root", "pages/admin.py", monkeypatch)
    at.session_state["admin_tabs"] = "设置"
    at.run()
    at.text_input(key="set_review_min_raters").set_value("2")
    at.text_input(key="set_review_reason").set_value("smaller teams")
    [_, review_save] = [b for b in at.button if b.label == "保存"]
    review_save.click().run()
    said = "设置 review_min_raters = “2”：同一类评价人至少 3 人才显示平均分（实际为 2）"
    assert [rendered(e.value) for e in at.error] == [said]
    at.text_input(key="set_review_min_raters").set_value("4")
    at.text_input(key="set_review_weights").set_value("kpi:60,ratings:40")
    [_, review_save] = [b for b in at.button if b.label == "保存"]
    review_save.click().run()
    assert [s.value for s in at.success] == ["已保存 2 项设置。"] and not at.error
    cycle = service.open_cycle(wh, "later", "2026-Q3", "D1-SAL-T1")
    assert (cycle.config.min_raters, cycle.config.kpi_weight, cycle.config.ratings_weight) == (4, 60, 40)
