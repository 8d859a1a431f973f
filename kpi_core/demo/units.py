"""The demo company's org tree, calendar and the helpers its generators share."""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpi_core.demo.shape import (
    CN_NUMERALS,
    COMPANY_CODE,
    COMPANY_NAME,
    DEPT_TYPES,
    DIVISIONS,
    GIVEN_CHARS,
    LINE_LAUNCH,
    NEW_PRODUCT_MONTHS,
    SEED_CASE_MONTHS,
    SURNAMES,
    Division,
)

# ------------------------------------------------------------------ org tree


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: str | None
    level: str
    division: str | None = None
    department: str | None = None
    dept_type: str | None = None


class Org:
    """The generated tree with the lookups the generators need."""

    def __init__(self, units: list[Unit]) -> None:
        self.units = units
        self.codes = [u.code for u in units]
        self.index = {code: i for i, code in enumerate(self.codes)}

    def select(self, level: str, dept_type: str | None = None, division: str | None = None) -> list[Unit]:
        """Units of one level, optionally of one department type and division."""
        return [
            u for u in self.units
            if u.level == level
            and (dept_type is None or u.dept_type == dept_type)
            and (division is None or u.division == division)
        ]

    def children(self, code: str) -> list[Unit]:
        """Direct children of a unit."""
        return [u for u in self.units if u.parent == code]


def _person_names(rng: np.random.Generator, count: int) -> list[str]:
    """Unique, plausible Chinese names."""
    weights = 1.0 / (np.arange(len(SURNAMES)) + 8.0)
    weights /= weights.sum()
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        surname = SURNAMES[rng.choice(len(SURNAMES), p=weights)]
        size = 2 if rng.random() < 0.65 else 1
        given = "".join(GIVEN_CHARS[i] for i in rng.integers(0, len(GIVEN_CHARS), size))
        if surname + given not in seen:
            seen.add(surname + given)
            names.append(surname + given)
    return names


def _team_name(division: Division, dept_type: str, number: int) -> str:
    """Display name of the n-th team (1-based) of a department."""
    if dept_type == "WH":
        return division.warehouses[number - 1]
    if dept_type == "PRD":
        return f"{division.short}{CN_NUMERALS[number - 1]}号产线"
    return f"{division.short}{DEPT_TYPES[dept_type][1]}{CN_NUMERALS[number - 1]}组"


def build_org(rng: np.random.Generator) -> Org:
    """Company -> divisions -> departments -> teams -> people, parents before children."""
    units = [Unit(COMPANY_CODE, COMPANY_NAME, None, "company")]
    team_sizes = []
    for div in DIVISIONS:
        units.append(Unit(div.code, div.name, COMPANY_CODE, "division", div.code))
        for dept_type, n_teams in div.departments:
            dept = f"{div.code}-{dept_type}"
            name = f"{div.short}{DEPT_TYPES[dept_type][0]}"
            units.append(Unit(dept, name, div.code, "department", div.code, dept, dept_type))
            for t in range(1, n_teams + 1):
                team = f"{dept}-T{t}"
                units.append(Unit(team, _team_name(div, dept_type, t), dept, "team",
                                   div.code, dept, dept_type))
                low, high = (6, 11) if dept_type == "SAL" else (5, 9)
                size = int(rng.integers(low, high))
                team_sizes.append(size)
                units.extend(Unit("", "", team, "person", div.code, dept, dept_type)
                             for _ in range(size))
    names = iter(_person_names(rng, sum(team_sizes)))
    numbered, n = [], 0
    for u in units:
        if u.level == "person":
            n += 1
            u = Unit(f"P{n:04d}", next(names), u.parent, "person", u.division, u.department,
                      u.dept_type)
        numbered.append(u)
    return Org(numbered)


# ------------------------------------------------------------------ calendar


@dataclass(frozen=True)
class Calendar:
    today: datetime.date
    months: np.ndarray          # datetime64[M], first .. current month
    labels: list[str]           # YYYY-MM
    month_of_year: np.ndarray   # 1..12
    years_since_start: np.ndarray
    starts: np.ndarray          # datetime64[D] first day of each month
    days_open: np.ndarray       # days of the month up to today
    fraction: np.ndarray        # share of the month that has passed
    years: list[int]

    @property
    def n(self) -> int:
        """Number of months."""
        return len(self.labels)

    def window(self) -> np.ndarray:
        """Mask of the seed-case months (the last SEED_CASE_MONTHS)."""
        mask = np.zeros(self.n, dtype=bool)
        mask[-SEED_CASE_MONTHS:] = True
        return mask

    def complete_quarters(self) -> list[tuple[str, list[int]]]:
        """Quarter labels whose last month is in range, with their month indices."""
        out = []
        for start in range(0, self.n - 2, 3):
            year, month = divmod(int(self.months[start].astype(int)), 12)
            out.append((f"{1970 + year}-Q{month // 3 + 1}", [start, start + 1, start + 2]))
        return out


def month_calendar(today: datetime.date) -> Calendar:
    """Months from January three years back to today's month."""
    first = np.datetime64(f"{today.year - 3}-01", "M")
    months = np.arange(first, np.datetime64(today, "M") + 1)
    month_int = months.astype(int)
    days_in = np.array([calendar.monthrange(1970 + m // 12, m % 12 + 1)[1] for m in month_int])
    days_open = days_in.copy()
    days_open[-1] = today.day
    return Calendar(
        today=today,
        months=months,
        labels=[str(m) for m in months],
        month_of_year=month_int % 12 + 1,
        years_since_start=np.arange(len(months)) / 12.0,
        starts=months.astype("datetime64[D]"),
        days_open=days_open,
        fraction=days_open / days_in,
        years=list(range(today.year - 3, today.year + 1)),
    )


# ------------------------------------------------------------------ helpers


def categorical(rng: np.random.Generator, probs: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Draw one category per row from the probability row of its cell (inverse CDF)."""
    n_cat = probs.shape[1]
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    # Offsetting each cell's CDF by its index makes one sorted array for all cells.
    flat = (cum + np.arange(len(cum))[:, None]).ravel()
    found = np.searchsorted(flat, cell + rng.random(len(cell)), side="right")
    return np.minimum(found - cell * n_cat, n_cat - 1)


def labels(values: Iterable[str], index: np.ndarray) -> pa.Array:
    """String column from positions into a list of labels."""
    return pa.array(list(values), pa.string()).take(pa.array(index))


def ids(prefix: str, count: int, width: int) -> pa.Array:
    """Sequential identifiers such as SO00000001."""
    numbers = pc.cast(pa.array(np.arange(1, count + 1)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width=width, padding="0"), "")


def available_lines(cal: Calendar) -> np.ndarray:
    """Months x product lines: 1 where the line was on sale."""
    launch = np.array([(y - 1970) * 12 + m - 1 for y, m in LINE_LAUNCH])
    return (cal.months.astype(int)[:, None] >= launch[None, :]).astype(float)


def new_product(cal: Calendar, month: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Whether a line counted as a new product in a month (launched within NEW_PRODUCT_MONTHS)."""
    launch = np.array([(y - 1970) * 12 + m - 1 for y, m in LINE_LAUNCH])
    age = cal.months.astype(int)[month] - launch[line]
    return (age >= 0) & (age < NEW_PRODUCT_MONTHS)


def round_sig(value: float, digits: int = 4) -> float:
    """Round to significant digits, as planners write targets."""
    if value == 0 or not np.isfinite(value):
        return 0.0
    return float(round(value, digits - 1 - int(np.floor(np.log10(abs(value))))))
