"""Numbers on screen: per unit and language, never None/NaN/inf."""

import math

import pytest

from kpi_core.present import format as fmt


@pytest.mark.parametrize("v, unit, lang, expected", [
    (123456789, "CNY", "zh", "¥1.23亿"),
    (12345678, "CNY", "zh", "¥1,234.6万"),
    (45678, "CNY", "zh", "¥4.57万"),
    (950, "CNY", "zh", "¥950"),
    (-2500000, "CNY", "zh", "-¥250.0万"),
    (123456789, "CNY", "en", "¥123.5M"),
    (12345, "USD", "en", "$12.35K"),
    (0.3521, "%", "zh", "35.2%"),
    (1.0, "%", "en", "100.0%"),
    (12.46, "days", "zh", "12.5 天"),
    (12.46, "days", "en", "12.5 days"),
    (4.266, "score", "en", "4.27"),
    (1234, "count", "en", "1.23K"),
    (1234, "count", "zh", "1,234"),
    (896.33, "count", "zh", "896"),          # a phased target of people: counts show no decimals
    (896.5, "count", "en", "896"),           # rounded half to even, as Python rounds
    (12345.6, "count", "zh", "1.23万"),
    (-0.4, "count", "zh", "0"),
    (3.5, None, "zh", "3.50"),
    (None, "CNY", "zh", "—"),
    (math.nan, "%", "zh", "—"),
    (math.inf, "CNY", "en", "—"),
    (True, "count", "en", "—"),
])
def test_value(v, unit, lang, expected):
    assert fmt.value(v, unit, lang) == expected


@pytest.mark.parametrize("now, before, unit, expected", [
    (110, 100, "CNY", "+10.0%"),
    (90, 100, None, "-10.0%"),
    (0.35, 0.30, "%", "+5.0 pt"),
    (5, 0, "count", "—"),
    (None, 3, "count", "—"),
    (-50, -100, "CNY", "+50.0%"),  # a loss halved is a gain
    (0.3, 0.30000001, "%", "0.0 pt"),  # a change that rounds to zero is 0.0, never -0.0
    (99.999, 100, "CNY", "0.0%"),
    (100, 100, None, "0.0%"),
])
def test_change(now, before, unit, expected):
    assert fmt.change(now, before, unit) == expected


@pytest.mark.parametrize("a, expected", [(0.953, "95.3%"), (None, "—"), (math.nan, "—"), (1.2, "120.0%")])
def test_percent(a, expected):
    assert fmt.percent(a) == expected


@pytest.mark.parametrize("a, expected", [
    (-0.889, "0.0%"),     # SPEC §3: below 0 is shown as 0 % (the exact figure is in the status rule)
    (-0.0001, "0.0%"),
    (0.0, "0.0%"),
    (0.953, "95.3%"),
    (1.2, "120.0%"),
    (None, "—"),
    (math.inf, "—"),
])
def test_attainment_as_shown(a, expected):
    assert fmt.attainment(a) == expected


@pytest.mark.parametrize("unit, expected", [("count", True), ("人", True), (" 件 ", True), ("CNY", False), ("%", False),
                                            (None, False), ("", False)])
def test_is_count(unit, expected):
    assert fmt.is_count(unit) is expected
