"""Period-end forecasts on the demo company, checked against the query API's own numbers."""

from __future__ import annotations

import pytest

from kpi_core.engine import attainment as att
from kpi_core.engine.forecast_methods import METHODS
from kpi_core.engine.formula import evaluate
from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, NotFound
from kpi_core.query.api import Query, context, run
from kpi_core.query.forecast import forecast, forecasts
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
