"""Numbers on screen: per unit and language, never None/NaN/inf."""

import json
import math

import pytest

from kpi_core.model import display as fmt


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


# --- chart axes (format.axis_labels, the Vega rule, and axis_number, the same rule in Python) ---

@pytest.mark.parametrize("v, unit, lang, expected", [
    (0, "CNY", "zh", "0"),
    (5000, "CNY", "zh", "5,000"),
    (10000, "CNY", "zh", "1万"),
    (50_000_000, "CNY", "zh", "5,000万"),
    (100_000_000, "CNY", "zh", "1亿"),
    (150_000_000, "CNY", "zh", "1.5亿"),
    (200_000_000, "CNY", "zh", "2亿"),
    (2.5e12, "CNY", "zh", "2.5万亿"),
    (-200_000_000, "CNY", "zh", "−2亿"),     # d3 writes a minus as U+2212
    (12345, "count", "zh", "1.2345万"),
    (999, "count", "en", "999"),
    (1000, "count", "en", "1K"),
    (200_000_000, "CNY", "en", "200M"),
    (1.5e9, "CNY", "en", "1.5B"),
    (2.5e12, "CNY", "en", "2,500B"),
    (0.5, "score", "en", "0.5"),
    (41.5, "days", "zh", "41.5"),
    (0, "%", "zh", "0%"),
    (0.985, "%", "zh", "98.5%"),
    (0.07, "%", "en", "7%"),               # 0.07 × 100 is 7.000000000000001: still 7%
    (1.2, "%", "en", "120%"),
    (-0.05, "%", "zh", "−5%"),
])
def test_an_axis_number_is_written_as_the_viewer_reads_it(v, unit, lang, expected):
    assert fmt.axis_number(v, unit, lang) == expected


@pytest.mark.parametrize("unit, lang, has, has_not", [
    ("CNY", "zh", ["'亿'", "'万'", "'万亿'"], ["'M'", "'K'", "'B'", "~s"]),
    ("count", "zh", ["'亿'", "'万'"], ["'M'", "'K'", "~s"]),
    ("CNY", "en", ["'B'", "'M'", "'K'"], ["亿", "万", "~s"]),
    ("%", "zh", ["'~%'"], ["亿", "~s"]),
    ("%", "en", ["'~%'"], ["'M'", "~s"]),
])
def test_the_axis_rule_per_unit_and_language(unit, lang, has, has_not):
    text = json.dumps(fmt.axis_labels(unit, lang), ensure_ascii=False)
    assert all(h in text for h in has) and not any(h in text for h in has_not), text


@pytest.mark.parametrize("unit, lang, expected", [
    ("CNY", "zh", "元"), ("CNY", "en", "CNY"), ("¥", "zh", "元"), ("USD", "en", "USD"), ("%", "zh", "%"),
    ("days", "zh", "天"), ("days", "en", "days"), ("hours", "en", "hours"), ("count", "zh", ""),
    ("score", "en", ""), ("人", "zh", "人"), (None, "zh", ""),
])
def test_the_unit_an_axis_title_names(unit, lang, expected):
    assert fmt.unit_word(unit, lang) == expected
