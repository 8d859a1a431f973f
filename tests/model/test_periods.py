"""Periods: every way SPEC §5 lets people write one, and the Period arithmetic built on them."""

from datetime import date, datetime

import pytest

from kpi_core.model.periods import (
    Period,
    PeriodError,
    find_year,
    last_full_month,
    month_range,
    parse_period,
    period_choice,
    period_options,
    planning_years,
    try_parse_period,
)

M, Q, Y = "month", "quarter", "year"


@pytest.mark.parametrize("raw, year, grain, label", [
    # months (SPEC §5: 2025-03, 2025/3, 2025年3月)
    ("2025-03", None, M, "2025-03"),
    ("2025-3", None, M, "2025-03"),
    ("2025/3", None, M, "2025-03"),
    ("2025/03", None, M, "2025-03"),
    ("2025.3", None, M, "2025-03"),
    ("202503", None, M, "2025-03"),
    ("2025年3月", None, M, "2025-03"),
    ("2025年03月", None, M, "2025-03"),
    ("2025年3月份", None, M, "2025-03"),
    ("2025 年 3 月", None, M, "2025-03"),
    ("2025 1月", None, M, "2025-01"),  # a stacked header: year cell 2025 over a 1月 cell
    ("２０２５－０３", None, M, "2025-03"),
    (" 2025-03 ", None, M, "2025-03"),
    # dates written as text count as their month
    ("2025-03-15", None, M, "2025-03"),
    ("2025/3/15", None, M, "2025-03"),
    ("2025/3/15 10:00", None, M, "2025-03"),
    ("2025-03-01 00:00:00", None, M, "2025-03"),
    ("2025-03-01T08:30:00", None, M, "2025-03"),
    ("2025年3月15日", None, M, "2025-03"),
    ("Mar-2025", None, M, "2025-03"),
    ("March 2025", None, M, "2025-03"),
    ("2025-Mar", None, M, "2025-03"),
    # quarters (SPEC §5: 2025Q1, 2025年第1季度)
    ("2025Q1", None, Q, "2025-Q1"),
    ("2025-Q1", None, Q, "2025-Q1"),
    ("2025 Q4", None, Q, "2025-Q4"),
    ("2025q2", None, Q, "2025-Q2"),
    ("Q1 2025", None, Q, "2025-Q1"),
    ("2025年第1季度", None, Q, "2025-Q1"),
    ("2025年第一季度", None, Q, "2025-Q1"),
    ("2025年二季度", None, Q, "2025-Q2"),
    ("2025第3季度", None, Q, "2025-Q3"),
    ("2025年Q4", None, Q, "2025-Q4"),
    # years
    ("2025", None, Y, "2025"),
    ("2025年", None, Y, "2025"),
    ("2025年度", None, Y, "2025"),
    ("FY2025", None, Y, "2025"),
    # a year given by context fills in 1月…12月 and Q1…Q4 (--year, sheet name, title row)
    ("1月", 2025, M, "2025-01"),
    ("3月", 2025, M, "2025-03"),
    ("12月", 2025, M, "2025-12"),
    (" 3 月 ", 2025, M, "2025-03"),
    ("3月份", 2025, M, "2025-03"),
    ("M3", 2025, M, "2025-03"),
    ("Mar", 2025, M, "2025-03"),
    ("may", 2024, M, "2024-05"),
    ("Q1", 2025, Q, "2025-Q1"),
    ("q4", 2025, Q, "2025-Q4"),
    ("第1季度", 2025, Q, "2025-Q1"),
    ("一季度", 2025, Q, "2025-Q1"),
    ("第四季度", 2025, Q, "2025-Q4"),
    # a full period ignores the context year
    ("2025-03", 2024, M, "2025-03"),
    ("2025Q1", 2024, Q, "2025-Q1"),
    # cells that are not text: dates, Excel date serials, numbers
    (date(2025, 3, 15), None, M, "2025-03"),
    (datetime(2025, 3, 1, 5, 0), None, M, "2025-03"),
    (45717, None, M, "2025-03"),     # Excel serial of 2025-03-01
    (45717.0, None, M, "2025-03"),
    (45747, None, M, "2025-03"),     # 2025-03-31
    (45748, None, M, "2025-04"),     # 2025-04-01
    ("45717", None, M, "2025-03"),   # a serial that arrived as text (a mixed column)
    (2025, None, Y, "2025"),
    (2025.0, None, Y, "2025"),
    (202503, None, M, "2025-03"),
])
def test_parse_period(raw, year, grain, label):
    p = parse_period(raw, year)
    assert (p.grain, p.label) == (grain, label)
    assert str(p) == label


