"""Period-end forecasts on series with known answers: a constant, a linear trend, a seasonal
series, zeros, and histories too short to backtest."""

from __future__ import annotations

import math

import pytest

from kpi_core.engine.backtest import Score
from kpi_core.engine.forecast import Z80, choose, combine, project
from kpi_core.engine.forecast_methods import naive, run_rate, seasonal_naive, seasonal_shape


def seasonal(n: int) -> list[float]:
    """1 % growth a month times a ±30 % yearly wave: what last year's shape at this year's level
    describes exactly (the same months a year apart differ by the year's growth alone)."""
    return [100 * 1.01 ** t * (1 + 0.3 * math.sin(2 * math.pi * t / 12)) for t in range(n)]


@pytest.mark.parametrize(("agg", "to_date", "done", "rest", "expected"), [
    ("sum", 30.0, 2, [10.0, 20.0], 60.0),
    ("avg", 4.0, 2, [7.0], (4 * 2 + 7) / 3),          # the whole period's mean, to-date mean weighted by its months
    ("last", 4.0, 2, [7.0, 9.0], 9.0),
    ("min", 4.0, 2, [7.0, 3.0], 3.0),
    ("max", 4.0, 2, [7.0, 3.0], 7.0),
    ("sum", None, 0, [1.0, 2.0], 3.0),               # nothing done yet: the forecasts alone
    ("sum", 5.0, 3, [], 5.0),
])
def test_combine_follows_the_time_agg(agg, to_date, done, rest, expected):
    assert combine(agg, to_date, done, rest) == pytest.approx(expected)


@pytest.mark.parametrize(("method", "history", "h", "season", "expected"), [
    (naive, [1, 2, 5], 2, None, [5, 5]),
    (seasonal_naive, [1, 2, 3, 4], 5, 4, [1, 2, 3, 4, 1]),
    (run_rate, [9, 1, 2, 6], 2, None, [3, 3]),          # the mean of the last three
    (seasonal_naive, [1, 2], 1, 4, None),                # shorter than a season
    # last year's shape, this year's level: the last 3 periods are twice the same periods a season before
    (seasonal_shape, [1, 2, 3, 4, 2, 4, 6, 8], 2, 4, [4, 8]),
    # a zero base: the same period a season before (1) moved by the mean difference (1 - 0) instead of a ratio
    (seasonal_shape, [0, 0, 0, 0, 1, 1, 1, 1], 1, 4, [2]),
])
def test_simple_methods(method, history, h, season, expected):
    got = method([float(v) for v in history], h, season)
    assert got == (None if expected is None else pytest.approx(expected))


def test_a_constant_series_forecasts_the_constant_with_no_width():
    p = project([5.0] * 20, 3, "sum", to_date=10.0, done=2, left=1)
    assert p.value == pytest.approx(15.0)           # 10 to date + 5 for the month left
    assert p.low == pytest.approx(15.0) and p.high == pytest.approx(15.0)
    assert p.method == "naive"                      # nothing beats naive on a constant: naive is kept, said so
    assert [n.code for n in p.notes] == ["forecast_note_naive_kept"]
    assert p.mase is None                           # the history never changed: MASE has no scale
    assert p.mape == 0.0


def test_a_linear_trend_is_followed_by_ets():
    y = [100.0 + 3 * t for t in range(24)]
    p = project(y, 3, "sum")
    truth = sum(100.0 + 3 * t for t in range(24, 27))   # 172 + 175 + 178
    assert p.method == "ets"                        # the only method that follows a trend
    # A damped trend (statsmodels keeps the damping below 1) falls a little behind a straight line:
    # within 0.2 % of the truth three steps on, and the interval holds the truth.
    assert p.value == pytest.approx(truth, rel=0.002)
    assert p.low <= truth <= p.high
    assert p.scores["ets"].mase < p.scores["naive"].mase


def test_a_seasonal_series_chooses_last_years_shape():
    y = seasonal(27)
    history, future = y[:24], y[24:]
    p = project(history, 3, "sum")
    assert p.method == "seasonal"
    # The method is exact for a fixed wave times constant growth; the tolerance is float rounding.
    assert p.value == pytest.approx(sum(future), rel=1e-9)
    assert p.scores["seasonal"].mape < 1e-9 < p.scores["seasonal_naive"].mape


def test_the_interval_is_the_backtest_error_at_the_whole_horizon():
    y = seasonal(24)
    y = [v + (7.0 if t % 2 else -7.0) for t, v in enumerate(y)]   # noise the seasonal method cannot foresee
    p = project(y, 1, "sum", to_date=50.0, done=2, left=1)
    s = p.scores[p.method]
    errors = [t.actual[0] - t.predicted[0] for t in s.trials]      # one step: each origin saw the whole horizon
    sigma = math.sqrt(sum(e * e for e in errors) / len(errors))
    assert p.high - p.value == pytest.approx(Z80 * sigma)
    assert p.value - p.low == pytest.approx(Z80 * sigma)


def test_zeros_leave_mape_undefined():
    y = [0.0, 4.0, 0.0, 5.0, 0.0, 6.0, 0.0, 4.0, 0.0, 5.0, 0.0, 6.0, 0.0, 5.0]
    p = project(y, 2, "sum")
    assert all(s.mape is None for s in p.scores.values())
    # a series never below 0 is not forecast below it
    assert p.value is not None and math.isfinite(p.value) and p.low >= 0


@pytest.mark.parametrize(("history", "value"), [
    ([1.0, 2.0], 4.0),            # two points: the last value held for both periods left
    ([3.0], 6.0),
])
def test_a_short_series_holds_the_last_value_and_says_so(history, value):
    p = project(history, 2, "sum")
    assert (p.method, p.value, p.low, p.high) == ("naive", value, None, None)
    assert [n.code for n in p.notes] == ["forecast_note_too_short"]


def test_a_series_too_short_for_some_methods_names_them():
    p = project([float(v) for v in range(1, 8)], 1, "sum")          # 7 points: no seasonal methods
    assert set(p.scores) == {"naive", "run_rate", "ets"}
    assert p.notes[0].code == "forecast_note_skipped" and "seasonal" in p.notes[0]


def test_no_history_no_forecast():
    p = project([], 2, "sum")
    assert (p.method, p.value, p.low) == (None, None, None)


def _score(method: str, mae: float) -> Score:
    return Score(method, (), mae, None, None)


@pytest.mark.parametrize(("maes", "expected", "notes"), [
    ({"naive": 2.0, "run_rate": 1.0, "ets": 1.5}, "run_rate", []),
    ({"naive": 1.0, "run_rate": 1.0, "ets": 3.0}, "naive", ["forecast_note_naive_kept"]),   # a tie does not beat it
    ({"naive": 1.0, "seasonal": 1.2}, "naive", ["forecast_note_naive_kept"]),
    ({"naive": 1.0, "seasonal_naive": 0.1}, "naive", []),   # a baseline is compared with, never chosen
])
def test_a_method_that_does_not_beat_naive_is_not_used(maes, expected, notes):
    method, said = choose({m: _score(m, v) for m, v in maes.items()})
    assert method == expected and [n.code for n in said] == notes
