"""Periods: parsing the ways people write them, labels, grains and containment.

Quarters and years follow the fiscal year, whose first month is configurable (the warehouse
setting `fiscal_year_start`, default January). A fiscal year is named by the calendar year in
which it ends, as FY2026 of a company starting in April runs from 2025-04 to 2026-03; its Q1 is
2025-04..2025-06. Month labels are calendar months whatever the fiscal year.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache, total_ordering
from typing import Literal

from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg

Grain = Literal["month", "quarter", "year"]
GRAINS: tuple[Grain, ...] = ("month", "quarter", "year")
_EXCEL_EPOCH = date(1899, 12, 30)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_CN_MONTHS = {name: i for i, name in enumerate(
    ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"], start=1)}
_CN_MONTH = "(十[一二]?|[一二三四五六七八九])"
_MONTH_NAMES = {
    m: i + 1
    for i, names in enumerate(
        ["JAN JANUARY", "FEB FEBRUARY", "MAR MARCH", "APR APRIL", "MAY", "JUN JUNE",
         "JUL JULY", "AUG AUGUST", "SEP SEPT SEPTEMBER", "OCT OCTOBER", "NOV NOVEMBER",
         "DEC DECEMBER"]
    )
    for m in names.split()
}


class PeriodError(KpiError, ValueError):
    """A period (or grain) that cannot be read; a ValueError too, for callers that catch one."""


_FISCAL_START: ContextVar[int] = ContextVar("fiscal_year_start", default=1)


def fiscal_start() -> int:
    """The first month of the fiscal year in effect (1 = January)."""
    return _FISCAL_START.get()


@contextmanager
def fiscal_year(start: int) -> Iterator[None]:
    """Quarters and years inside the block follow a fiscal year starting in month `start`."""
    if not 1 <= int(start) <= 12:
        raise PeriodError(Msg("model_fiscal_start_not_month", start=f"{start}"))
    token = _FISCAL_START.set(int(start))
    try:
        yield
    finally:
        _FISCAL_START.reset(token)


def _year_start(year: int) -> int:
    """Absolute month index (year × 12 + month − 1) of the fiscal year's first month."""
    s = fiscal_start()
    return (year - (1 if s > 1 else 0)) * 12 + s - 1