@pytest.mark.parametrize("raw, year, fragment", [
    ("3月", None, "'3月' has no year"),
    ("12月", None, "'12月' has no year"),
    ("Q1", None, "'Q1' has no year"),
    ("第1季度", None, "'第1季度' has no year"),
    ("Mar", None, "'Mar' has no year"),
    ("3月", None, "--year"),
    ("2025-13", None, "month 13 is not 1-12"),
    ("2025-00", None, "month 0 is not 1-12"),
    ("2025年13月", None, "month 13 is not 1-12"),
    ("13月", 2025, "month 13 is not 1-12"),
    (202513, None, "month 13 is not 1-12"),
    ("2025Q5", None, "'2025Q5' is not a period"),
    ("Q5", 2025, "'Q5' is not a period"),
    ("abc", None, "'abc' is not a period"),  # not 'has no year': it is no month name at all
    ("abc", 2025, "'abc' is not a period"),
    ("2025H1", None, "'2025H1' is not a period"),
    ("25-03", None, "'25-03' is not a period"),
    ("3/2025", None, "'3/2025' is not a period"),
    ("", None, "is empty"),
    ("   ", None, "is empty"),
    (None, None, "is empty"),
    (True, None, "'True' is not a period"),
    (45717.5, None, "'45717.5' is not a period"),
    (3, 2025, "'3' is not a period"),
    (0, None, "'0' is not a period"),
    (1899, None, "'1899' is not a period"),
    ("1850", None, "year 1850 is out of range"),
])
def test_not_a_period(raw, year, fragment):
    with pytest.raises(ValueError) as err:
        parse_period(raw, year)
    assert fragment in str(err.value)
    assert try_parse_period(raw, year) is None


def test_parse_period_passes_a_period_through():
    p = Period(Q, 2025, 2)
    assert parse_period(p) is p


@pytest.mark.parametrize("period, months", [
    (Period(M, 2025, 3), ["2025-03"]),
    (Period(Q, 2025, 1), ["2025-01", "2025-02", "2025-03"]),
    (Period(Q, 2025, 4), ["2025-10", "2025-11", "2025-12"]),
    (Period(Y, 2025), [f"2025-{m:02d}" for m in range(1, 13)]),
])
def test_months(period, months):
    assert [m.label for m in period.months()] == months


@pytest.mark.parametrize("period, grain, label", [
    (Period(M, 2025, 3), M, "2025-03"),
    (Period(M, 2025, 3), Q, "2025-Q1"),
    (Period(M, 2025, 4), Q, "2025-Q2"),
    (Period(M, 2025, 12), Q, "2025-Q4"),
    (Period(M, 2025, 12), Y, "2025"),
    (Period(Q, 2025, 3), Y, "2025"),
    (Period(Y, 2025), Y, "2025"),
])
def test_to_a_coarser_grain(period, grain, label):
    assert period.to(grain).label == label


@pytest.mark.parametrize("period, grain", [(Period(Q, 2025, 1), M), (Period(Y, 2025), Q), (Period(Y, 2025), M)])
def test_to_a_finer_grain_is_refused(period, grain):
    with pytest.raises(ValueError, match="not inside one"):
        period.to(grain)


@pytest.mark.parametrize("period, n, label", [
    (Period(M, 2025, 3), 1, "2025-04"),
    (Period(M, 2025, 12), 1, "2026-01"),
    (Period(M, 2025, 1), -1, "2024-12"),
    (Period(M, 2025, 1), -13, "2023-12"),
    (Period(M, 2025, 3), 0, "2025-03"),
    (Period(Q, 2025, 4), 1, "2026-Q1"),
    (Period(Q, 2025, 1), -1, "2024-Q4"),
    (Period(Q, 2025, 2), 8, "2027-Q2"),
    (Period(Y, 2025), -2, "2023"),
])
def test_shift(period, n, label):
    assert period.shift(n).label == label


@pytest.mark.parametrize("outer, inner, inside", [
    (Period(Y, 2025), Period(M, 2025, 7), True),
    (Period(Y, 2025), Period(Q, 2025, 4), True),
    (Period(Y, 2025), Period(Y, 2025), True),
    (Period(Y, 2025), Period(M, 2024, 12), False),
    (Period(Q, 2025, 1), Period(M, 2025, 3), True),
    (Period(Q, 2025, 1), Period(M, 2025, 4), False),
    (Period(Q, 2025, 1), Period(Y, 2025), False),   # a year is not inside its first quarter
    (Period(M, 2025, 3), Period(M, 2025, 3), True),
    (Period(M, 2025, 3), Period(Q, 2025, 1), False),
])
def test_contains(outer, inner, inside):
    assert outer.contains(inner) is inside


