"""The demo company's scorecards (kpi_core.demo.scorecards) and the targets that make them score
(kpi_core.demo.unit_targets): every card is valid, its weights are shares of 100, and every metric
on a unit's own card has an actual, a target and a score there in the demo's latest months."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from kpi_core.demo import scorecards as demo_cards
from kpi_core.demo.units import build_org
from kpi_core.model.config import PROJECT_ROOT
from kpi_core.model.metric import parse_metrics
from kpi_core.model.org import build_tree
from kpi_core.model.periods import last_full_month
from kpi_core.model.scorecard import check, shares
from kpi_core.query.api import Query, run
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.store import scorecards
from kpi_core.store.dictionary import current as current_metrics
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.conftest import DEMO_TODAY

METRICS_YAML = PROJECT_ROOT / "data" / "demo" / "metrics.yaml"
EXAMPLE = PROJECT_ROOT / "data" / "examples" / "scorecards.yaml"
MONTH = last_full_month(DEMO_TODAY).label  # 2026-10
_LAST_FULL = (DEMO_TODAY.year * 12 + DEMO_TODAY.month - 1) // 3 - 1  # quarters counted from year 0
QUARTER = f"{_LAST_FULL // 4}-Q{_LAST_FULL % 4 + 1}"  # the last full quarter: 2026-Q3


@pytest.fixture(scope="module")
def metrics():
    raw = yaml.safe_load(METRICS_YAML.read_text(encoding="utf-8"))["metrics"]
    found, problems = parse_metrics([("metrics.yaml", m) for m in raw])
    assert problems == []
    return {m.code: m for m in found}


@pytest.fixture(scope="module")
def org():
    """The demo's org shape (the rng only sizes teams and names people; P0001 is always first)."""
    return build_org(np.random.default_rng([20261127, 1]))


@pytest.fixture(scope="module")
def cards(org):
    return {c.org: c for c in demo_cards.demo_scorecards(org)}


# ------------------------------------------------------------------ the cards as data


def test_every_card_passes_the_model_checks(cards, metrics, org):
    tree = build_tree([(u.code, u.name, u.parent) for u in org.units])
    for card in cards.values():
        assert check(card, metrics, tree) == [], card.org


def test_weights_add_up_to_100_and_are_the_shares(cards, metrics):
    for card in cards.values():
        assert sum(i.weight for i in card.metrics) == 100, card.org
        for code, share in shares(card, metrics).items():
            assert share == pytest.approx(card.weights()[code] / 100), (card.org, code)


def test_company_is_a_balanced_scorecard(cards, metrics):
    hq = cards["HQ"]
    assert hq.perspective_weights and sum(hq.perspective_weights.values()) == 100
    used = {metrics[c].perspective for c in hq.codes}
    assert used == set(hq.perspective_weights) == {"financial", "customer", "internal_process", "learning_growth"}


def test_every_unit_down_to_teams_and_a_few_people_have_a_card(cards, org):
    above_people = [u.code for u in org.units if u.level != "person"]
    assert set(above_people) <= set(cards)
    people = sorted(set(cards) - set(above_people))
    assert people == [p.code for p in org.children("D1-SAL-T1")[:3]] and "P0001" in people
    kinds = {d.code: demo_cards.division_kind(d) for d in demo_cards.DIVISIONS}
    assert kinds == {"D1": "sales", "D2": "sales", "D3": "manufacturing", "D4": "manufacturing",
                     "D5": "manufacturing", "D6": "functions"}


def test_each_unit_is_judged_on_what_its_job_is(cards):
    production = {"first_pass_yield", "defect_rate", "safety_incidents", "budget_utilization"}
    sales = {"revenue", "gross_margin", "active_customers", "order_count"}
    assert production <= set(cards["D3-PRD"].codes)
    assert production - {"budget_utilization"} <= set(cards["D3-PRD-T1"].codes)
    assert {"employee_turnover_rate", "training_hours"} <= set(cards["D1-HR"].codes)
    assert {"employee_turnover_rate", "training_hours"} <= set(cards["D6-HR"].codes)
    for unit in ("D1-SAL", "D3-SAL", "D1-SAL-T1", "P0001"):
        assert sales <= set(cards[unit].codes), unit
    assert {"customer_satisfaction", "nps", "customer_complaints"} <= set(cards["D1-CS"].codes)
    assert {"inventory_days", "safety_incidents"} <= set(cards["D1-WH"].codes)
    assert "supplier_on_time_rate" in cards["D3-PUR"].codes and "new_patents" in cards["D3-RD"].codes
    assert {"first_pass_yield", "safety_incidents"} <= set(cards["D3"].codes)
    assert "first_pass_yield" not in cards["D1"].codes  # a sales division has no production lines


# ------------------------------------------------------------------ in the loaded demo

@pytest.fixture(scope="module")
def demo(demo_template):
    return open_warehouse(demo_template)


