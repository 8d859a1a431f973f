"""Where a gap comes from (engine/attribution.py): hand-computed splits of a parent's gap among its
children, additive and ratio (rate and mix effects), and the metrics that cannot be split."""

import pytest

from kpi_core.engine.attribution import ADDITIVE, NONE, RATIO, Part, attribute, merge, shape
from kpi_core.model.metric import Metric

HI, LO = "higher_is_better", "lower_is_better"


def parts(rows):
    return [Part(*r) for r in rows]


# (direction, parent actual, parent target, children (org, actual, target),
#  expected [(org, contribution, share)] in order, contributors, offsetters, residual, excluded)
ADDITIVE_CASES = [
    pytest.param(
        # gap 900 − 1000 = −100; A −50, B −50: half each, nothing left over
        HI, 900, 1000, [("A", 500, 550), ("B", 400, 450)],
        [("A", -50, 0.5), ("B", -50, 0.5)], ["A", "B"], [], 0.0, [], id="additive-miss"),
    pytest.param(
        # gap 910 − 1050 = −140; A 300−400 = −100 (100/140 = 0.714…), C 260−350 = −90 (0.642…),
        # B 350−300 = +50 offsets (−50/140 = −0.357…); −100 − 90 + 50 = −140, residual 0
        HI, 910, 1050, [("A", 300, 400), ("B", 350, 300), ("C", 260, 350)],
        [("A", -100, 100 / 140), ("C", -90, 90 / 140), ("B", 50, -50 / 140)], ["A", "C"], ["B"], 0.0, [],
        id="additive-with-offsetter"),
    pytest.param(
        # the parent's own target 1000, the children's add to 950: gap −100, children −50 (B),
        # residual −100 − (−50) = −50; A is exactly on target (contributes 0, in neither list)
        HI, 900, 1000, [("A", 500, 500), ("B", 400, 450)],
        [("B", -50, 0.5), ("A", 0, 0.0)], ["B"], [], -50.0, [], id="residual-parent-own-target"),
    pytest.param(
        # cost (lower is better): 1100 against 1020 is a miss of +80; A is 100 above its target
        # (share 100/80 = 1.25), B 20 below it (share −0.25), an offsetter
        LO, 1100, 1020, [("A", 700, 600), ("B", 400, 420)],
        [("A", 100, 1.25), ("B", -20, -0.25)], ["A"], ["B"], 0.0, [], id="lower-is-better"),
    pytest.param(
        # B has no target and C no actual: both left out; A −50 of the −100 gap, residual −50
        HI, 900, 1000, [("A", 500, 550), ("B", 400, None), ("C", None, 30)],
        [("A", -50, 0.5)], ["A"], [], -50.0, ["B", "C"], id="child-without-target-excluded"),
]


@pytest.mark.parametrize("direction, actual, target, children, expected, contributors, offsetters, residual, "
                         "excluded", ADDITIVE_CASES)
def test_additive_split(direction, actual, target, children, expected, contributors, offsetters, residual,
                        excluded):
    a = attribute(ADDITIVE, direction, actual, target, parts(children))
    assert a.gap == actual - target
    assert [(x.org, x.contribution) for x in a.lines] == [(o, c) for o, c, _ in expected]
    assert [x.share for x in a.lines] == [pytest.approx(s) for _, _, s in expected]
    assert [x.org for x in a.contributors] == contributors
    assert [x.org for x in a.offsetters] == offsetters
    assert a.residual == pytest.approx(residual)
    assert [o for o, _ in a.excluded] == excluded
    assert a.missed
    assert sum(x.contribution for x in a.lines) + a.residual == pytest.approx(a.gap)


def test_a_beaten_target_is_not_a_miss_and_lower_is_better_reads_the_other_way():
    assert not attribute(ADDITIVE, HI, 1100, 1000, parts([("A", 1100, 1000)])).missed
    assert attribute(ADDITIVE, LO, 1100, 1000, parts([("A", 1100, 1000)])).missed
    assert not attribute(ADDITIVE, LO, 900, 1000, parts([("A", 900, 1000)])).missed


def test_no_gap_gives_no_share():
    a = attribute(ADDITIVE, HI, 1000, 1000, parts([("A", 600, 500), ("B", 400, 500)]))
    assert a.gap == 0 and [x.share for x in a.lines] == [None, None]
    assert a.contributors == [] and a.offsetters == [] and not a.missed


@pytest.mark.parametrize("actual, target, reason", [
    (None, 1000, "engine_attribution_no_actual"),
    (900, None, "engine_attribution_no_target"),
])
def test_a_parent_without_actual_or_target_has_nothing_to_explain(actual, target, reason):
    a = attribute(ADDITIVE, HI, actual, target, parts([("A", 500, 550)]))
    assert not a.available and a.reason.code == reason and a.lines == ()