def test_ordering_and_equality():
    ps = [Period(Y, 2025), Period(M, 2025, 2), Period(Q, 2025, 1), Period(M, 2024, 12), Period(M, 2025, 1),
          Period(Q, 2024, 4)]
    assert [p.label for p in sorted(ps)] == ["2024-Q4", "2024-12", "2025-01", "2025-Q1", "2025", "2025-02"]
    assert Period(M, 2025, 1) < Period(M, 2025, 2) <= Period(M, 2025, 2) < Period(M, 2026, 1)
    assert Period(M, 2025, 3) > Period(Q, 2025, 1)  # the quarter starts earlier
    assert parse_period("2025年3月") == parse_period("2025-03") == Period(M, 2025, 3)
    assert len({parse_period("2025Q1"), parse_period("2025年第1季度"), Period(Q, 2025, 1)}) == 1


@pytest.mark.parametrize("period, first, end", [
    (Period(M, 2025, 2), date(2025, 2, 1), date(2025, 3, 1)),
    (Period(M, 2025, 12), date(2025, 12, 1), date(2026, 1, 1)),
    (Period(Q, 2025, 4), date(2025, 10, 1), date(2026, 1, 1)),
    (Period(Y, 2025), date(2025, 1, 1), date(2026, 1, 1)),
])
def test_first_and_end_day(period, first, end):
    assert (period.first_day(), period.end_day()) == (first, end)


def test_month_range():
    assert [p.label for p in month_range(Period(M, 2024, 11), Period(Q, 2025, 1))] == [
        "2024-11", "2024-12", "2025-01", "2025-02", "2025-03"]
    assert [p.label for p in month_range(Period(Y, 2025), Period(Y, 2025))][::11] == ["2025-01", "2025-12"]


@pytest.mark.parametrize("text, year", [
    ("2025年销售目标", 2025),
    ("FY2024 actuals", 2024),
    ("２０２５年", 2025),
    ("Sheet1", None),
    ("12345", None),
    ("销售实际", None),
    (None, None),
])
def test_find_year(text, year):
    assert find_year(text) == year


@pytest.mark.parametrize("text, expected", [
    ("一月", "2025-01"), ("十月", "2025-10"), ("十一月", "2025-11"), ("十二月份", "2025-12"),
    ("2026年三月", "2026-03"), ("2026年十二月", "2026-12"),
])
def test_months_in_chinese_numerals(text, expected):
    assert parse_period(text, 2025).label == expected


# --- fiscal years: named by the calendar year they end in -------------------------------------

from kpi_core.model.periods import fiscal_year  # noqa: E402


@pytest.mark.parametrize("start, label, first, last", [
    (1, "2026", "2026-01", "2026-12"),
    (4, "2026", "2025-04", "2026-03"),
    (4, "2026-Q1", "2025-04", "2025-06"),
    (4, "2026-Q4", "2026-01", "2026-03"),
    (7, "2026-Q2", "2025-10", "2025-12"),
    (12, "2026", "2025-12", "2026-11"),
    (12, "2026-Q1", "2025-12", "2026-02"),
])
def test_fiscal_months(start, label, first, last):
    with fiscal_year(start):
        months = parse_period(label).months()
    assert (months[0].label, months[-1].label, len(months)) == (first, last, 3 if "Q" in label else 12)


@pytest.mark.parametrize("start, month, quarter, year", [
    (1, "2026-03", "2026-Q1", "2026"),
    (4, "2026-03", "2026-Q4", "2026"),
    (4, "2026-04", "2027-Q1", "2027"),
    (4, "2025-12", "2026-Q3", "2026"),
    (10, "2025-10", "2026-Q1", "2026"),
    (10, "2025-09", "2025-Q4", "2025"),
])
def test_fiscal_containment(start, month, quarter, year):
    with fiscal_year(start):
        m = parse_period(month)
        assert (m.to(Q).label, m.to(Y).label) == (quarter, year)
        assert parse_period(quarter).contains(m) and parse_period(year).contains(m)
        assert parse_period(quarter).first_day() <= m.first_day() < parse_period(quarter).end_day()


def test_fiscal_order_and_the_default_is_restored():
    with fiscal_year(4):
        # FY2026 Q1 (2025-04..06) comes before December 2025
        assert parse_period("2026-Q1") < parse_period("2025-12") < parse_period("2026-Q4")
    assert parse_period("2026-Q1").months()[0].label == "2026-01"


@pytest.mark.parametrize("start", [0, 13, -1])
def test_fiscal_start_must_be_a_month(start):
    with pytest.raises(ValueError, match="1-12"):
        with fiscal_year(start):
            pass


