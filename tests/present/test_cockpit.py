"""The cockpit's places: periods offered down a grain, the period a page opens on."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_core.model.org import build_tree
from kpi_core.present.cockpit import coarser_periods, default_period, finer_periods, place_from

TREE = build_tree([("HQ", "总部", None), ("D1", "一部", "HQ")])


@pytest.mark.parametrize("period, latest, expected", [
    ("2026", None, ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]),
    ("2026", "2026-11", ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]),
    ("2026", "2026-06", ["2026-Q1", "2026-Q2"]),           # no quarter that starts after the data
    ("2026-Q4", "2026-11", ["2026-10", "2026-11"]),          # December is not offered yet
    ("2026-Q4", "2026-10", ["2026-10"]),
    ("2026-Q3", "2026-11", ["2026-07", "2026-08", "2026-09"]),
    ("2026-05", "2026-11", []),
])
def test_finer_periods_stop_at_the_latest_data(period, latest, expected):
    assert finer_periods(period, latest) == expected


@pytest.mark.parametrize("period, expected", [("2026-05", ["2026", "2026-Q2"]), ("2026-Q2", ["2026"]), ("2026", [])])
def test_coarser_periods(period, expected):
    assert coarser_periods(period) == expected


@pytest.mark.parametrize("params, latest, expected, said", [
    ({}, "2026-11", ("HQ", "2026-11"), []),                     # opens on the latest month with data
    ({}, None, ("HQ", "2026-10"), []),                          # no data yet: the last full month
    ({"org": "d1", "period": "2026-q3"}, "2026-11", ("D1", "2026-Q3"), []),  # a link wins, written loosely
    ({"period": "2026-Q4"}, "2026-11", ("HQ", "2026-Q4"), []),  # a period in progress is fine
    ({"period": "2026-13"}, "2026-08", ("HQ", "2026-08"), ["present_bad_period"]),  # falls back to the latest
    ({"period": "2026-12"}, "2026-11", ("HQ", "2026-11"), ["present_period_after_data"]),  # past the data
    ({"period": "2027"}, "2026-11", ("HQ", "2026-11"), ["present_period_after_data"]),
    ({"org": "MARS"}, "2026-11", ("HQ", "2026-11"), ["present_no_such_unit"]),
])
def test_place_from(params, latest, expected, said):
    place, problems = place_from(params, TREE, dt.date(2026, 11, 30), latest)
    assert (place.org, place.period) == expected and [p.code for p in problems] == said
    assert default_period(dt.date(2026, 11, 30), latest) == (latest or "2026-10")
