"""Rolling-origin backtests and their errors: MASE and MAPE on small tables worked by hand."""

from __future__ import annotations

import pytest

from kpi_core.engine.backtest import backtest, mae, mape, mase, naive_scale, origins, usable


@pytest.mark.parametrize(("actual", "predicted", "expected"), [
    ([10, 20], [12, 17], 2.5),          # |−2| and |3|: (2 + 3) / 2
    ([5, 5, 5], [5, 5, 5], 0.0),
    ([-4], [4], 8.0),
])
def test_mae(actual, predicted, expected):
    assert mae(actual, predicted) == pytest.approx(expected)


@pytest.mark.parametrize(("actual", "predicted", "expected"), [
    ([100, 200], [110, 150], (0.10 + 0.25) / 2),
    ([-50], [-40], 0.2),                 # |error| / |actual|: a negative actual still has a percentage
    ([0, 10], [1, 10], None),            # a zero actual: MAPE is undefined, not infinite
    ([], [], None),
])
def test_mape(actual, predicted, expected):
    got = mape(actual, predicted)
    assert got == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(("history", "expected"), [
    ([1, 3, 2, 6], (2 + 1 + 4) / 3),     # the mean absolute one-step change
    ([7, 7, 7], None),                   # never changed: MASE has no scale
    ([7], None),
])
def test_naive_scale(history, expected):
    got = naive_scale(history)
    assert got == (None if expected is None else pytest.approx(expected))


def test_mase_scales_the_mae_by_the_naive_error():
    assert mase([10, 20], [12, 17], 5.0) == pytest.approx(0.5)
    assert mase([10, 20], [12, 17], None) is None


def test_backtest_of_naive_on_a_table_worked_by_hand():
    y = [1.0, 3.0, 2.0, 6.0, 4.0, 8.0]
    at = range(3, 6)   # origins 3, 4, 5: naive says y[o-1] for every step ahead
    s = backtest(y, "naive", 2, at, season=None)
    # origin 3: says 2, 2 for 6, 4; origin 4: says 6, 6 for 4, 8; origin 5: says 4 for 8
    errors = [6 - 2, 4 - 2, 4 - 6, 8 - 6, 8 - 4]
    assert [t.origin for t in s.trials] == [3, 4, 5]
    assert s.errors == 5
    assert s.mae == pytest.approx(sum(abs(e) for e in errors) / 5)
    scale = (2 + 1) / 2                  # the history before the first origin: 1, 3, 2
    assert s.mase == pytest.approx(s.mae / scale)
    assert s.mape == pytest.approx((4 / 6 + 2 / 4 + 2 / 4 + 2 / 8 + 4 / 8) / 5)


@pytest.mark.parametrize(("n", "season", "expected"), [
    (3, 12, []),                                          # 3 points: not even naive has three origins
    (4, 12, ["naive"]),
    (6, 12, ["naive", "run_rate"]),
    (7, 12, ["naive", "run_rate", "ets"]),
    (15, 12, ["naive", "seasonal_naive", "run_rate", "ets"]),
    (16, 12, ["naive", "seasonal_naive", "run_rate", "seasonal", "ets"]),
    (16, None, ["naive", "run_rate", "ets"]),             # no season (a yearly series): no seasonal methods
])
def test_methods_usable_grow_with_the_history(n, season, expected):
    assert usable([1.0] * n, season) == expected


def test_origins_are_the_last_twelve_after_the_longest_need():
    assert origins([1.0] * 30, ["naive", "seasonal"], 12) == range(18, 30)
    assert origins([1.0] * 20, ["naive", "seasonal"], 12) == range(13, 20)   # seasonal needs 13 points
    assert origins([1.0] * 6, ["naive"], 12) == range(1, 6)