@pytest.mark.parametrize("text, fragment", [
    ("2026-02-30", "2026-02-30 is not a day on the calendar"),
    ("2025-02-29", "2025-02-29 is not a day on the calendar"),   # not a leap year
    ("2025/4/31", "2025-04-31 is not a day on the calendar"),
    ("2025年2月30日", "2025-02-30 is not a day on the calendar"),
    ("2025-03-00", "2025-03-00 is not a day on the calendar"),
    ("2025-03-01T25:00", "25:00 is not a time of day"),
    ("2025-03-01 10:61", "10:61 is not a time of day"),
])
def test_a_date_that_is_not_on_the_calendar_is_refused_not_read_as_its_month(text, fragment):
    with pytest.raises(PeriodError, match=fragment):
        parse_period(text)


@pytest.mark.parametrize("text, label", [
    ("2024-02-29", "2024-02"), ("2025-04-30", "2025-04"), ("2025年2月28日", "2025-02"),
    ("2025-03-01 23:59:59", "2025-03"), ("2025-12-31T00:00", "2025-12"),
])
def test_real_days_still_read_as_their_month(text, label):
    assert parse_period(text).label == label


# --- periods to choose from (the app's period pickers and year lists) --------------------------


@pytest.mark.parametrize("today, years, latest, head, length, tail", [
    # Nothing after the last full month: 2026-11 and 2026-12 are not offered, Q4 is (in progress).
    (date(2026, 11, 5), 4, None, ["2026", "2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2026-10", "2026-09"], 66,
     ["2023-02", "2023-01"]),
    # With data for the month in progress, it is offered first among the months.
    (date(2026, 11, 30), 4, "2026-11", ["2026", "2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2026-11"], 67,
     ["2023-01"]),
    # On new year's day the last full month is last year's December: the years end there.
    (date(2026, 1, 1), 1, None, ["2025", "2025-Q4"], 17, ["2025-02", "2025-01"]),
    (date(2025, 6, 30), 2, None, ["2025", "2025-Q2", "2025-Q1", "2025-05"], 25, ["2024-01"]),
    (date(2025, 6, 30), 2, "2025-02", ["2025", "2025-Q1", "2025-02", "2025-01", "2024"], 21, ["2024-01"]),
])
def test_period_options_newest_first(today, years, latest, head, length, tail):
    got = period_options(today, years, latest)
    assert got[:len(head)] == head and got[-len(tail):] == tail and len(got) == length
    assert len(set(got)) == len(got) and all(parse_period(p).label == p for p in got)


def test_period_options_need_a_year():
    with pytest.raises(PeriodError, match="at least 1"):
        period_options(date(2026, 1, 1), 0)


@pytest.mark.parametrize("today, wanted, chosen, first", [
    (date(2026, 11, 5), "2026-Q3", "2026-Q3", "2026"),        # offered already: kept
    (date(2026, 11, 5), "2026-3", "2026-03", "2026"),         # written another way: its label
    (date(2026, 11, 5), "2019-05", "2019-05", "2019-05"),     # older than the list: offered first
    (date(2026, 11, 5), "2027", "2027", "2027"),              # later than the list too
    (date(2026, 11, 5), None, "2026-10", "2026"),             # none: the last full month
    (date(2026, 11, 5), "", "2026-10", "2026"),
    (date(2026, 11, 5), "2026-13", "2026-10", "2026"),        # not a period: the last full month
    (date(2026, 1, 5), "nonsense", "2025-12", "2025"),        # the last full month is last year's
])
def test_period_choice(today, wanted, chosen, first):
    options, got = period_choice(today, wanted)
    assert got == chosen and options[0] == first and options.count(chosen) == 1


@pytest.mark.parametrize("today, wanted, latest, chosen", [
    (date(2026, 11, 30), None, "2026-11", "2026-11"),   # the latest month with data, in progress
    (date(2026, 11, 30), "", "2026-08", "2026-08"),     # data stopped in August: opens there
    (date(2026, 11, 30), "2026-Q2", "2026-11", "2026-Q2"),  # a chosen period wins
])
def test_period_choice_opens_on_latest_data(today, wanted, latest, chosen):
    options, got = period_choice(today, wanted, latest=latest)
    assert got == chosen and options.count(chosen) == 1
    assert all(parse_period(p).months()[0].label <= latest for p in options)  # nothing after the data


@pytest.mark.parametrize("today, month", [
    (date(2026, 11, 5), "2026-10"), (date(2026, 1, 31), "2025-12"), (date(2024, 3, 1), "2024-02")])
def test_last_full_month(today, month):
    assert last_full_month(today).label == month


@pytest.mark.parametrize("today, years", [
    (date(2026, 11, 5), [2027, 2026, 2025]), (date(2025, 1, 1), [2026, 2025, 2024])])
def test_planning_years(today, years):
    assert planning_years(today) == years
