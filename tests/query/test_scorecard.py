"""A unit's scorecard for a period: own, inherited (kept to what the unit has) or the default, and
its weighted score; the cockpit built on it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.scorecard import ScorecardDef
from kpi_core.present import cockpit
from kpi_core.query.api import context
from kpi_core.query.scorecard import scorecard, subtree_scorecards, unit_scorecard
from kpi_core.store import dictionary, org, scorecards
from kpi_core.store.warehouse import open_warehouse

TODAY = dt.date(2025, 2, 15)
PERSPECTIVE = {"revenue": "financial", "cost": "financial", "on_time_rate": "internal_process",
               "headcount": "learning_growth"}


@pytest.fixture
def company(wh):
    return make_company(wh)


def make_company(wh):
    """The test company with perspectives, and January 2025 figures for the sales teams."""
    metrics = dictionary.current(wh)
    dictionary.apply_metrics(wh, [metrics[c].model_copy(update={"perspective": p}) for c, p in PERSPECTIVE.items()],
                             reason="perspectives")
    rows = [("actuals", "revenue", "EAST", 90), ("targets", "revenue", "EAST", 100),
            ("actuals", "revenue", "SOUTH", 120), ("targets", "revenue", "SOUTH", 100),
            ("actuals", "on_time_rate", "EAST", 0.95), ("targets", "on_time_rate", "EAST", 0.95),
            ("targets", "headcount", "EAST", 10),   # a target and no actual: kept, scored nothing
            ("actuals", "cost", "SOUTH", 50), ("targets", "cost", "SOUTH", 40)]
    for kind in ("actuals", "targets"):
        chosen = [r for r in rows if r[0] == kind]
        import_table(wh, kind, pa.table({"metric": [r[1] for r in chosen], "org": [r[2] for r in chosen],
                                         "period": ["2025-01"] * len(chosen), "value": [float(r[3]) for r in chosen]}),
                     source="test", reason="test")
    return wh


def put(wh, org_code, *metrics, pw=None):
    scorecards.apply(wh, [ScorecardDef.model_validate({
        "org": org_code, "metrics": [{"metric": m, "weight": w} for m, w in metrics], "perspective_weights": pw})],
        reason="test")


def show(wh, unit, period="2025-01"):
    return unit_scorecard(wh, org.tree(wh), unit, period, today=TODAY)


def test_an_inherited_scorecard_is_kept_to_what_the_unit_has(company):
    put(company, "SALES", ("revenue", 2), ("on_time_rate", 1), ("headcount", 1), ("cost", 1))
    east = show(company, "EAST")
    assert (east.origin, east.source) == ("inherited", "SALES")
    assert east.codes == ["revenue", "on_time_rate", "headcount"] and east.dropped == ["cost"]
    # revenue 90/100 → 90, on-time 100; headcount has a target but no actual: no score
    assert east.score == pytest.approx((2 * 90 + 1 * 100) / 3) and east.grade == "B"
    assert [round(i["share"], 4) for i in east.items] == [0.5, 0.25, 0.25]
    south = show(company, "SOUTH")
    assert south.codes == ["revenue", "cost"] and south.dropped == ["on_time_rate", "headcount"]


def test_an_own_scorecard_shows_every_metric_even_without_data(company):
    put(company, "SALES", ("revenue", 1))
    put(company, "EAST", ("revenue", 1), ("cost", 3))
    east = show(company, "EAST")
    assert east.origin == "own" and east.codes == ["revenue", "cost"] and east.dropped == []
    assert [i["status"] for i in east.items] == ["amber", "no_data"] and east.score == pytest.approx(90)


def test_perspective_weights_weigh_the_perspectives(company):
    put(company, "EAST", ("revenue", 1), ("on_time_rate", 1), pw={"financial": 30, "internal_process": 70})
    east = show(company, "EAST")
    assert east.perspectives == {"financial": pytest.approx(90), "internal_process": pytest.approx(100)}
    assert east.score == pytest.approx(0.3 * 90 + 0.7 * 100)


def test_without_any_scorecard_every_metric_with_data_counts_equally(company):
    east = show(company, "EAST")
    assert east.origin == "default" and east.source is None
    assert east.codes == ["revenue", "on_time_rate", "headcount"] and "cost" in east.dropped
    assert east.score == pytest.approx((90 + 100) / 2)


def test_a_unit_with_nothing_on_its_inherited_scorecard_has_an_empty_one(company):
    put(company, "HQ", ("cost", 1))
    east = show(company, "EAST")
    assert east.items == [] and east.score is None and east.grade is None and east.dropped == ["cost"]


def test_the_ad_hoc_scorecard_refuses_a_zero_weight(company):
    with pytest.raises(ValidationFailed, match="scorecard"):
        scorecard(company, "EAST", "2025-01", "month", {"revenue": 0})


def test_the_cockpit_follows_the_scorecards(company):
    put(company, "SALES", ("revenue", 1), ("cost", 1))
    put(company, "EAST", ("on_time_rate", 1), ("revenue", 1))
    tree = org.tree(company)
    data = cockpit.build(company, tree, "SALES", "2025-01", today=TODAY)
    assert list(data.cards) == ["revenue", "cost"] and data.scorecard.origin == "own"
    # heat rows: the union of the children's scorecards (EAST own; SOUTH inherits SALES's, kept to its data)
    assert data.heat_rows == ["revenue", "cost", "on_time_rate"]
    assert data.heat[("SOUTH", "on_time_rate")] is None and data.heat[("EAST", "cost")] is None
    assert data.heat[("EAST", "on_time_rate")].status == "green"
    # cost 50 against 40 (lower is better) is red at SOUTH and at SALES, whose target is the children's sum
    assert {(r.org, r.metric) for r in data.red} == {("SALES", "cost"), ("SOUTH", "cost")}
    east = cockpit.build(company, tree, "EAST", "2025-01", today=TODAY)
    assert list(east.cards) == ["revenue", "on_time_rate"] and east.score == pytest.approx(95)


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


@pytest.mark.parametrize("period", ["2026-Q3", "2026-10", "2025"])
def test_a_subtrees_scorecards_from_one_query_are_each_units_own(demo_path, period):
    wh = open_warehouse(demo_path)
    tree, _ = context(wh)
    today = dt.date(2026, 11, 27)
    many = subtree_scorecards(wh, tree, "D1-SAL", period, today=today)
    assert list(many) == list(tree.subtree("D1-SAL"))
    for unit, card in many.items():
        one = unit_scorecard(wh, tree, unit, period, today=today)
        assert (card.origin, card.source, card.dropped, card.grade) == (one.origin, one.source, one.dropped, one.grade)
        assert _close(card.score, one.score)
        assert len(card.items) == len(one.items)
        for a, b in zip(card.items, one.items, strict=True):
            assert all(_close(a[k], b[k]) for k in a), (unit, a, b)
