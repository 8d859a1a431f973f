"""Where a gap comes from (query/attribution.py) on a real warehouse: HQ ─ SALES ─ EAST, SOUTH;
HQ ─ OPS ─ SVC, January 2025, every figure worked out by hand below."""

import pyarrow as pa
import pytest

from kpi_core.engine.attribution import ADDITIVE, NONE, RATIO
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied
from kpi_core.query.attribution import attribute

# revenue (sum, higher is better): EAST 100 vs 150, SOUTH 320 vs 300, SVC 50 vs 100, so
#   SALES 420 vs 450 (gap −30), OPS 50 vs 100 (−50), HQ 470 vs 550 (−80): no parent has its own target.
# cost (sum, lower is better): EAST 60 vs 75, SOUTH 160 vs 140; SALES 220 vs 215.
# gross_margin = (revenue − cost) / revenue, at SALES:
#   EAST 40/100 = .40 vs 75/150 = .50; SOUTH 160/320 = .50 vs 160/300 = .5333…
#   SALES 200/420 = .47619… vs 235/450 = .52222… (gap −.0460317…)
ACTUALS = [("revenue", "EAST", 100), ("revenue", "SOUTH", 320), ("revenue", "SVC", 50),
           ("cost", "EAST", 60), ("cost", "SOUTH", 160)]
TARGETS = [("revenue", "EAST", 150), ("revenue", "SOUTH", 300), ("revenue", "SVC", 100),
           ("cost", "EAST", 75), ("cost", "SOUTH", 140)]


def table(rows, period="2025-01"):
    return pa.table({"metric": [r[0] for r in rows], "org": [r[1] for r in rows], "period": [period] * len(rows),
                     "value": pa.array([float(r[2]) for r in rows])})


@pytest.fixture
def company(wh):
    import_table(wh, "actuals", table(ACTUALS), source="t")
    import_table(wh, "targets", table(TARGETS), source="t")
    return wh


@pytest.mark.parametrize("org, status, gap, lines", [
    # HQ (470/550 = 85 %): SALES −30 (30/80 = .375), OPS −50 (.625); the larger first
    ("HQ", "red", -80, [("OPS", -50, 0.625), ("SALES", -30, 0.375)]),
    # SALES (420/450 = 93 %): EAST −50 (50/30 = 1.667), SOUTH +20 offsets (−.667)
    ("SALES", "amber", -30, [("EAST", -50, 50 / 30), ("SOUTH", 20, -20 / 30)]),
])
def test_additive_gap_split_among_the_children(company, org, status, gap, lines):
    a = attribute(company, "revenue", org, "2025-01")
    assert (a.kind, a.metric, a.org, a.period, a.status) == (ADDITIVE, "revenue", org, "2025-01", status)
    assert a.gap == gap and a.residual == 0 and a.missed
    assert [(x.org, x.contribution) for x in a.lines] == [(o, c) for o, c, _ in lines]
    assert [x.share for x in a.lines] == [pytest.approx(s) for _, _, s in lines]


def test_a_parents_own_target_leaves_a_residual(company):
    # SALES's own target 460: gap 420 − 460 = −40; the children explain −30, residual −10
    import_table(company, "targets", table([("revenue", "SALES", 460)]), source="t")
    a = attribute(company, "revenue", "SALES", "2025-01")
    assert (a.target, a.gap, a.residual) == (460, -40, -10)
    assert [(x.org, x.share) for x in a.lines] == [("EAST", 50 / 40), ("SOUTH", -20 / 40)]


def test_lower_is_better_contributors_are_above_their_targets(company):
    # cost at SALES 220 vs 215: a miss of +5; SOUTH 20 over (share 4.0), EAST 15 under (share −3.0)
    a = attribute(company, "cost", "SALES", "2025-01")
    assert a.missed and a.gap == 5
    assert [(x.org, x.contribution, x.share) for x in a.contributors] == [("SOUTH", 20, 4.0)]
    assert [(x.org, x.contribution, x.share) for x in a.offsetters] == [("EAST", -15, -3.0)]


def test_ratio_rate_and_mix_effects(company):
    # w = (100/420, 320/420), w* = (150/450, 300/450), R* = .52222…
    # EAST: rate 100/420·(.40 − .50) = −.0238095, mix (100/420 − 1/3)·(.50 − .52222) = +.0021164
    # SOUTH: rate 320/420·(.50 − .53333) = −.0253968, mix (320/420 − 2/3)·(.53333 − .52222) = +.0010582
    a = attribute(company, "gross_margin", "SALES", "2025-01")
    assert a.kind == RATIO and a.missed
    assert a.actual == pytest.approx(200 / 420) and a.target == pytest.approx(235 / 450)
    got = {x.org: x for x in a.lines}
    assert got["EAST"].rate_effect == pytest.approx(100 / 420 * (0.40 - 0.50))
    assert got["EAST"].mix_effect == pytest.approx((100 / 420 - 1 / 3) * (0.50 - 235 / 450))
    assert got["SOUTH"].rate_effect == pytest.approx(320 / 420 * (0.50 - 160 / 300))
    assert got["SOUTH"].mix_effect == pytest.approx((320 / 420 - 2 / 3) * (160 / 300 - 235 / 450))
    assert sum(x.contribution for x in a.lines) == pytest.approx(a.gap) and a.residual == 0
    assert [x.org for x in a.contributors] == ["SOUTH", "EAST"]  # −.0243386 then −.0216931


def test_a_child_without_figures_is_named_as_left_out(company):
    # at HQ, OPS has revenue but no cost, so no margin: left out, and the residual holds its part
    a = attribute(company, "gross_margin", "HQ", "2025-01")
    assert [x.org for x in a.lines] == ["SALES"]
    assert [(o, why.code) for o, why in a.excluded] == [("OPS", "engine_attribution_child_no_actual")]
    assert a.residual == pytest.approx(a.gap - a.lines[0].contribution) and a.residual != 0


@pytest.mark.parametrize("metric, org, reason", [
    ("nps", "SALES", "engine_attribution_not_additive"),    # org_agg none: never split
    ("on_time_rate", "SALES", "engine_attribution_not_additive"),
    ("revenue", "EAST", "query_attribution_no_children"),
])
def test_no_attribution_says_why(company, metric, org, reason):
    a = attribute(company, metric, org, "2025-01")
    assert a.kind == NONE and not a.available and a.reason.code == reason and a.lines == ()


def test_units_the_reader_may_not_see_are_pooled_not_named(company):
    """An employee of EAST reads EAST and the team's total (SALES), not SOUTH."""
    zhang = Actor("zhang", "employee", ("EAST",))
    a = attribute(company, "revenue", "SALES", "2025-01", zhang)
    assert [(x.org, x.others, x.contribution) for x in a.lines] == [("EAST", 0, -50), ("", 1, 20)]
    assert "SOUTH" not in repr(a)
    ratio = attribute(company, "gross_margin", "SALES", "2025-01", zhang)
    assert [x.org for x in ratio.lines] == ["", "EAST"] and ratio.residual == 0  # SOUTH alone: the same figures
    with pytest.raises(AccessDenied):
        attribute(company, "revenue", "HQ", "2025-01", zhang)
