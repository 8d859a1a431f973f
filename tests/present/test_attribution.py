"""Where the gap comes from, as shown (present/attribution.py): the headline for the top
contributor in both languages, the table's rows, the notes, and a reason instead of numbers."""

import re

import pytest

from kpi_core.engine.attribution import ADDITIVE, RATIO, Part, attribute, merge, unavailable
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import build_tree
from kpi_core.present.attribution import gap_view, headline

TREE = build_tree([("HQ", "集团", None), ("D1", "华东销售事业部", "HQ"), ("D2", "华南销售事业部", "HQ"),
                   ("D3", "智能装备事业部", "HQ"), ("D4", "精密部件事业部", "HQ")])
REVENUE = Metric(code="revenue", name="销售收入", name_en="Revenue", unit="CNY", source="manual")
MARGIN = Metric(code="gross_margin", name="毛利率", name_en="Gross margin", unit="%",
                source={"formula": "gross_profit / revenue"})

# gap 900 − 1000 = −100: D1 −72 (72 %), D3 −40 (40 %), D2 +12 offsets (−12 %); D4 has no target
MISS = attribute(ADDITIVE, "higher_is_better", 900e6, 1000e6,
                 [Part("D1", 300e6, 372e6), Part("D2", 212e6, 200e6), Part("D3", 388e6, 428e6),
                  Part("D4", 5e6, None)])


@pytest.mark.parametrize("lang, expected", [
    ("en", "华东销售事业部 explains 72% of the Revenue gap"),
    ("zh", "华东销售事业部 造成了销售收入缺口的 72%"),
])
def test_headline_names_the_top_contributor(lang, expected):
    assert headline(MISS, REVENUE, TREE, lang) == expected


def test_no_headline_without_a_miss():
    beat = attribute(ADDITIVE, "higher_is_better", 1100, 1000, [Part("D1", 1100, 1000)])
    assert headline(beat, REVENUE, TREE, "en") == ""


def test_rows_list_contributors_then_offsetters():
    view = gap_view(MISS, REVENUE, TREE, "en")
    assert [(r["Org unit"], r["Effect"], r["Contribution"], r["Share of the gap"]) for r in view.rows] == [
        ("华东销售事业部 (D1)", "Widens the gap", "-¥72.00M", "72.0%"),
        ("智能装备事业部 (D3)", "Widens the gap", "-¥40.00M", "40.0%"),
        ("华南销售事业部 (D2)", "Narrows the gap", "+¥12.00M", "-12.0%"),
    ]
    assert "Rate effect" not in view.rows[0]
    assert view.notes == ["精密部件事业部 is left out: no target"]  # the residual is 0: no note for it


def test_a_ratio_shows_rate_and_mix_effects_in_points():
    # ratio case 1 of tests/engine/test_attribution.py: B rate −.075, mix −.0125; A −.025, −.0125
    a = attribute(RATIO, "higher_is_better", 0.225, 0.36, [Part("D1", 0.30, 0.40, 100, 100),
                                                           Part("D3", 0.20, 0.30, 300, 100)])
    view = gap_view(a, MARGIN, TREE, "zh")
    assert [(r["组织单元"], r["贡献"], r["比率效应"], r["结构效应"]) for r in view.rows] == [
        ("智能装备事业部 (D3)", "-8.75 pt", "-7.50 pt", "-1.25 pt"),
        ("华东销售事业部 (D1)", "-3.75 pt", "-2.50 pt", "-1.25 pt"),
    ]
    assert view.notes == ["下级组织未能解释的部分（本单位自身的目标或数值、未纳入的下级）：-1.00 pt"]


def test_units_not_named_show_as_others():
    others, _ = merge([Part("D3", 388e6, 428e6), Part("D4", 5e6, 10e6)], ADDITIVE)
    a = attribute(ADDITIVE, "higher_is_better", 900e6, 1000e6, [Part("D1", 300e6, 310e6), others])
    assert headline(a, REVENUE, TREE, "zh") == "其他 2 个组织 造成了销售收入缺口的 45%"
    assert gap_view(a, REVENUE, TREE, "en").rows[0]["Org unit"] == "2 other unit(s)"


def test_no_attribution_says_why_in_the_readers_language():
    a = unavailable(Msg("engine_attribution_not_additive", metric="nps"))
    view = gap_view(a, REVENUE, TREE, "zh")
    assert view.rows == [] and view.headline == ""
    assert view.unavailable.startswith("无法分解差距来源：nps 既不是")


def test_the_chinese_view_holds_no_english_sentence():
    view = gap_view(MISS, REVENUE, TREE, "zh")
    shown = [view.headline, *view.notes, *(k for r in view.rows for k in r), *(v for r in view.rows
                                                                            for v in r.values())]
    assert [s for s in shown if re.search(r"[A-Za-z]{3,}", s)] == []