# Ratio children: (org, rate, target rate, denominator, target denominator).
# Case 1 — A: 30/100 = 0.30 vs 40/100 = 0.40; B: 60/300 = 0.20 vs 30/100 = 0.30.
#   R = 90/400 = 0.225, R* = 70/200 = 0.35, gap −0.125. w = (.25, .75), w* = (.5, .5).
#   rate A = .25·(−.10) = −.025, rate B = .75·(−.10) = −.075
#   mix  A = (.25 − .5)·(.40 − .35) = −.0125, mix B = (.75 − .5)·(.30 − .35) = −.0125
#   A −.0375 (share .3), B −.0875 (share .7): B explains 70 % of the gap.
# Case 2 — A beats its rate: 50/100 = 0.50 vs 0.40; B as before. R = 110/400 = .275, gap −.075.
#   rate A = .25·(+.10) = +.025, mix A = −.0125 → A +.0125 (share −1/6), an offsetter;
#   B −.075 − .0125 = −.0875 (share 7/6).
# Case 3 — case 1 with the parent's own target 0.36: gap −.135, the children −.125, residual −.01.
# Case 4 — lower is better (defect rate): A 20/1000 = .02 vs .01, B 6/1000 = .006 vs .008, equal
#   weights (no mix): R = .013, R* = .009, gap +.004 (a miss); rate A = .5·.01 = .005 (share 1.25),
#   rate B = .5·(−.002) = −.001 (share −.25).
RATIO_CASES = [
    pytest.param(HI, 0.225, 0.35, [("A", 0.30, 0.40, 100, 100), ("B", 0.20, 0.30, 300, 100)],
                 [("A", -0.025, -0.0125, 0.3), ("B", -0.075, -0.0125, 0.7)], ["B", "A"], [], 0.0, id="ratio-miss"),
    pytest.param(HI, 0.275, 0.35, [("A", 0.50, 0.40, 100, 100), ("B", 0.20, 0.30, 300, 100)],
                 [("A", 0.025, -0.0125, -1 / 6), ("B", -0.075, -0.0125, 7 / 6)], ["B"], ["A"], 0.0,
                 id="ratio-rate-offsets-mix"),
    pytest.param(HI, 0.225, 0.36, [("A", 0.30, 0.40, 100, 100), ("B", 0.20, 0.30, 300, 100)],
                 [("A", -0.025, -0.0125, 0.0375 / 0.135), ("B", -0.075, -0.0125, 0.0875 / 0.135)], ["B", "A"], [],
                 -0.01, id="ratio-residual-parent-own-target"),
    pytest.param(LO, 0.013, 0.009, [("A", 0.02, 0.01, 1000, 1000), ("B", 0.006, 0.008, 1000, 1000)],
                 [("A", 0.005, 0.0, 1.25), ("B", -0.001, 0.0, -0.25)], ["A"], ["B"], 0.0,
                 id="ratio-lower-is-better"),
]


@pytest.mark.parametrize("direction, actual, target, children, expected, contributors, offsetters, residual",
                         RATIO_CASES)
def test_ratio_rate_and_mix(direction, actual, target, children, expected, contributors, offsetters, residual):
    a = attribute(RATIO, direction, actual, target, parts(children))
    got = {x.org: x for x in a.lines}
    for org, rate, mix, share in expected:
        assert (got[org].rate_effect, got[org].mix_effect) == (pytest.approx(rate), pytest.approx(mix, abs=1e-15))
        assert got[org].contribution == pytest.approx(rate + mix)
        assert got[org].share == pytest.approx(share)
    assert [x.org for x in a.contributors] == contributors
    assert [x.org for x in a.offsetters] == offsetters
    assert a.residual == pytest.approx(residual, abs=1e-12)
    assert a.missed


@pytest.mark.parametrize("components", [
    # (num, den, num target, den target) per child
    [(30, 100, 40, 100), (60, 300, 30, 100)],
    [(12.5, 80, 20, 70), (3, 40, 9, 30), (70, 200, 55, 150), (0, 10, 1, 5)],
    [(-5, 50, 10, 50), (40, 100, 35, 120)],           # a child making a loss
    [(8, 1000, 10, 1000), (9, 1000, 5, 500), (1, 10, 2, 20)],
])
def test_rate_and_mix_effects_add_up_to_the_parents_rate_gap(components):
    """Σ rate + Σ mix = Σnum/Σden − Σnum*/Σden*: the identity, on any figures."""
    children = [Part(f"U{i}", n / d, nt / dt, d, dt) for i, (n, d, nt, dt) in enumerate(components)]
    actual = sum(c[0] for c in components) / sum(c[1] for c in components)
    target = sum(c[2] for c in components) / sum(c[3] for c in components)
    a = attribute(RATIO, HI, actual, target, children)
    assert sum(x.rate_effect for x in a.lines) + sum(x.mix_effect for x in a.lines) == pytest.approx(actual - target)
    assert a.residual == 0.0
    assert sum(x.share for x in a.lines) == pytest.approx(1.0)