def _month_at(index: int) -> Period:
    return Period("month", index // 12, index % 12 + 1)


@total_ordering
@dataclass(frozen=True)
class Period:
    """A month (`2025-03`), quarter (`2025-Q1`) or year (`2025`)."""

    grain: Grain
    year: int
    num: int = 0  # month 1-12, quarter 1-4, 0 for a year

    @cached_property  # frozen: computed once per Period, read many times by the engine
    def label(self) -> str:
        if self.grain == "month":
            return f"{self.year:04d}-{self.num:02d}"
        if self.grain == "quarter":
            return f"{self.year:04d}-Q{self.num}"
        return f"{self.year:04d}"

    def __str__(self) -> str:
        return self.label

    def _key(self) -> tuple[int, int]:
        first = self.months()[0]
        return (first.year * 12 + first.num, GRAINS.index(self.grain))

    def __lt__(self, other: Period) -> bool:
        return self._key() < other._key()

    def months(self) -> list[Period]:
        """The months this period covers, in order."""
        if self.grain == "month":
            return [self]
        start = _year_start(self.year)
        if self.grain == "quarter":
            return [_month_at(start + 3 * (self.num - 1) + i) for i in range(3)]
        return [_month_at(start + i) for i in range(12)]

    def to(self, grain: Grain) -> Period:
        """The period of `grain` containing this one (only upwards)."""
        if grain not in GRAINS:  # a typed grain reaches here from the query API
            raise PeriodError(Msg("model_grain_unknown", grain=f"{grain}", grains=", ".join(GRAINS)))
        if GRAINS.index(grain) < GRAINS.index(self.grain):
            if self.grain == "quarter":
                raise PeriodError(Msg("model_quarter_not_inside_month", period=self.label))
            if grain == "month":
                raise PeriodError(Msg("model_year_not_inside_month", period=self.label))
            raise PeriodError(Msg("model_year_not_inside_quarter", period=self.label))
        if grain == self.grain:
            return self
        if self.grain == "quarter":  # a quarter's label already holds its fiscal year
            return Period("year", self.year)
        s = fiscal_start()
        fy = self.year + 1 if s > 1 and self.num >= s else self.year
        if grain == "year":
            return Period("year", fy)
        k = self.year * 12 + self.num - 1 - _year_start(fy)
        return Period("quarter", fy, k // 3 + 1)

    def contains(self, other: Period) -> bool:
        return GRAINS.index(other.grain) <= GRAINS.index(self.grain) and other.to(self.grain) == self

    def shift(self, n: int) -> Period:
        """The period n steps later (earlier when n < 0) at the same grain."""
        if self.grain == "year":
            return Period("year", self.year + n)
        size = 12 if self.grain == "month" else 4
        idx = self.year * size + self.num - 1 + n
        return Period(self.grain, idx // size, idx % size + 1)

    def first_day(self) -> date:
        first = self.months()[0]
        return date(first.year, first.num, 1)

    def end_day(self) -> date:
        """The day after the period's last day (exclusive end)."""
        nxt = self.months()[-1].shift(1)
        return date(nxt.year, nxt.num, 1)


def month_range(first: Period, last: Period) -> list[Period]:
    """Every month from the first month of `first` to the last month of `last`."""
    out, p, end = [], first.months()[0], last.months()[-1]
    while p <= end:
        out.append(p)
        p = p.shift(1)
    return out


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def _year(y: str | int) -> int:
    y = int(y)
    if not 1900 <= y <= 2200:
        raise PeriodError(Msg("model_year_out_of_range", year=y))
    return y


def _month(year: int, m: int | str) -> Period:
    m = int(m)
    if not 1 <= m <= 12:
        raise PeriodError(Msg("model_month_not_1_12", month=m))
    return Period("month", year, m)


def _dated(year: int, m: str, day: str | None, hour: str | None = None, minute: str | None = None,
           second: str | None = None) -> Period:
    """The month of a written date, which must exist on the calendar: 2026-02-30 is an error,
    not February (nor is 24:61 a time)."""
    month = _month(year, m)
    if day is not None:
        try:
            date(year, month.num, int(day))
        except ValueError:
            raise PeriodError(Msg("model_not_a_calendar_day", day=f"{year}-{month.num:02d}-{int(day):02d}")) from None
    if hour is not None and not (int(hour) <= 23 and int(minute) <= 59 and int(second or 0) <= 59):
        raise PeriodError(Msg("model_not_a_time_of_day", time=f"{hour}:{minute}{':' + second if second else ''}"))
    return month


def _quarter(year: int, q: str) -> Period:
    n = _CN_DIGITS.get(q) or int(q)
    if not 1 <= n <= 4:
        raise PeriodError(Msg("model_quarter_not_1_4", quarter=n))
    return Period("quarter", year, n)


class _NoYear(PeriodError):
    """A month or quarter written without its year, and no year given."""


def _need_year(year: int | None, text: str) -> int:
    if year is None:
        raise _NoYear(text)
    return year


def _named_month(name: str, year: int | None, text: str) -> Period:
    number = _MONTH_NAMES[name]  # KeyError first: 'ABC' is not a month, whatever the year
    return _month(_need_year(year, text), number)


# (pattern, builder(match, year_context)) — first match wins; patterns see cleaned text.
_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^(?:FY)?(\d{4})(?:年|年度)?$"), lambda m, y: Period("year", _year(m[1]))),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:T?(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"),
     lambda m, y: _dated(_year(m[1]), m[2], m[3], m[4], m[5], m[6])),
    (re.compile(r"^(\d{4})(\d{2})$"), lambda m, y: _month(_year(m[1]), m[2])),
    # 年 may be missing where a stacked header joins a year cell (2025) with a month cell (1月).
    (re.compile(r"^(\d{4})年?(\d{1,2})月(?:份)?(?:(\d{1,2})日)?$"), lambda m, y: _dated(_year(m[1]), m[2], m[3])),
    (re.compile(r"^(\d{4})[-/]?Q([1-4])$"), lambda m, y: _quarter(_year(m[1]), m[2])),
    (re.compile(r"^(\d{4})年?(?:第)?([1-4一二三四])季度?$"), lambda m, y: _quarter(_year(m[1]), m[2])),
    (re.compile(r"^(\d{4})年Q([1-4])$"), lambda m, y: _quarter(_year(m[1]), m[2])),
    (re.compile(r"^Q([1-4])[-/]?(\d{4})$"), lambda m, y: _quarter(_year(m[2]), m[1])),
    (re.compile(r"^([A-Z]{3,9})[-/.]?(\d{4})$"), lambda m, y: _month(_year(m[2]), _MONTH_NAMES[m[1]])),
    (re.compile(r"^(\d{4})[-/.]?([A-Z]{3,9})$"), lambda m, y: _month(_year(m[1]), _MONTH_NAMES[m[2]])),
    (re.compile(rf"^(\d{{4}})年?{_CN_MONTH}月(?:份)?$"), lambda m, y: _month(_year(m[1]), _CN_MONTHS[m[2]])),
    (re.compile(r"^(\d{1,2})月(?:份)?$"), lambda m, y: _month(_need_year(y, m[0]), m[1])),
    (re.compile(rf"^{_CN_MONTH}月(?:份)?$"), lambda m, y: _month(_need_year(y, m[0]), _CN_MONTHS[m[1]])),
    (re.compile(r"^M(\d{1,2})$"), lambda m, y: _month(_need_year(y, m[0]), m[1])),
    (re.compile(r"^Q([1-4])$"), lambda m, y: _quarter(_need_year(y, m[0]), m[1])),
    (re.compile(r"^第?([1-4一二三四])季度$"), lambda m, y: _quarter(_need_year(y, m[0]), m[1])),
    (re.compile(r"^([A-Z]{3,9})$"), lambda m, y: _named_month(m[1], y, m[0])),
]