@pytest.mark.slow
def test_load_applies_every_card(demo, cards):
    stored = scorecards.current(demo)
    assert set(stored) == set(cards)
    assert all(stored[c].definition() == card.definition() for c, card in cards.items())
    assert {h["reason"] for h in scorecards.history(demo, "HQ")} == {"demo company"}


@pytest.mark.slow
def test_own_cards_have_an_actual_a_target_and_a_score_in_the_latest_months(demo):
    """Every metric on every own card, at the unit: monthly ones in the last full month,
    quarterly ones (NPS, engagement, patents) in the last full quarter."""
    stored = scorecards.current(demo)
    codes = sorted({c for card in stored.values() for c in card.codes})
    metrics_by_code = current_metrics(demo)
    quarterly = {c for c in codes if metrics_by_code[c].frequency == "quarter"}
    cells = {}
    for grain, period, wanted in (("month", MONTH, [c for c in codes if c not in quarterly]),
                                  ("quarter", QUARTER, sorted(quarterly))):
        result = run(demo, Query(tuple(wanted), "HQ", "subtree", grain, period, period), today=DEMO_TODAY)
        cells.update({(c.metric, c.org): c for c in result.cells})
    missing = []
    for org, card in stored.items():
        for code in card.codes:
            cell = cells[(code, org)]
            in_range = metrics_by_code[code].direction == "in_range"  # judged on its range, no target
            if cell.actual is None or (cell.target is None and not in_range) or cell.score is None:
                missing.append((org, code, cell.status))
    assert missing == []


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["D3-PRD", "D3-PRD-T1", "D5-PRD-T2", "P0001", "D1-SAL-T1", "D1-WH", "D1-WH-T1"])
def test_scorecard_scores_every_metric_at_the_last_full_month(demo, unit):
    card = unit_scorecard(demo, org_tree(demo), unit, MONTH, today=DEMO_TODAY)
    assert card.origin == "own" and card.source == unit
    assert [i for i in card.items if i["status"] in ("no_target", "no_data") or i["score"] is None] == []
    assert card.score is not None and card.grade is not None
    assert sum(i["share"] for i in card.items) == pytest.approx(1.0)


@pytest.mark.slow
def test_seed_case_shows_on_the_d3_cards(demo):
    """D3's story (stuffing, returns, falling satisfaction) shows on its own scorecards."""
    tree = org_tree(demo)
    d3 = {i["metric"]: i for i in unit_scorecard(demo, tree, "D3", MONTH, today=DEMO_TODAY).items}
    d1 = {i["metric"]: i for i in unit_scorecard(demo, tree, "D1", MONTH, today=DEMO_TODAY).items}
    assert d3["customer_satisfaction"]["status"] == "red"
    assert d3["customer_satisfaction"]["score"] < d1["customer_satisfaction"]["score"]
    sales = {i["metric"]: i for i in unit_scorecard(demo, tree, "D3-SAL", MONTH, today=DEMO_TODAY).items}
    assert sales["return_rate"]["status"] == "red"


@pytest.mark.slow
def test_sales_targets_below_the_department_add_up_to_it(demo):
    """Teams' and people's targets are the department's plan by last year's shares."""
    with demo.connect() as con:
        rows = con.execute(
            "SELECT t.metric, u.parent, sum(t.value), any_value(p.value) FROM target t "
            "JOIN org_unit u ON t.org = u.code JOIN target p ON p.org = u.parent AND p.metric = t.metric "
            "AND p.period = t.period WHERE u.parent LIKE '%-SAL' AND t.period = ? "
            "AND t.metric IN ('revenue', 'gross_profit', 'order_count', 'active_customers') GROUP BY ALL",
            [MONTH]).fetchall()
    assert len(rows) == 4 * 5
    for metric, dept, teams, planned in rows:
        assert teams == pytest.approx(planned, rel=0.002, abs=2), (metric, dept)


@pytest.mark.slow
def test_example_file_applies_to_the_demo(demo_path):
    r = cli(demo_path, "scorecards", "apply", EXAMPLE, "--reason", "example scorecards", "--format", "json")
    assert r.returncode == 0, r.stderr
    wh = open_warehouse(demo_path)
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["scorecards"]
    stored = scorecards.current(wh)
    for item in example:
        assert stored[item["org"]].definition()["metrics"] == [
            {"metric": m["metric"], "weight": float(m["weight"])} for m in item["metrics"]]
    show = cli(demo_path, "scorecards", "show", "D3", "--period", MONTH, "--format", "json")
    assert show.returncode == 0, show.stderr
    card = json.loads(show.stdout)
    assert card["origin"] == "own" and [i["metric"] for i in card["items"]] == [
        "revenue", "gross_margin", "on_time_delivery", "first_pass_yield", "defect_rate", "safety_incidents",
        "employee_turnover_rate"]
    assert all(i["score"] is not None for i in card["items"])


def test_example_file_is_the_shape_apply_reads():
    cards, problems = scorecards.read_file(EXAMPLE)
    assert problems == [] and [c.org for c in cards] == ["HQ", "D3"]
    for card in cards:
        assert sum(i.weight for i in card.metrics) == 100