def test_a_ratio_child_without_a_denominator_is_left_out():
    a = attribute(RATIO, HI, 0.225, 0.35, [Part("A", 0.30, 0.40, 100, 100), Part("B", 0.20, 0.30, None, 100)])
    assert [x.org for x in a.lines] == ["A"] and [o for o, _ in a.excluded] == ["B"]
    assert a.excluded[0][1].code == "engine_attribution_child_no_weight"
    # alone, A has all the weight: rate effect 1·(.30 − .40) = −.10, no mix; residual −.125 + .10
    assert a.lines[0].contribution == pytest.approx(-0.10) and a.residual == pytest.approx(-0.025)


def test_units_not_named_are_merged_into_one_line():
    hidden = [Part("X", 100, 150), Part("Y", 50, 40), Part("Z", None, 10)]
    others, excluded = merge(hidden, ADDITIVE)
    assert (others.org, others.actual, others.target, others.others) == ("", 150, 190, 2)
    assert [(o, m.code, m.params) for o, m in excluded] == [("", "engine_attribution_others_excluded", {"n": 1})]
    # ratio: pooled rates (A and B of ratio case 1) keep the parent's rate gap whole
    pooled, none = merge([Part("A", 0.30, 0.40, 100, 100), Part("B", 0.20, 0.30, 300, 100)], RATIO)
    assert none == [] and (pooled.actual, pooled.target) == (pytest.approx(0.225), pytest.approx(0.35))
    assert (pooled.weight, pooled.weight_target) == (400, 200)


METRICS = {m.code: m for m in [
    Metric(code="revenue", name="收入", source="manual"),
    Metric(code="cost", name="成本", direction=LO, source="manual"),
    Metric(code="headcount", name="人数", time_agg="last", source="manual"),
    Metric(code="nps", name="NPS", time_agg="avg", org_agg="none", source="manual"),
    Metric(code="on_time", name="准时率", time_agg="avg", org_agg="avg", source="manual"),
    Metric(code="band", name="区间", direction="in_range", range={"low": 1, "high": 2}, source="manual"),
    Metric(code="orders", name="订单", source={"dataset": "o", "measure": "count(*)", "time_column": "d",
                                               "org_column": "u"}),
    Metric(code="gp", name="毛利", source={"dataset": "o", "measure": "sum(amount - cost) - 2 * sum(fee)",
                                           "time_column": "d", "org_column": "u"}),
    Metric(code="buyers", name="客户", source={"dataset": "o", "measure": "count(distinct customer)",
                                               "time_column": "d", "org_column": "u"}),
    Metric(code="ticket", name="客单", source={"dataset": "o", "measure": "avg(amount)", "time_column": "d",
                                               "org_column": "u"}),
    Metric(code="profit", name="利润", source={"formula": "revenue - cost"}),
    Metric(code="margin", name="毛利率", source={"formula": "(revenue - cost) / revenue"}),
    Metric(code="margin_pct", name="毛利率%", source={"formula": "gp / revenue * 100"}),
    Metric(code="margin_safe", name="毛利率", source={"formula": "profit / nullif(revenue, 0)"}),
    Metric(code="per_head", name="人均", source={"formula": "revenue / headcount"}),
    Metric(code="squared", name="乘积", source={"formula": "revenue * cost"}),
    Metric(code="plus_one", name="加一", source={"formula": "revenue + 1"}),
    Metric(code="nps_ratio", name="比", source={"formula": "nps / revenue"}),
    Metric(code="odd", name="比", source={"formula": "revenue / orders / 2"}),
    Metric(code="nested", name="比", source={"formula": "revenue / (orders / headcount)"}),
]}


@pytest.mark.parametrize("code, kind, denominator", [
    ("revenue", ADDITIVE, ""),
    ("cost", ADDITIVE, ""),
    ("headcount", ADDITIVE, ""),       # org_agg sum: the parent's headcount is its children's
    ("orders", ADDITIVE, ""),          # count(*) over rows
    ("gp", ADDITIVE, ""),              # sums, scaled and subtracted
    ("profit", ADDITIVE, ""),          # a formula adding additive metrics
    ("margin", RATIO, "revenue"),
    ("margin_pct", RATIO, "revenue"),  # a ratio times 100
    ("margin_safe", RATIO, "NULLIF(revenue, 0)"),
    ("per_head", RATIO, "headcount"),
    ("odd", RATIO, "orders"),          # (revenue / orders) / 2: a ratio halved
    ("nps", NONE, ""),                 # org_agg none
    ("on_time", NONE, ""),             # an average
    ("band", NONE, ""),                # judged on a range
    ("buyers", NONE, ""),              # distinct counts do not add up
    ("ticket", NONE, ""),              # an average of rows
    ("squared", NONE, ""),
    ("plus_one", NONE, ""),            # the constant would count once per child
    ("nps_ratio", NONE, ""),           # its numerator is not a sum
    ("nested", NONE, ""),              # its denominator is a ratio
])
def test_which_metrics_split(code, kind, denominator):
    s = shape(METRICS[code], METRICS)
    assert (s.kind, s.denominator) == (kind, denominator)
    if kind == NONE:
        assert s.reason.code in {"engine_attribution_not_additive", "engine_attribution_in_range"}
    else:
        assert s.reason == ""