def parse_period(value: object, year: int | None = None) -> Period:
    """Read a period cell; `year` fills in `3月` or `Q1`. Raises ValueError saying why."""
    if isinstance(value, Period):
        return value
    if isinstance(value, datetime):
        return Period("month", value.year, value.month)
    if isinstance(value, date):
        return Period("month", value.year, value.month)
    if isinstance(value, bool) or value is None:
        raise PeriodError(Msg("model_period_empty") if value is None else Msg("model_not_a_period", value=f"{value}"))
    if isinstance(value, int | float):
        return _period_from_number(float(value))
    text = _clean(str(value))
    if not text:
        raise PeriodError(Msg("model_period_empty"))
    if re.fullmatch(r"\d{5}(?:\.0+)?", text):  # an Excel date serial that arrived as text
        return _period_from_number(float(text))
    for pattern, build in _PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return build(m, year)  # type: ignore[operator]
            except KeyError:
                break
            except _NoYear:
                raise PeriodError(Msg("model_period_no_year", value=str(value).strip())) from None
    raise PeriodError(Msg("model_period_unreadable", value=f"{value}"))


def _period_from_number(v: float) -> Period:
    """A year (2025), yyyymm (202503) or an Excel date serial (45717)."""
    if v != int(v):
        raise PeriodError(Msg("model_not_a_period", value=f"{v:g}"))
    n = int(v)
    if 1900 <= n <= 2200:
        return Period("year", n)
    if 190001 <= n <= 220012:
        return _month(_year(n // 100), n % 100)
    if 20000 <= n <= 120000:
        d = _EXCEL_EPOCH + timedelta(days=n)
        return Period("month", d.year, d.month)
    raise PeriodError(Msg("model_not_a_period", value=f"{n}"))


def try_parse_period(value: object, year: int | None = None) -> Period | None:
    """parse_period, or None when it is not a period."""
    try:
        return parse_period(value, year)
    except ValueError:
        return None


def find_year(text: object) -> int | None:
    """A 4-digit year in a sheet name or title such as '2025年销售目标'."""
    if text is None:
        return None
    m = re.search(r"(?<!\d)(19\d{2}|2[01]\d{2})(?!\d)", unicodedata.normalize("NFKC", str(text)))
    return int(m[1]) if m else None


def month_labels(label: str) -> frozenset[str]:
    """The month labels a period label covers, under the fiscal year in force."""
    return _month_labels(label, fiscal_start())


@lru_cache(maxsize=8192)
def _month_labels(label: str, start: int) -> frozenset[str]:  # the fiscal start is part of the key
    return frozenset(m.label for m in parse_period(label).months())


# --- periods to choose from --------------------------------------------------------------------

def last_full_month(today: date) -> Period:
    """The last full month before `today`: the latest period whose actuals are usually in."""
    return Period("month", today.year, today.month).shift(-1)


def period_options(today: date, years: int = 4, latest: str | None = None) -> list[str]:
    """Years, quarters and months to choose from, newest first: this year and `years` − 1 before
    it, each year followed by its quarters and then its months, latest first. Nothing after the
    `latest` month with data (default: the last full month) is offered: it could show no status."""
    if years < 1:
        raise PeriodError(Msg("model_period_options_years", years=f"{years}"))
    last = (try_parse_period(latest) if latest else None) or last_full_month(today)
    last = last.months()[-1] if last.grain != "month" else last
    out: list[str] = []
    for y in range(last.year, last.year - years, -1):
        out.append(Period("year", y).label)
        out += [Period("quarter", y, q).label for q in range(4, 0, -1)]
        out += [Period("month", y, m).label for m in range(12, 0, -1)]
    return [label for label in out if parse_period(label).months()[0] <= last]


def period_choice(today: date, wanted: object, years: int = 4, latest: str | None = None) -> tuple[list[str], str]:
    """(the periods to offer, the one chosen): `wanted` as its label, offered first when it is
    outside the usual options (an older period from a link or a saved board), or the `latest`
    month with data (default: the last full month) when `wanted` is empty or not a period."""
    options = period_options(today, years, latest)
    chosen = try_parse_period(wanted) if wanted not in (None, "") else None
    label = (chosen or (try_parse_period(latest) if latest else None) or last_full_month(today)).label
    if label not in options:
        options.insert(0, label)
    return options, label


def planning_years(today: date) -> list[int]:
    """The years targets are planned and templates made for: next year, this year, last year."""
    return [today.year + 1, today.year, today.year - 1]
