"""parse_number: a number cell the way people type it (SPEC §5), refused with the value when it is not one."""

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi_core.model.numbers import parse_number


@pytest.mark.parametrize("raw, expected", [
    # thousands separators, percent, full width, accounting negatives (SPEC §5)
    ("1,234.5", 1234.5),
    ("1,234,567.89", 1234567.89),
    ("12.3%", 0.123),
    ("12.3 %", 0.123),
    ("100%", 1.0),
    ("5‰", 0.005),
    ("１２３", 123.0),
    ("１，２３４．５", 1234.5),
    ("１２．５％", 0.125),
    ("(1,200)", -1200.0),
    ("（100）", -100.0),
    ("(12%)", -0.12),
    # signs
    ("-0.5", -0.5),
    ("+5", 5.0),
    ("－５", -5.0),
    ("\u22123", -3.0),  # the typographic minus sign
    # currency symbols before or after
    ("¥1,234", 1234.0),
    ("$5", 5.0),
    ("€3.5", 3.5),
    ("£2", 2.0),
    ("1,234元", 1234.0),
    ("-¥5", -5.0),
    ("¥-5", -5.0),
    ("(¥1,200)", -1200.0),
    # Chinese units of ten thousand and a hundred million
    ("12万", 120000.0),
    ("1.5亿", 150000000.0),
    ("1,234万", 12340000.0),
    # spacing, plain forms
    (" 42 ", 42.0),
    ("\u00a07\u00a0", 7.0),
    ("1 234", 1234.0),
    ("0", 0.0),
    (".5", 0.5),
    ("5.", 5.0),
    ("1e3", 1000.0),
    ("1.5E-2", 0.015),
])
def test_text_numbers(raw, expected):
    assert parse_number(raw) == expected


@pytest.mark.parametrize("cell, expected", [
    (3, 3.0),
    (-1, -1.0),
    (0, 0.0),
    (2.5, 2.5),
    (1e15, 1e15),
    (0.1 + 0.2, 0.1 + 0.2),  # a number cell is taken as it is, not rounded
])
def test_excel_number_cells(cell, expected):
    value = parse_number(cell)
    assert value == expected and isinstance(value, float)


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000", "\t", float("nan")])
def test_blank_cells_are_none(blank):
    assert parse_number(blank) is None


@pytest.mark.parametrize("cell, shown", [
    ("abc", "abc"),
    ("N/A", "N/A"),
    ("-", "-"),
    ("--", "--"),
    ("12.3.4", "12.3.4"),
    ("#DIV/0!", "#DIV/0!"),
    ("RMB 5", "RMB 5"),
    ("1_000", "1_000"),
    ("0x10", "0x10"),
    ("NaN", "NaN"),
    ("inf", "inf"),
    ("十二", "十二"),
    # a comma that is not a thousands separator may be a decimal comma: refused, not guessed
    ("1,5", "1,5"),
    ("12,34", "12,34"),
    ("1,2,3", "1,2,3"),
    ("1,234,56", "1,234,56"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (True, "True"),
    (False, "False"),
    (date(2025, 1, 31), "2025-01-31"),
    (datetime(2025, 1, 31, 8, 30), "2025-01-31"),
])
def test_not_a_number_names_the_value(cell, shown):
    with pytest.raises(ValueError) as err:
        parse_number(cell)
    assert shown in str(err.value)


def test_decimal_comma_message_says_why():
    with pytest.raises(ValueError, match="commas may only separate thousands"):
        parse_number("1,5")


def test_percent_has_no_binary_noise():
    assert parse_number("12.3%") == 0.123
    assert parse_number("33.3%") == 0.333
    assert parse_number("0.7%") == 0.007


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_thousands_separated_integers_round_trip(n):
    assert parse_number(f"{n:,}") == n
    assert parse_number(f"({abs(n):,})") == -abs(n)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_repr_of_a_float_round_trips(x):
    assert parse_number(repr(x)) == x


@pytest.mark.parametrize("text", ["-", "—", "N/A", "无", "/"])
def test_placeholders_for_nothing_are_refused_with_a_hint(text):
    with pytest.raises(ValueError, match="leave the cell empty"):
        parse_number(text)


# --- read exactly, or refuse (SPEC §5): what looks like a number but is not the one it shows ---

@pytest.mark.parametrize("cell, fragment", [
    ("10²", "SUPERSCRIPT TWO"),            # NFKC would read 102
    ("1⁵", "SUPERSCRIPT FIVE"),
    ("₂5", "SUBSCRIPT TWO"),
    ("①", "CIRCLED DIGIT ONE"),
    ("½", "VULGAR FRACTION ONE HALF"),
    ("٣٤", "ARABIC-INDIC DIGIT THREE"),     # float() would take 34
    ("१२", "DEVANAGARI DIGIT ONE"),
    ("Ⅻ", "ROMAN NUMERAL TWELVE"),
    ("1\u200b00", "\\u200b"),               # a zero-width space the author cannot see
    ("\u202e001", "\\u202e"),               # a bidi override: shows 100, holds 001
    ("12\x1b[31m", "\\x1b"),
    ("(-1,200)", "sign inside accounting brackets"),
    ("(+5)", "sign inside accounting brackets"),
    ("(¥-5)", "sign inside accounting brackets"),
    ("1e999", "not a finite number"),
    ("-1E400", "not a finite number"),
    ("1e300", "too large"),
    ("1e17万", "too large"),
    (1e300, "too large"),
    ("12345678901234567", "17 digits"),     # a double keeps 15: 12345678901234568
    ("12 34", "spaces inside the number"),
    ("1\t2", "spaces inside the number"),
    ("12%%", "two units"),
    ("3万%", "two units"),
])
def test_what_is_not_the_number_it_shows_is_refused(cell, fragment):
    with pytest.raises(ValueError) as err:
        parse_number(cell)
    assert fragment in str(err.value)
    assert "\x1b" not in str(err.value) and "\u200b" not in str(err.value) and "\u202e" not in str(err.value)


@pytest.mark.parametrize("cell, expected", [
    ("1 234 567", 1234567.0),
    ("1 234 567.5", 1234567.5),
    ("- 5", -5.0),
    ("¥ 100", 100.0),
    ("¥(1,200)", -1200.0),
    ("-0", 0.0),
    ("123456789012345", 123456789012345.0),   # 15 digits: exact
    ("1e17", 1e17),
    ("０.５", 0.5),
    ("＄5", 5.0),
])
def test_plain_forms_still_read(cell, expected):
    value = parse_number(cell)
    assert value == expected and str(value) == str(expected)  # -0.0 would print as '-0.0'


@pytest.mark.parametrize("cell, percent, scaled", [
    ("12%", True, True), ("5‰", True, True), ("１２％", True, True), ("(12%)", True, True),
    ("12万", False, True), ("12", False, False), (0.12, False, False), ("¥12", False, False),
])
def test_a_reading_says_whether_it_was_a_percentage(cell, percent, scaled):
    from kpi_core.model.numbers import read_number

    r = read_number(cell)
    assert (r.percent, r.scaled) == (percent, scaled)
