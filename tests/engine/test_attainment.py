"""SPEC §3 arithmetic: one parametrized case per rule."""

import math

import pytest

from kpi_core.engine.attainment import attainment, grade, kpi_score, okr_progress, score, status, weighted_score

HI, LO, IN = "higher_is_better", "lower_is_better", "in_range"


@pytest.mark.parametrize("actual, target, direction, low, high, expected", [
    (110, 100, HI, None, None, 1.10),
    (90, 100, HI, None, None, 0.90),
    (0, 100, HI, None, None, 0.0),
    (-50, 100, HI, None, None, -0.5),
    (-80, -100, HI, None, None, 1.20),     # a planned loss of 100, lost only 80: better
    (-120, -100, HI, None, None, 0.80),
    (80, 100, LO, None, None, 1.20),       # cost under target
    (120, 100, LO, None, None, 0.80),
    (-120, -100, LO, None, None, 1.20),
    (35, None, IN, 30, 45, 1.0),
    (30, None, IN, 30, 45, 1.0),
    (45, None, IN, 30, 45, 1.0),
    (27, None, IN, 30, 45, 0.8),           # 3 below, width 15
    (51, None, IN, 30, 45, 0.6),
    (12, None, IN, 10, 10, 0.8),           # a point range: / |low|
    (0.5, None, IN, 0, 0, 0.5),            # a point range at 0: / 1
    (100, 0, HI, None, None, None),        # zero target: no attainment
    (None, 100, HI, None, None, None),
    (100, None, HI, None, None, None),
    (float("nan"), 100, HI, None, None, None),
    (35, None, IN, None, None, None),
])
def test_attainment(actual, target, direction, low, high, expected):
    a = attainment(actual, target, direction, low, high)
    assert a == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("actual, target, direction, kw, code, fragment", [
    (100, 100, HI, {}, "green", "≥ green threshold 100.0%"),
    (95, 100, HI, {}, "amber", "≥ amber threshold 90.0%"),
    (89, 100, HI, {}, "red", "below amber threshold 90.0%"),
    (90, 100, HI, {}, "amber", "attainment 90.0%"),
    (96, 100, HI, {"green": 0.95, "amber": 0.8}, "green", "green threshold 95.0%"),
    (79, 100, HI, {"green": 0.95, "amber": 0.8}, "red", "amber threshold 80.0%"),
    (105, 100, LO, {}, "amber", "attainment 95.0%"),
    (0, 0, LO, {}, "green", "zero target met"),
    (2, 0, LO, {}, "red", "zero target missed"),
    (-1, 0, HI, {}, "red", "zero target missed"),
    (0, 0, HI, {}, "green", "zero target met"),
    (None, 100, HI, {}, "no_data", "no actual"),
    (100, None, HI, {}, "no_target", "no target"),
    (40, None, IN, {"low": 30, "high": 45}, "green", "attainment 100.0%"),
    (29, None, IN, {"low": 30, "high": 45}, "amber", "attainment 93.3%"),
    (20, None, IN, {"low": 30, "high": 45}, "red", "attainment 33.3%"),
    (40, None, IN, {}, "no_target", "no target range"),
])
def test_status_and_its_rule(actual, target, direction, kw, code, fragment):
    s = status(actual, target, direction, **kw)
    assert s.code == code and fragment in s.rule


@pytest.mark.parametrize("a, floor, cap, expected", [
    (1.0, 0.0, 1.2, 100.0),
    (1.5, 0.0, 1.2, 120.0),
    (0.5, 0.0, 1.2, 50.0),
    (-0.3, 0.0, 1.2, 0.0),
    (0.59, 0.6, 1.2, 0.0),
    (0.6, 0.6, 1.2, 60.0),
    (1.1, 0.0, 1.0, 100.0),
    (None, 0.0, 1.2, None),
])
def test_score(a, floor, cap, expected):
    assert score(a, floor, cap) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("actual, target, direction, expected", [
    (0, 0, LO, 100.0), (3, 0, LO, 0.0), (110, 100, HI, 110.0), (None, 100, HI, None), (130, 100, HI, 120.0),
])
def test_kpi_score(actual, target, direction, expected):
    got = kpi_score(actual, target, direction)
    assert got == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("items, expected", [
    ([(1, 100), (1, 80)], 90.0),
    ([(3, 100), (1, 60)], 90.0),
    ([(1, 100), (5, None)], 100.0),        # a metric without a score does not count
    ([(1, None)], None),
    ([], None),
    ([(0, 50), (2, 80)], 80.0),
])
def test_weighted_score(items, expected):
    assert weighted_score(items) == expected


@pytest.mark.parametrize("s, expected", [
    (120, "S"), (110, "S"), (109.9, "A"), (100, "A"), (95, "B"), (90, "B"), (80, "C"), (75, "C"), (74.9, "D"),
    (0, "D"), (None, None),
])
def test_grade_default_bands(s, expected):
    assert grade(s) == expected


def test_grade_custom_bands():
    assert grade(85, [("优秀", 90), ("良好", 80)], lowest="待改进") == "良好"
    assert grade(70, [("优秀", 90), ("良好", 80)], lowest="待改进") == "待改进"


@pytest.mark.parametrize("actual, start, target, expected", [
    (50, 0, 100, 0.5), (150, 0, 100, 1.0), (-10, 0, 100, 0.0), (30, 40, 20, 0.5), (5, 5, 5, None), (None, 0, 1, None),
])
def test_okr_progress(actual, start, target, expected):
    assert okr_progress(actual, start, target) == expected


def test_never_inf_or_nan():
    for a in (attainment(1e308, 1e-308), attainment(5, -0.0), score(float("inf"))):
        assert a is None or math.isfinite(a)
    assert status(1e308, 1e-308).code == "no_target"
