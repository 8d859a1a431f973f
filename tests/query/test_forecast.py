"""Period-end forecasts on the demo company, checked against the query API's own numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_core.engine import attainment as att
from kpi_core.engine.forecast_methods import METHODS
from kpi_core.engine.formula import evaluate
from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, NotFound
from kpi_core.query.api import Query, context, run
from kpi_core.query.forecast import (
    WARM_LIMIT,
    forecast,
    forecasts,
    in_progress,
    kept_forecast,
    kept_forecasts,
    warm,
)
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY


@pytest.fixture(scope="module")
def demo(demo_template):
    return open_warehouse(demo_template)  # read only: forecasts write nothing


def one(wh, metric, org, grain, period):
    return run(wh, Query((metric,), org, "self", grain, period, period), today=DEMO_TODAY).cells[0]


def monthly(wh, metric, org, first, last):
    return run(wh, Query((metric,), org, "self", "month", first, last), today=DEMO_TODAY).cells


def test_a_sum_metric_at_a_quarter_in_progress(demo):
    f = forecast(demo, "revenue", "D1", "2026-Q4", today=DEMO_TODAY)
    quarter = one(demo, "revenue", "D1", "quarter", "2026-Q4")
    oct_nov_dec = monthly(demo, "revenue", "D1", "2026-10", "2026-12")
    assert [c.actual is not None for c in oct_nov_dec] == [True, True, False]   # December is still to come
    assert (f.months_done, f.months_left) == (2, 1)
    assert f.actual_to_date == pytest.approx(quarter.actual)
    assert f.actual_to_date == pytest.approx(oct_nov_dec[0].actual + oct_nov_dec[1].actual)
    assert f.target == pytest.approx(quarter.target_full)
    # The value is the actual to date plus the chosen method's forecast of December from the monthly series
    history = [c.actual for c in monthly(demo, "revenue", "D1", "2025-01", "2026-11")]
    december = METHODS[f.method].predict(history, 1, 12)[0]
    assert f.value == pytest.approx(f.actual_to_date + december)
    assert f.low < f.value < f.high
    assert f.run_rate_needed == pytest.approx((quarter.target_full - quarter.actual) / 1)
    assert f.projected_attainment == pytest.approx(f.value / f.target)
    assert f.projected_status == att.status(f.value, f.target, "higher_is_better").code
    assert f.method in ("run_rate", "seasonal", "ets", "naive") and f.mase == f.backtest[f.method]["mase"]
    assert {"naive", "seasonal_naive"} <= set(f.backtest)
    assert f.path[-1] == {"period": "2026-12", "value": f.value, "low": f.low, "high": f.high, "kind": "forecast"}
    assert f.reason is None


def test_a_year_in_progress_needs_the_rest_in_its_last_month(demo):
    f = forecast(demo, "revenue", "HQ", "2026", today=DEMO_TODAY)
    year = one(demo, "revenue", "HQ", "year", "2026")
    assert (f.months_done, f.months_left) == (11, 1)
    assert f.actual_to_date == pytest.approx(year.actual) and f.target == pytest.approx(year.target_full)
    assert f.run_rate_needed == pytest.approx(year.target_full - year.actual)


def test_a_formula_is_the_formula_of_its_components_forecasts(demo):
    _, metrics = context(demo)
    f = forecast(demo, "inventory_turnover", "HQ", "2026-Q4", today=DEMO_TODAY)
    parts = {c: forecast(demo, c, "HQ", "2026-Q4", today=DEMO_TODAY).value for c in f.components}
    assert f.method == "formula" and f.value == pytest.approx(evaluate(metrics["inventory_turnover"].source.formula,
                                                                       parts))
    assert f.low <= f.value <= f.high
    assert f.run_rate_needed is None      # a ratio's months do not add up to it: no run rate to name
    quarter = one(demo, "inventory_turnover", "HQ", "quarter", "2026-Q4")
    assert f.actual_to_date == pytest.approx(quarter.actual)


@pytest.mark.parametrize(("period", "code"), [
    ("2026-10", "forecast_period_over"),
    ("2027-Q1", "forecast_not_started"),
])
def test_no_forecast_says_why(demo, period, code):
    f = forecast(demo, "revenue", "D1", period, today=DEMO_TODAY)
    assert f.value is None and f.reason.code == code


def test_a_quarterly_metric_is_not_forecast_by_the_month(demo):
    f = forecast(demo, "nps", "HQ", "2026-11", today=DEMO_TODAY)
    assert f.reason.code == "forecast_finer_than_reported"


def test_access_as_the_query_api(demo):
    outsider = Actor("wang", "manager", ("D2",))
    with pytest.raises(AccessDenied):
        forecast(demo, "revenue", "D1", "2026-Q4", today=DEMO_TODAY, actor=outsider)
    assert forecast(demo, "revenue", "D2", "2026-Q4", today=DEMO_TODAY, actor=outsider).value is not None


@pytest.mark.parametrize(("metric", "org"), [("no_such_metric", "D1"), ("revenue", "NOWHERE")])
def test_unknown_metric_or_unit(demo, metric, org):
    with pytest.raises(NotFound):
        forecast(demo, metric, org, "2026-Q4", today=DEMO_TODAY)


def test_forecasts_are_kept_per_data_version(demo):
    many = forecasts(demo, ["revenue", "order_count"], ["D1", "D2"], "2026-Q4", today=DEMO_TODAY)
    assert set(many) == {(m, o) for m in ("revenue", "order_count") for o in ("D1", "D2")}
    assert forecast(demo, "revenue", "D1", "2026-Q4", today=DEMO_TODAY) is many[("revenue", "D1")]


def test_kept_forecast_reads_the_keep_and_never_computes(demo_path):
    wh = open_warehouse(demo_path)  # a copy of its own: nothing another test made is kept for it
    assert kept_forecast(wh, "revenue", "D1", "2026-Q4", DEMO_TODAY) is None
    assert kept_forecast(wh, "revenue", "D1", "2026-Q4", DEMO_TODAY) is None  # asking made none
    made = forecast(wh, "revenue", "D1", "2026-Q4", today=DEMO_TODAY)
    assert kept_forecast(wh, "revenue", "D1", "2026-Q4", DEMO_TODAY) is made
    assert kept_forecasts(wh, ["revenue", "order_count"], "D1", "2026-Q4", DEMO_TODAY) == {"revenue": made,
                                                                                          "order_count": None}
    outsider = Actor("wang", "manager", ("D2",))
    assert kept_forecast(wh, "revenue", "D1", "2026-Q4", DEMO_TODAY, actor=outsider) is None  # out of reach
    assert kept_forecast(wh, "no_such_metric", "D1", "2026-Q4", DEMO_TODAY) is None
    assert kept_forecast(wh, "revenue", "NOWHERE", "2026-Q4", DEMO_TODAY) is None


def test_warm_keeps_the_companys_forecasts_for_the_periods_in_progress(demo_path):
    wh = open_warehouse(demo_path)
    assert in_progress(wh, DEMO_TODAY) == ["2026-Q4", "2026"]  # November's data is in: December is to come
    assert in_progress(wh, dt.date(2026, 12, 31)) == ["2026-Q4", "2026"]
    tree, _ = context(wh)
    card = unit_scorecard(wh, tree, "HQ", "2026-Q4", today=DEMO_TODAY)
    heaviest = max(card.items, key=lambda it: it["share"])["metric"]
    orgs = ["HQ", *tree.children["HQ"]]
    assert all(kept_forecast(wh, heaviest, o, "2026-Q4", DEMO_TODAY) is None for o in orgs)
    assert warm(wh, DEMO_TODAY, limit=len(orgs) + 1) == len(orgs) + 1
    warmed = [kept_forecast(wh, heaviest, o, "2026-Q4", DEMO_TODAY) for o in orgs]
    assert all(f is not None for f in warmed)  # the heaviest metric at each unit (or why it has none: D6)
    assert warmed[0].value is not None and warmed[0].reason is None
    assert warmed[0] is forecast(wh, heaviest, "HQ", "2026-Q4", today=DEMO_TODAY)  # what the cockpit reads
    assert kept_forecast(wh, heaviest, "HQ", "2026", DEMO_TODAY) is None  # the year: after every quarter's
    assert WARM_LIMIT <= 60


def test_warm_skips_a_forecast_that_fails(demo_path, monkeypatch):
    import kpi_core.query.forecast as fc

    wh = open_warehouse(demo_path)
    calls = []

    def failing(*args, **kw):
        calls.append(args)
        raise RuntimeError("a series the methods choke on")

    monkeypatch.setattr(fc, "forecast", failing)
    assert fc.warm(wh, DEMO_TODAY, limit=3) == 0 and len(calls) == 3  # each tried, none kept, no error
