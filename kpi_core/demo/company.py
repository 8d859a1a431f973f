"""Deterministic demo company 华锐智能制造集团: org tree, metric dictionary, actuals, targets, datasets."""

from __future__ import annotations

import ast
import calendar
import datetime
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from kpi_core.model.config import PROJECT_ROOT

COMPANY_CODE = "HQ"
COMPANY_NAME = "华锐智能制造集团"
SEED_CASE_DIVISION = "D3"
SEED_CASE_MONTHS = 6
UNMAPPED_ORG_CODE = "X-LEGACY"
UNMAPPED_ROWS = 37
BASE_ORDER_ROWS = 1_060_000
STUFFING_ORDERS_PER_QUARTER_END = 450
SEED_CASE_CHANNEL_MIX = (0.43, 0.45, 0.12)
METRICS_PATH = PROJECT_ROOT / "data" / "demo" / "metrics.yaml"

CHANNELS = ("直销", "经销", "电商")
DISTRIBUTOR = 1
STATUSES = ("completed", "cancelled", "returned")
PRODUCT_LINES = ("伺服电机", "精密减速器", "工业机器人", "数控系统", "锂电设备", "智能视觉系统", "协作机器人")
LINE_UNIT_PRICE = np.array([1_200, 2_600, 45_000, 12_000, 60_000, 6_800, 32_000], dtype=float)
LINE_ORDER_SCALE = np.array([0.5, 0.8, 4.5, 1.6, 6.0, 1.1, 3.5])
LINE_COST_RATIO = np.array([0.60, 0.55, 0.58, 0.50, 0.62, 0.45, 0.52])
LINE_LAUNCH = ((2015, 1), (2015, 1), (2015, 1), (2015, 1), (2019, 6), (2024, 3), (2025, 6))
NEW_PRODUCT_MONTHS = 36
# Order-size model: lognormal around a per-channel median, scaled per product line.
CHANNEL_MEDIAN = np.array([5_500.0, 12_000.0, 900.0])
CHANNEL_DISCOUNT = np.array([0.06, 0.17, 0.03])
CHANNEL_LEAD_DAYS = np.array([20, 12, 3])
CHANNEL_RETURN = np.array([0.015, 0.025, 0.04])
CHANNEL_AFFINITY = np.array([
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 0.8, 1, 0.6, 1, 1],
    [1, 1, 0.03, 0.25, 0, 0.7, 0.08],
])
CANCEL_RATE = 0.03
# Calendar-month factors: Spring Festival dip in February, quarter- and year-end pushes.
SEASON = np.array([0.92, 0.66, 1.02, 0.99, 1.01, 1.10, 0.96, 0.94, 1.08, 0.97, 1.04, 1.22])

DEPT_TYPES = {
    "SAL": ("销售部", "销售"),
    "MKT": ("市场部", "市场"),
    "CS": ("客户服务部", "客服"),
    "WH": ("仓储物流部", "仓储"),
    "HR": ("人力资源部", "人事"),
    "PRD": ("生产部", "生产"),
    "QA": ("质量部", "质检"),
    "PUR": ("采购部", "采购"),
    "RD": ("研发部", "研发"),
    "FIN": ("财务部", "财务"),
    "IT": ("信息技术部", "信息"),
    "EHS": ("安全环保部", "安环"),
}
CN_NUMERALS = "一二三四五六七八九十"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍鹏辉玲建国俊峰红琳宇浩凯晨欣怡子涵梓轩雨婷佳琪思远"
    "嘉文博志宏海燕晓东春梅丹颖倩慧斌波鑫昊天宁亮昕瑶彤琦晗阳帆楠雪梦诗瑞泽锐诚毅睿"
)


@dataclass(frozen=True)
class _Division:
    code: str
    name: str
    short: str
    departments: tuple[tuple[str, int], ...]
    sales_weight: float = 0.0
    growth: float = 0.0
    channel_mix: tuple[float, float, float] = (1.0, 0.0, 0.0)
    product_mix: tuple[float, ...] = (1, 0, 0, 0, 0, 0, 0)
    production_lines: tuple[int, ...] = ()
    warehouses: tuple[str, ...] = ()
    satisfaction: float = 4.1
    cash_base: float = 1.0e8


DIVISIONS = (
    _Division("D1", "华东销售事业部", "华东",
              (("SAL", 6), ("MKT", 2), ("CS", 3), ("WH", 3), ("HR", 1)),
              0.30, 0.06, (0.42, 0.36, 0.22), (0.25, 0.20, 0.12, 0.15, 0.05, 0.13, 0.10),
              (), ("上海仓", "苏州仓", "杭州仓"), 4.15, 1.8e8),
    _Division("D2", "华南销售事业部", "华南",
              (("SAL", 5), ("MKT", 2), ("CS", 2), ("WH", 3), ("HR", 1)),
              0.28, 0.04, (0.38, 0.37, 0.25), (0.28, 0.22, 0.10, 0.14, 0.06, 0.12, 0.08),
              (), ("广州仓", "深圳仓", "东莞仓"), 4.05, 1.5e8),
    _Division("D3", "智能装备事业部", "智装",
              (("PRD", 4), ("QA", 2), ("PUR", 2), ("RD", 3), ("SAL", 3), ("CS", 2), ("WH", 2)),
              0.17, 0.12, (0.55, 0.30, 0.15), (0.05, 0.05, 0.35, 0.20, 0.0, 0.20, 0.15),
              (2, 3, 5, 6), ("无锡仓", "常州仓"), 4.20, 1.2e8),
    _Division("D4", "精密部件事业部", "精密",
              (("PRD", 5), ("QA", 2), ("PUR", 2), ("RD", 2), ("SAL", 3), ("WH", 2)),
              0.13, 0.03, (0.45, 0.40, 0.15), (0.45, 0.45, 0.0, 0.10, 0.0, 0.0, 0.0),
              (0, 1), ("宁波仓", "台州仓"), 4.10, 0.9e8),
    _Division("D5", "新能源装备事业部", "新能源",
              (("PRD", 3), ("QA", 1), ("RD", 3), ("SAL", 3), ("CS", 1), ("WH", 2)),
              0.12, 0.20, (0.62, 0.28, 0.10), (0.20, 0.10, 0.0, 0.10, 0.45, 0.10, 0.05),
              (4, 0), ("合肥仓", "西安仓"), 3.95, 0.8e8),
    _Division("D6", "集团职能中心", "集团",
              (("FIN", 3), ("HR", 2), ("IT", 3), ("EHS", 2)), cash_base=4.0e8),
)
SALES_DIVISIONS = tuple(d for d in DIVISIONS if d.sales_weight > 0)


@dataclass(frozen=True)
class DemoCompany:
    """Everything the demo company consists of, as plain data."""

    org: list[tuple[str, str, str | None]]
    metrics_yaml: str
    actuals: pa.Table
    targets: pa.Table
    datasets: dict[str, pa.Table]
    first_period: str
    last_period: str


# ------------------------------------------------------------------ org tree


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    parent: str | None
    level: str
    division: str | None = None
    department: str | None = None
    dept_type: str | None = None


class _Org:
    """The generated tree with the lookups the generators need."""

    def __init__(self, units: list[_Unit]) -> None:
        self.units = units
        self.codes = [u.code for u in units]
        self.index = {code: i for i, code in enumerate(self.codes)}

    def select(self, level: str, dept_type: str | None = None, division: str | None = None) -> list[_Unit]:
        """Units of one level, optionally of one department type and division."""
        return [
            u for u in self.units
            if u.level == level
            and (dept_type is None or u.dept_type == dept_type)
            and (division is None or u.division == division)
        ]

    def children(self, code: str) -> list[_Unit]:
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


def _team_name(division: _Division, dept_type: str, number: int) -> str:
    """Display name of the n-th team (1-based) of a department."""
    if dept_type == "WH":
        return division.warehouses[number - 1]
    if dept_type == "PRD":
        return f"{division.short}{CN_NUMERALS[number - 1]}号产线"
    return f"{division.short}{DEPT_TYPES[dept_type][1]}{CN_NUMERALS[number - 1]}组"


def _build_org(rng: np.random.Generator) -> _Org:
    """Company -> divisions -> departments -> teams -> people, parents before children."""
    units = [_Unit(COMPANY_CODE, COMPANY_NAME, None, "company")]
    team_sizes = []
    for div in DIVISIONS:
        units.append(_Unit(div.code, div.name, COMPANY_CODE, "division", div.code))
        for dept_type, n_teams in div.departments:
            dept = f"{div.code}-{dept_type}"
            name = f"{div.short}{DEPT_TYPES[dept_type][0]}"
            units.append(_Unit(dept, name, div.code, "department", div.code, dept, dept_type))
            for t in range(1, n_teams + 1):
                team = f"{dept}-T{t}"
                units.append(_Unit(team, _team_name(div, dept_type, t), dept, "team",
                                   div.code, dept, dept_type))
                low, high = (6, 11) if dept_type == "SAL" else (5, 9)
                size = int(rng.integers(low, high))
                team_sizes.append(size)
                units.extend(_Unit("", "", team, "person", div.code, dept, dept_type)
                             for _ in range(size))
    names = iter(_person_names(rng, sum(team_sizes)))
    numbered, n = [], 0
    for u in units:
        if u.level == "person":
            n += 1
            u = _Unit(f"P{n:04d}", next(names), u.parent, "person", u.division, u.department,
                      u.dept_type)
        numbered.append(u)
    return _Org(numbered)


# ------------------------------------------------------------------ calendar


@dataclass(frozen=True)
class _Calendar:
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


def _calendar(today: datetime.date) -> _Calendar:
    """Months from January three years back to today's month."""
    first = np.datetime64(f"{today.year - 3}-01", "M")
    months = np.arange(first, np.datetime64(today, "M") + 1)
    month_int = months.astype(int)
    days_in = np.array([calendar.monthrange(1970 + m // 12, m % 12 + 1)[1] for m in month_int])
    days_open = days_in.copy()
    days_open[-1] = today.day
    return _Calendar(
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


def _categorical(rng: np.random.Generator, probs: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Draw one category per row from the probability row of its cell (inverse CDF)."""
    n_cat = probs.shape[1]
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    # Offsetting each cell's CDF by its index makes one sorted array for all cells.
    flat = (cum + np.arange(len(cum))[:, None]).ravel()
    found = np.searchsorted(flat, cell + rng.random(len(cell)), side="right")
    return np.minimum(found - cell * n_cat, n_cat - 1)


def _labels(values: Iterable[str], index: np.ndarray) -> pa.Array:
    """String column from positions into a list of labels."""
    return pa.array(list(values), pa.string()).take(pa.array(index))


def _ids(prefix: str, count: int, width: int) -> pa.Array:
    """Sequential identifiers such as SO00000001."""
    numbers = pc.cast(pa.array(np.arange(1, count + 1)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width=width, padding="0"), "")


def _available_lines(cal: _Calendar) -> np.ndarray:
    """Months x product lines: 1 where the line was on sale."""
    launch = np.array([(y - 1970) * 12 + m - 1 for y, m in LINE_LAUNCH])
    return (cal.months.astype(int)[:, None] >= launch[None, :]).astype(float)


def _new_product(cal: _Calendar, month: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Whether a line counted as a new product in a month (launched within NEW_PRODUCT_MONTHS)."""
    launch = np.array([(y - 1970) * 12 + m - 1 for y, m in LINE_LAUNCH])
    age = cal.months.astype(int)[month] - launch[line]
    return (age >= 0) & (age < NEW_PRODUCT_MONTHS)


def _round_sig(value: float, digits: int = 4) -> float:
    """Round to significant digits, as planners write targets."""
    if value == 0 or not np.isfinite(value):
        return 0.0
    return float(round(value, digits - 1 - int(np.floor(np.log10(abs(value))))))


# ------------------------------------------------------------------ customers and sales


@dataclass(frozen=True)
class _Customers:
    codes: list[str]
    offset: np.ndarray      # divisions x channels: first customer index of the pool
    size: np.ndarray        # divisions x channels: pool size
    org_index: np.ndarray   # customer -> org unit index of its sales rep (or team)


def _customers(rng: np.random.Generator, org: _Org) -> _Customers:
    """Customer pools per sales division and channel, each customer owned by one rep."""
    base = np.array([2_400, 180, 9_000])
    size = np.array([[max(20, int(b * d.sales_weight)) for b in base] for d in SALES_DIVISIONS])
    offset = np.concatenate([[0], np.cumsum(size.ravel())[:-1]]).reshape(size.shape)
    owners = []
    for i, div in enumerate(SALES_DIVISIONS):
        reps = [org.index[u.code] for u in org.select("person", "SAL", div.code)]
        teams = [org.index[u.parent] for u in org.select("person", "SAL", div.code)]
        for c in range(len(CHANNELS)):
            pick = rng.integers(0, len(reps), size[i, c])
            house = rng.random(size[i, c]) < 0.05
            owners.append(np.where(house, np.array(teams)[pick], np.array(reps)[pick]))
    total = int(size.sum())
    numbers = rng.permutation(total) + 10_001
    return _Customers([f"C{n:06d}" for n in numbers], offset, size, np.concatenate(owners))


def _pick_customer(rng: np.random.Generator, cust: _Customers, div: np.ndarray,
                   chan: np.ndarray, month: np.ndarray, n_months: int, skew: float) -> np.ndarray:
    """Customer per row; the pool grows over time and low indices are the big accounts."""
    pool = cust.size[div, chan]
    open_share = 0.55 + 0.45 * month / max(n_months - 1, 1)
    k = np.maximum(1, np.ceil(pool * open_share)).astype(np.int64)
    within = np.minimum((k * rng.random(len(div)) ** skew).astype(np.int64), k - 1)
    return cust.offset[div, chan] + within


@dataclass
class _SalesRows:
    month: np.ndarray
    div: np.ndarray
    chan: np.ndarray
    line: np.ndarray
    customer: np.ndarray
    raw_amount: np.ndarray
    status: np.ndarray
    late_prob: np.ndarray
    stuffing: np.ndarray


def _normal_sales(rng: np.random.Generator, cal: _Calendar, cust: _Customers) -> _SalesRows:
    """The everyday order flow of every sales division."""
    n_div = len(SALES_DIVISIONS)
    weight = np.array([[d.sales_weight * (1 + d.growth) ** t for d in SALES_DIVISIONS]
                       for t in cal.years_since_start])
    weight *= (SEASON[cal.month_of_year - 1] * cal.fraction)[:, None]
    counts = rng.multinomial(BASE_ORDER_ROWS, (weight / weight.sum()).ravel())
    cell = np.repeat(np.arange(cal.n * n_div), counts)
    month, div = cell // n_div, cell % n_div
    mix = np.array([d.channel_mix for d in SALES_DIVISIONS])
    chan_probs = np.tile(mix, (cal.n, 1))
    seed = _seed_index()
    for m in np.flatnonzero(cal.window()):
        chan_probs[m * n_div + seed] = SEED_CASE_CHANNEL_MIX
    chan = _categorical(rng, chan_probs, cell)
    line = _draw_lines(rng, cal, month, div, chan)
    customer = _pick_customer(rng, cust, div, chan, month, cal.n, 2.2)
    raw = CHANNEL_MEDIAN[chan] * LINE_ORDER_SCALE[line] * rng.lognormal(0.0, 0.85, len(cell))
    raw *= 1.02 ** cal.years_since_start[month]
    in_window = cal.window()[month] & (div == seed)
    return_p = CHANNEL_RETURN[chan] + np.where(in_window & (chan == DISTRIBUTOR), 0.035, 0.0)
    late = np.where(cal.month_of_year[month] == 2, 0.12, 0.06) + np.where(in_window, 0.08, 0.0)
    return _SalesRows(month, div, chan, line, customer, raw, _status(rng, return_p), late,
                      np.zeros(len(cell), dtype=bool))


def _seed_index() -> int:
    """Position of the seed-case division among the sales divisions."""
    return [d.code for d in SALES_DIVISIONS].index(SEED_CASE_DIVISION)


def _draw_lines(rng: np.random.Generator, cal: _Calendar, month: np.ndarray, div: np.ndarray,
                chan: np.ndarray) -> np.ndarray:
    """Product line per row from division mix, channel affinity and launch dates."""
    n_div, n_chan = len(SALES_DIVISIONS), len(CHANNELS)
    mix = np.array([d.product_mix for d in SALES_DIVISIONS], dtype=float)
    probs = (_available_lines(cal)[:, None, None, :] * mix[None, :, None, :]
             * CHANNEL_AFFINITY[None, None, :, :])
    probs = probs.reshape(-1, len(PRODUCT_LINES)) + 1e-12
    return _categorical(rng, probs, (month * n_div + div) * n_chan + chan)


def _status(rng: np.random.Generator, return_p: np.ndarray) -> np.ndarray:
    """0 completed, 1 cancelled, 2 returned."""
    u = rng.random(len(return_p))
    return np.where(u < CANCEL_RATE, 1, np.where(u < CANCEL_RATE + return_p, 2, 0))


def _stuffing_sales(rng: np.random.Generator, cal: _Calendar, cust: _Customers) -> _SalesRows:
    """Big distributor orders booked in the last days of each quarter in the seed window."""
    seed = _seed_index()
    months = [m for m in np.flatnonzero(cal.window()) if cal.month_of_year[m] % 3 == 0]
    month = np.repeat(np.array(months, dtype=np.int64), STUFFING_ORDERS_PER_QUARTER_END)
    n = len(month)
    div = np.full(n, seed)
    chan = np.full(n, DISTRIBUTOR)
    line = rng.choice([2, 3, 5, 6], size=n, p=[0.4, 0.25, 0.15, 0.2])
    customer = cust.offset[seed, DISTRIBUTOR] + rng.integers(0, 8, n)
    raw = CHANNEL_MEDIAN[DISTRIBUTOR] * LINE_ORDER_SCALE[line] * rng.lognormal(1.6, 0.4, n)
    status = np.where(rng.random(n) < 0.4, 2, 0)
    return _SalesRows(month, div, chan, line, customer, raw, status, np.full(n, 0.05),
                      np.ones(n, dtype=bool))


def _concat_rows(a: _SalesRows, b: _SalesRows) -> _SalesRows:
    """Append two row sets."""
    return _SalesRows(*(np.concatenate([getattr(a, f), getattr(b, f)])
                        for f in _SalesRows.__dataclass_fields__))


def _order_dates(rng: np.random.Generator, cal: _Calendar, rows: _SalesRows) -> np.ndarray:
    """Order date inside the row's month, never after today; stuffing lands in the last 8 days."""
    days = cal.days_open[rows.month]
    offset = (rng.random(len(days)) * days).astype(np.int64)
    full = np.array([calendar.monthrange(int(str(m)[:4]), int(str(m)[5:7]))[1] for m in cal.months])
    late = full[rows.month] - 8 + (rng.random(len(days)) * 8).astype(np.int64)
    offset = np.where(rows.stuffing, np.minimum(late, days - 1), offset)
    return cal.starts[rows.month] + offset


def _sales_orders(rng: np.random.Generator, cal: _Calendar, org: _Org,
                  cust: _Customers) -> tuple[pa.Table, _SalesRows, np.ndarray]:
    """The sales_orders dataset, its row attributes and costs (reused by other generators)."""
    rows = _concat_rows(_normal_sales(rng, cal, cust), _stuffing_sales(rng, cal, cust))
    order_date = _order_dates(rng, cal, rows)
    keep = order_date <= np.datetime64(cal.today)
    rows = _SalesRows(*(getattr(rows, f)[keep] for f in _SalesRows.__dataclass_fields__))
    order_date = order_date[keep]
    order = np.lexsort((rng.random(len(order_date)), order_date))
    rows = _SalesRows(*(getattr(rows, f)[order] for f in _SalesRows.__dataclass_fields__))
    order_date = order_date[order]
    n = len(order_date)

    quantity = np.maximum(1, np.rint(rows.raw_amount / LINE_UNIT_PRICE[rows.line])).astype(np.int64)
    list_value = quantity * LINE_UNIT_PRICE[rows.line]
    amount = np.round(list_value * (1 - CHANNEL_DISCOUNT[rows.chan]) * rng.lognormal(0, 0.05, n), 2)
    cost = np.round(list_value * LINE_COST_RATIO[rows.line] * rng.lognormal(0, 0.06, n), 2)
    promised = order_date + CHANNEL_LEAD_DAYS[rows.chan] + np.where(rows.line >= 2, 10, 0)
    delay = np.rint(rng.normal(-2.5, 1.8, n)).astype(np.int64)
    delay += np.where(rng.random(n) < rows.late_prob, rng.integers(2, 12, n), 0)
    delivered = promised + delay
    undelivered = (rows.status == 1) | (delivered > np.datetime64(cal.today))

    rep = cust.org_index[rows.customer]
    legacy = rng.choice(int(np.searchsorted(order_date, cal.starts[3])), UNMAPPED_ROWS, replace=False)
    rep[legacy] = len(org.codes)
    table = pa.table({
        "order_id": _ids("SO", n, 8),
        "order_date": pa.array(order_date),
        "customer_id": _labels(cust.codes, rows.customer),
        "channel": _labels(CHANNELS, rows.chan),
        "product_line": _labels(PRODUCT_LINES, rows.line),
        "is_new_product": pa.array(_new_product(cal, rows.month, rows.line)),
        "sales_rep": _labels([*org.codes, UNMAPPED_ORG_CODE], rep),
        "quantity": pa.array(quantity),
        "amount": pa.array(amount),
        "cost": pa.array(cost),
        "status": _labels(STATUSES, rows.status),
        "promised_date": pa.array(promised),
        "delivery_date": pa.array(delivered, mask=undelivered),
    })
    return table, rows, cost


# ------------------------------------------------------------------ inventory


def _baseline_daily_cogs(cal: _Calendar, rows: _SalesRows, cost: np.ndarray) -> np.ndarray:
    """Months x sales divisions: daily cost of the normal (non-stuffing, non-cancelled) flow."""
    n_div = len(SALES_DIVISIONS)
    ok = (rows.status != 1) & ~rows.stuffing
    cell = rows.month[ok] * n_div + rows.div[ok]
    cogs = np.bincount(cell, weights=cost[ok], minlength=cal.n * n_div)
    return cogs.reshape(cal.n, n_div) / cal.days_open[:, None]


def _inventory_snapshots(rng: np.random.Generator, cal: _Calendar, org: _Org,
                         rows: _SalesRows, cost: np.ndarray) -> pa.Table:
    """Month-end finished-goods stock per warehouse team and work in progress per production dept."""
    daily = _baseline_daily_cogs(cal, rows, cost)
    available = _available_lines(cal)
    month_end = cal.starts + cal.days_open - 1
    ramp = np.zeros(cal.n)
    ramp[cal.window()] = 6.0 + 4.0 * np.arange(SEED_CASE_MONTHS)
    season = np.select([cal.month_of_year == 1, cal.month_of_year == 2, cal.month_of_year == 12],
                       [4.0, 3.0, -2.0], 0.0)
    parts: list[dict[str, np.ndarray]] = []
    for i, div in enumerate(SALES_DIVISIONS):
        warehouses = org.select("team", "WH", div.code)
        shares = rng.dirichlet(np.full(len(warehouses), 6.0))
        extra = ramp if div.code == SEED_CASE_DIVISION else np.zeros(cal.n)
        for wh, share in zip(warehouses, shares, strict=True):
            mix = available * np.array(div.product_mix)
            mix /= mix.sum(axis=1, keepdims=True)
            m_idx, line = np.nonzero(mix > 0)
            usage = daily[m_idx, i] * share * mix[m_idx, line]
            cover = 34.0 + season[m_idx] + extra[m_idx] + rng.normal(0, 1.8, len(m_idx))
            parts.append(_stock_rows(wh.code, m_idx, line, usage * cover, usage, "成品"))
        for dept in org.select("department", "PRD", div.code):
            m_idx = np.arange(cal.n)
            value = daily[:, i] * rng.normal(6.0, 0.6, cal.n) * (1 + 0.5 * (extra > 0))
            parts.append(_stock_rows(dept.code, m_idx, np.full(cal.n, -1), value,
                                     np.zeros(cal.n), "在制品"))
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    value = np.round(cols["value"], 2)
    line = cols["line"]
    unit_cost = np.where(line >= 0, LINE_UNIT_PRICE[line] * LINE_COST_RATIO[line], 2_000.0)
    table = pa.table({
        "snapshot_date": pa.array(month_end[cols["month"]]),
        "warehouse_code": pa.array(cols["org"].tolist(), pa.string()),
        "stock_type": pa.array(cols["stock_type"].tolist(), pa.string()),
        "product_line": pa.array([PRODUCT_LINES[k] if k >= 0 else None for k in line], pa.string()),
        "inventory_value": pa.array(value),
        "on_hand_qty": pa.array(np.rint(value / unit_cost).astype(np.int64)),
        "avg_daily_cogs": pa.array(np.round(cols["usage"], 2)),
    })
    return table.take(pa.array(np.argsort(cols["month"], kind="stable")))


def _stock_rows(code: str, month: np.ndarray, line: np.ndarray, value: np.ndarray,
                usage: np.ndarray, stock_type: str) -> dict[str, np.ndarray]:
    """Column arrays of one location's snapshots."""
    n = len(month)
    return {"month": month, "org": np.full(n, code, dtype=object), "line": line,
            "value": value, "usage": usage, "stock_type": np.full(n, stock_type, dtype=object)}


# ------------------------------------------------------------------ quality


QTY_RANGE = np.array([[200, 800], [200, 800], [4, 30], [20, 120], [4, 30], [20, 120], [4, 30]])


def _quality_inspections(rng: np.random.Generator, cal: _Calendar, org: _Org) -> pa.Table:
    """Lots inspected on every working day for every production line team."""
    days = np.arange(cal.starts[0], np.datetime64(cal.today) + 1)
    days = days[(days.astype(np.int64) + 3) % 7 < 5]
    day_month = np.searchsorted(cal.starts, days, side="right") - 1
    teams = [(div, t) for div in DIVISIONS if div.production_lines
             for t in org.select("team", "PRD", div.code)]
    lines = np.array([[div.production_lines[k % len(div.production_lines)] for k in range(4)]
                      for div, _ in teams])
    n_lines = np.array([len(div.production_lines) for div, _ in teams])
    base_p = rng.uniform(0.004, 0.011, len(teams))
    is_seed = np.array([div.code == SEED_CASE_DIVISION for div, _ in teams])
    cell = np.repeat(np.arange(len(teams) * len(days)), rng.poisson(3.2, len(teams) * len(days)))
    team, day = cell // len(days), cell % len(days)
    order = np.lexsort((team, day))
    team, day = team[order], day[order]
    n, month = len(team), day_month[day]
    line = lines[team, (rng.random(n) * n_lines[team]).astype(np.int64)]
    qty = rng.integers(QTY_RANGE[line, 0], QTY_RANGE[line, 1] + 1)
    p = base_p[team] * 0.92 ** cal.years_since_start[month] * rng.lognormal(0, 0.6, n)
    p *= np.where(cal.month_of_year[month] == 2, 1.35, 1.0)
    p *= np.where(is_seed[team] & cal.window()[month], 1.25, 1.0)
    defects = rng.binomial(qty, np.minimum(p, 0.5))
    passed = (defects <= np.maximum(1, np.floor(qty * 0.02))) & (rng.random(n) > 0.01)
    return pa.table({
        "inspection_date": pa.array(days[day]),
        "team_code": _labels([t.code for _, t in teams], team),
        "lot_id": _ids("QL", n, 7),
        "product_line": _labels(PRODUCT_LINES, line),
        "inspected_qty": pa.array(qty.astype(np.int64)),
        "defects": pa.array(defects.astype(np.int64)),
        "passed_first_time": pa.array(passed),
    })


# ------------------------------------------------------------------ customer survey


COMMENTS = (
    ("交付及时，服务专业", "产品质量稳定，性价比高", "技术支持响应快", "售后工程师很专业"),
    ("总体满意，价格偏高", "交期还可以再缩短", "希望加强操作培训"),
    ("交期延误，影响生产", "产品故障率偏高", "售后响应慢", "价格调整频繁"),
    ("经销商库存积压，压货严重", "退货处理太慢", "承诺交期无法兑现"),
)


@dataclass(frozen=True)
class _Survey:
    table: pa.Table
    month: np.ndarray
    dept: np.ndarray         # org unit index of the department
    recommend: np.ndarray


def _survey_responses(rng: np.random.Generator, cal: _Calendar, org: _Org,
                      cust: _Customers) -> _Survey:
    """Customer survey answers per sales and service department (Chinese column names)."""
    depts = [(i, d) for i, div in enumerate(SALES_DIVISIONS)
             for d in org.select("department", None, div.code) if d.dept_type in ("SAL", "CS")]
    lam = np.array([(150 if d.dept_type == "SAL" else 220)
                    * np.sqrt(SALES_DIVISIONS[i].sales_weight / 0.2) for i, d in depts])
    counts = rng.poisson(lam[None, :] * cal.fraction[:, None])
    cell = np.repeat(np.arange(cal.n * len(depts)), counts.ravel())
    month, k = cell // len(depts), cell % len(depts)
    div = np.array([i for i, _ in depts])[k]
    n = len(cell)
    chan = _categorical(rng, np.array([d.channel_mix for d in SALES_DIVISIONS]), div)
    customer = _pick_customer(rng, cust, div, chan, month, cal.n, 1.5)
    seed_window = cal.window()[month] & (div == _seed_index())
    position = month - (cal.n - SEED_CASE_MONTHS)
    drop = np.where(seed_window, 0.2 + 0.12 * position + 0.3 * (chan == DISTRIBUTOR), 0.0)
    mean = np.array([d.satisfaction for d in SALES_DIVISIONS])[div] + 0.05 * cal.years_since_start[month]
    score = np.clip(np.rint(rng.normal(mean - drop, 0.75)), 1, 5).astype(np.int64)
    recommend = np.clip(np.rint(2.2 * score - 0.6 + rng.normal(0, 1.2, n)), 0, 10).astype(np.int64)
    date = cal.starts[month] + (rng.random(n) * cal.days_open[month]).astype(np.int64)
    order = np.lexsort((rng.random(n), date))
    comment = _comments(rng, score, seed_window)
    dept_index = np.array([org.index[d.code] for _, d in depts])[k]
    table = pa.table({
        "问卷编号": _ids("S", n, 7),
        "回复日期": pa.array(date[order]),
        "部门编码": _labels(org.codes, dept_index[order]),
        "客户编号": _labels(cust.codes, customer[order]),
        "渠道": _labels(CHANNELS, chan[order]),
        "满意度": pa.array(score[order]),
        "推荐意愿": pa.array(recommend[order]),
        "意见": comment.take(pa.array(order)),
    })
    return _Survey(table, month[order], dept_index[order], recommend[order])


def _comments(rng: np.random.Generator, score: np.ndarray, seed_window: np.ndarray) -> pa.Array:
    """Optional free-text comment matching the score; channel-stuffing complaints in the seed case."""
    n = len(score)
    bucket = np.select([score >= 4, score == 3], [0, 1], 2)
    bucket = np.where(seed_window & (score <= 3) & (rng.random(n) < 0.6), 3, bucket)
    sizes = np.array([len(c) for c in COMMENTS])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pick = starts[bucket] + (rng.random(n) * sizes[bucket]).astype(np.int64)
    texts = [t for group in COMMENTS for t in group]
    return pa.array([texts[i] for i in pick], pa.string(), mask=rng.random(n) > 0.35)


# ------------------------------------------------------------------ manual actuals

Values = dict[tuple[str, str], float]


@dataclass(frozen=True)
class _Context:
    cal: _Calendar
    org: _Org
    orders: np.ndarray      # months x sales divisions: valid normal orders
    survey: _Survey


def _grid(codes: list[str], labels: list[str], values: np.ndarray) -> Values:
    """(org, period) -> value for a units x periods matrix."""
    return {(c, p): float(values[i, j]) for i, c in enumerate(codes) for j, p in enumerate(labels)}


def _quarterly(cal: _Calendar) -> tuple[list[str], np.ndarray]:
    """Labels and year offsets of the complete quarters."""
    quarters = cal.complete_quarters()
    return [q for q, _ in quarters], np.array([cal.years_since_start[m[0]] for _, m in quarters])


def _codes(units: list[_Unit]) -> list[str]:
    """Codes of units."""
    return [u.code for u in units]


def _window_position(cal: _Calendar) -> np.ndarray:
    """1..SEED_CASE_MONTHS inside the seed window, 0 before it."""
    pos = np.zeros(cal.n)
    pos[cal.window()] = np.arange(1, SEED_CASE_MONTHS + 1)
    return pos


def _headcount(rng: np.random.Generator, ctx: _Context) -> Values:
    """Month-end headcount per team; production lines include their operators."""
    cal, teams = ctx.cal, ctx.org.select("team")
    people = np.array([len(ctx.org.children(t.code)) for t in teams])
    operators = np.array([rng.integers(24, 42) if t.dept_type == "PRD" else 0 for t in teams])
    ramp = 1.0 - 0.14 * (1.0 - np.arange(cal.n) / max(cal.n - 1, 1))
    feb = np.array([t.dept_type == "PRD" for t in teams])[:, None] & (cal.month_of_year == 2)
    value = (people + operators)[:, None] * ramp[None, :] * np.where(feb, 0.9, 1.0)
    value = np.rint(value) + rng.choice([-1, 0, 0, 0, 0, 0, 1], value.shape)
    return _grid(_codes(teams), cal.labels, np.maximum(value, 1))


def _training_hours(rng: np.random.Generator, ctx: _Context) -> Values:
    """Training hours per person and month."""
    cal, people = ctx.cal, ctx.org.select("person")
    season = np.array([0.7, 0.4, 1.2, 1.1, 1.0, 0.9, 0.8, 0.8, 1.2, 1.0, 1.1, 0.7])
    shape = (len(people), cal.n)
    value = rng.gamma(2.0, 2.6, shape) * season[cal.month_of_year - 1]
    value *= rng.lognormal(0, 0.3, (len(people), 1)) * (1 + 0.08 * cal.years_since_start)
    value = np.where(rng.random(shape) < 0.15, 0.0, np.minimum(np.rint(value * 2) / 2, 80))
    return _grid(_codes(people), cal.labels, value)


def _employee_engagement(rng: np.random.Generator, ctx: _Context) -> Values:
    """Quarterly engagement score per department."""
    depts = ctx.org.select("department")
    labels, years = _quarterly(ctx.cal)
    seed = np.array([d.division == SEED_CASE_DIVISION for d in depts])[:, None]
    late = np.arange(len(labels)) >= len(labels) - 2
    value = rng.normal(74, 4, (len(depts), 1)) + 0.8 * years + rng.normal(0, 1.5, (len(depts), len(labels)))
    value -= np.where(seed & late, 2.5, 0.0)
    return _grid(_codes(depts), labels, np.round(np.clip(value, 0, 100), 1))


def _employee_turnover_rate(rng: np.random.Generator, ctx: _Context) -> Values:
    """Monthly attrition per department, peaking after the Spring Festival."""
    cal, depts = ctx.cal, ctx.org.select("department")
    value = rng.uniform(0.006, 0.016, (len(depts), 1)) * rng.lognormal(0, 0.35, (len(depts), cal.n))
    value *= np.where(np.isin(cal.month_of_year, (2, 3)), 2.2, 1.0)
    seed_sales = np.array([d.division == SEED_CASE_DIVISION and d.dept_type == "SAL" for d in depts])
    value *= np.where(seed_sales[:, None] & cal.window(), 1.6, 1.0)
    return _grid(_codes(depts), cal.labels, np.round(np.clip(value, 0, 1), 4))


def _budget_utilization(rng: np.random.Generator, ctx: _Context) -> Values:
    """Monthly spend / budget per department."""
    cal, depts = ctx.cal, ctx.org.select("department")
    shift = np.select([cal.month_of_year == 12, cal.month_of_year == 1], [0.06, -0.05], 0.0)
    value = rng.normal(0.975, 0.035, (len(depts), cal.n)) + shift
    return _grid(_codes(depts), cal.labels, np.round(np.clip(value, 0, 2), 3))


def _min_cash_balance(rng: np.random.Generator, ctx: _Context) -> Values:
    """Lowest daily cash balance per division and month."""
    cal, divs = ctx.cal, ctx.org.select("division")
    base = np.array([next(d.cash_base for d in DIVISIONS if d.code == u.code) for u in divs])
    season = np.select([cal.month_of_year == 1, cal.month_of_year == 2], [0.75, 0.85], 1.0)
    value = base[:, None] * 1.05 ** cal.years_since_start * season * rng.lognormal(0, 0.08, (len(divs), cal.n))
    seed = np.array([u.code == SEED_CASE_DIVISION for u in divs])[:, None]
    value *= np.where(seed, 1 - 0.06 * _window_position(cal), 1.0)
    return _grid(_codes(divs), cal.labels, np.round(value, -4))


def _peak_capacity_utilization(rng: np.random.Generator, ctx: _Context) -> Values:
    """Highest daily utilisation of each production line in the month."""
    cal, teams = ctx.cal, ctx.org.select("team", "PRD")
    season = np.array([0.0, -0.15, 0, 0, 0, 0.04, 0, 0, 0, 0, 0.04, 0.06])[cal.month_of_year - 1]
    seed = np.array([t.division == SEED_CASE_DIVISION for t in teams])[:, None]
    value = 0.84 + season + rng.normal(0, 0.03, (len(teams), cal.n)) + np.where(seed & cal.window(), 0.07, 0)
    return _grid(_codes(teams), cal.labels, np.round(np.clip(value, 0.4, 1.15), 3))


def _safety_incidents(rng: np.random.Generator, ctx: _Context) -> Values:
    """Recordable incidents per production line and warehouse; mostly zero."""
    cal = ctx.cal
    teams = ctx.org.select("team", "PRD") + ctx.org.select("team", "WH")
    lam = np.array([0.05 if t.dept_type == "PRD" else 0.02 for t in teams])
    return _grid(_codes(teams), cal.labels, rng.poisson(lam[:, None], (len(teams), cal.n)).astype(float))


def _supplier_on_time_rate(rng: np.random.Generator, ctx: _Context) -> Values:
    """Supplier on-time rate per purchasing department."""
    cal, depts = ctx.cal, ctx.org.select("department", "PUR")
    value = 0.92 + 0.008 * cal.years_since_start + rng.normal(0, 0.015, (len(depts), cal.n))
    return _grid(_codes(depts), cal.labels, np.round(np.clip(value, 0, 0.995), 3))


def _complaint_units(org: _Org) -> list[_Unit]:
    """Customer service departments, or the sales department where a division has none."""
    units = []
    for div in SALES_DIVISIONS:
        service = org.select("department", "CS", div.code)
        units.extend(service or org.select("department", "SAL", div.code))
    return units


def _customer_complaints(rng: np.random.Generator, ctx: _Context) -> Values:
    """Complaints logged per month, proportional to order volume; doubled in the seed case."""
    cal, units = ctx.cal, _complaint_units(ctx.org)
    div = np.array([[d.code for d in SALES_DIVISIONS].index(u.division) for u in units])
    lam = ctx.orders[:, div].T * 0.0025
    seed = (div == _seed_index())[:, None]
    lam *= np.where(seed & cal.window(), 2.2, 1.0)
    return _grid(_codes(units), cal.labels, rng.poisson(lam).astype(float))


def _new_patents(rng: np.random.Generator, ctx: _Context) -> Values:
    """Patents granted per R&D department and quarter."""
    depts = ctx.org.select("department", "RD")
    labels, years = _quarterly(ctx.cal)
    value = rng.poisson(2.5 + 0.4 * years, (len(depts), len(labels))).astype(float)
    return _grid(_codes(depts), labels, value)


def _nps_units(org: _Org) -> list[_Unit]:
    """Units that report their own NPS: surveyed departments, sales divisions, the company."""
    depts = [d for div in SALES_DIVISIONS for d in org.select("department", None, div.code)
             if d.dept_type in ("SAL", "CS")]
    sales = {d.code for d in SALES_DIVISIONS}
    return [org.units[0], *(u for u in org.select("division") if u.code in sales), *depts]


def _nps(rng: np.random.Generator, ctx: _Context) -> Values:
    """Quarterly NPS computed from the survey for each reporting unit."""
    survey, org = ctx.survey, ctx.org
    promoter = (survey.recommend >= 9).astype(float) - (survey.recommend <= 6)
    quarter = survey.month // 3
    division = np.array([org.units[i].division for i in survey.dept])
    out: Values = {}
    for q_label, months in ctx.cal.complete_quarters():
        in_q = quarter == months[0] // 3
        for unit in _nps_units(org):
            if unit.level == "company":
                mask = in_q
            elif unit.level == "division":
                mask = in_q & (division == unit.code)
            else:
                mask = in_q & (survey.dept == org.index[unit.code])
            if mask.any():
                out[(unit.code, q_label)] = round(100 * float(promoter[mask].mean()), 1)
    return out


MANUAL_GENERATORS: dict[str, Callable[[np.random.Generator, _Context], Values]] = {
    "headcount": _headcount,
    "training_hours": _training_hours,
    "employee_engagement": _employee_engagement,
    "employee_turnover_rate": _employee_turnover_rate,
    "budget_utilization": _budget_utilization,
    "min_cash_balance": _min_cash_balance,
    "peak_capacity_utilization": _peak_capacity_utilization,
    "safety_incidents": _safety_incidents,
    "supplier_on_time_rate": _supplier_on_time_rate,
    "customer_complaints": _customer_complaints,
    "new_patents": _new_patents,
    "nps": _nps,
}


# ------------------------------------------------------------------ dataset metric values


def _with_units(table: pa.Table, org: _Org, time_column: str, org_column: str) -> pa.Table:
    """The rows with year, month, division and department columns (null division: unmapped)."""
    encoded = pc.dictionary_encode(table[org_column]).combine_chunks()
    position = pc.index_in(encoded.dictionary, value_set=pa.array(org.codes)).take(encoded.indices)
    dates = table[time_column]
    return (
        table.append_column("_y", pc.year(dates))
        .append_column("_m", pc.month(dates))
        .append_column("_division", pa.array([u.division for u in org.units]).take(position))
        .append_column("_department", pa.array([u.department for u in org.units]).take(position))
    )


def _grouping_sets(code: str) -> str:
    """Grouping sets the targets of a dataset metric need."""
    sets = ["(_y)", "(_y, _division)"]
    if code in ("revenue", "gross_profit"):
        sets.append("(_y, _m, _department)")
    if code == "active_customers":
        sets += ["(_y, _m)", "(_y, _m, _division)"]
    return ", ".join(sets)


def _dataset_values(metrics: list[dict], datasets: dict[str, pa.Table], org: _Org) -> dict[str, Values]:
    """Dataset metrics per year for company and divisions, and per month where targets need it."""
    # One thread keeps floating-point sums in a fixed order, so targets are reproducible.
    con = duckdb.connect(config={"threads": 1})
    prepared: set[str] = set()
    out: dict[str, Values] = {}
    for metric in metrics:
        src = metric["source"]
        if not isinstance(src, dict) or "dataset" not in src:
            continue
        name = src["dataset"]
        if name not in prepared:
            con.register(name, _with_units(datasets[name], org, src["time_column"], src["org_column"]))
            prepared.add(name)
        where = "WHERE _division IS NOT NULL" + (f" AND ({src['filter']})" if src.get("filter") else "")
        sets = _grouping_sets(metric["code"])
        keys = ", ".join(c if c in sets else f"NULL AS {c}" for c in ("_m", "_division", "_department"))
        sql = f"""SELECT _y, {keys}, {src['measure']} AS v FROM "{name}" {where}
                  GROUP BY GROUPING SETS ({sets})"""
        values: Values = {}
        for y, m, division, department, v in con.execute(sql).fetchall():
            if v is not None:
                period = str(y) if m is None else f"{y}-{m:02d}"
                values[(department or division or COMPANY_CODE, period)] = float(v)
        out[metric["code"]] = values
    con.close()
    return out


# ------------------------------------------------------------------ formulas

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv}


def formula_components(expression: str) -> list[str]:
    """Metric codes a formula refers to, in order of appearance."""
    names = [n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def evaluate_formula(expression: str, values: Mapping[str, float | None]) -> float | None:
    """Value of + - * / over metric values; None when a part is missing or a divisor is zero."""

    def walk(node: ast.AST) -> float | None:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Name):
            return values.get(node.id)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = walk(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
                return None
            return _OPERATORS[type(node.op)](left, right)
        raise ValueError(f"unsupported formula element: {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval"))


# ------------------------------------------------------------------ targets

Targets = dict[tuple[str, str, str], float]


def _month_labels(year: int) -> list[str]:
    """The twelve month labels of a year."""
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def _quarter_labels(year: int) -> list[str]:
    """The four quarter labels of a year."""
    return [f"{year}-Q{q}" for q in range(1, 5)]


def _is_additive(metric: dict) -> bool:
    """Sum over time and over the tree."""
    return metric.get("time_agg", "sum") == "sum" and metric.get("org_agg", "sum") == "sum"


SCALE_UNITS = ("CNY", "count")


def _plan(rng: np.random.Generator, metric: dict, prev: float | None, cur: float | None,
          growth: float) -> float | None:
    """Next year's plan from last year's actual (or this year's, for the first year)."""
    if prev is None and cur is None:
        return None
    base = prev if prev is not None else cur * rng.uniform(0.97, 1.03)
    direction = metric.get("direction", "higher_is_better")
    lower = direction == "lower_is_better"
    if direction == "in_range":
        return (metric["range"]["low"] + metric["range"]["high"]) / 2
    if _is_additive(metric):
        return _round_sig(base * (1 + growth) * (0.99 if lower else rng.uniform(1.0, 1.02)))
    if metric.get("unit") in SCALE_UNITS:
        # Levels such as customers or stock grow with the business.
        return _round_sig(base * (1 + growth) * rng.uniform(*((0.95, 0.99) if lower else (0.98, 1.02))), 3)
    if lower:
        return _round_sig(base * (1 - rng.uniform(0.03, 0.08)), 3)
    if metric.get("unit") == "%" and base < 1:
        return _round_sig(base + (1 - base) * rng.uniform(0.05, 0.2), 3)
    return _round_sig(base * (1 + rng.uniform(0.005, 0.02)), 3)


def _dataset_targets(rng: np.random.Generator, metrics: list[dict], values: dict[str, Values],
                     years: list[int]) -> Targets:
    """Yearly targets for company and divisions; monthly ones for sales departments and customers."""
    growth = {(d.code, y): rng.uniform(0.05, 0.12) for d in DIVISIONS for y in years}
    out: Targets = {}
    for metric in metrics:
        code = metric["code"]
        if code not in values or code == "new_product_revenue":
            continue
        vals = values[code]
        for y in years:
            divisions = {}
            for div in DIVISIONS:
                plan = _plan(rng, metric, vals.get((div.code, str(y - 1))),
                             vals.get((div.code, str(y))), growth[(div.code, y)])
                if plan is not None:
                    divisions[div.code] = plan
                    out[(code, div.code, str(y))] = plan
            if _is_additive(metric):
                out[(code, COMPANY_CODE, str(y))] = _round_sig(sum(divisions.values()))
            else:
                company_growth = float(np.mean([growth[(d.code, y)] for d in SALES_DIVISIONS]))
                plan = _plan(rng, metric, vals.get((COMPANY_CODE, str(y - 1))),
                             vals.get((COMPANY_CODE, str(y))), company_growth)
                if plan is not None:
                    out[(code, COMPANY_CODE, str(y))] = plan
        if code in ("revenue", "gross_profit"):
            out.update(_phased_department_targets(code, vals, years, growth))
        if code == "active_customers":
            out.update(_monthly_unit_targets(rng, code, vals, years))
    if "new_product_revenue" in values:
        out.update(_launch_plan_targets(rng, out, values["new_product_revenue"], values["revenue"], years))
    return out


def _launch_plan_targets(rng: np.random.Generator, planned: Targets, new: Values,
                         revenue: Values, years: list[int]) -> Targets:
    """New-product revenue from the launch plan: a share of the revenue target, not last year's sales."""
    out: Targets = {}
    for (code, unit, period), revenue_target in planned.items():
        if code == "revenue" and (unit, period) in new and revenue.get((unit, period)):
            share = new[(unit, period)] / revenue[(unit, period)]
            if share > 0 and int(period) in years:
                out[("new_product_revenue", unit, period)] = _round_sig(
                    revenue_target * share * rng.uniform(0.9, 1.1))
    return out


def _phased_department_targets(code: str, vals: Values, years: list[int],
                               growth: dict[tuple[str, int], float]) -> Targets:
    """Sales departments' monthly targets: last year's total plus growth, phased by last year's months."""
    out: Targets = {}
    depts = sorted({org for org, period in vals if org.endswith("-SAL")})
    for dept in depts:
        for y in years:
            ref = y - 1 if (dept, f"{y - 1}-01") in vals else y
            base = np.array([vals.get((dept, m), 0.0) for m in _month_labels(ref)])
            if base.sum() <= 0:
                continue
            yearly = base.sum() * (1 + growth[(dept.split("-")[0], y)])
            for label, share in zip(_month_labels(y), base / base.sum(), strict=True):
                out[(code, dept, label)] = _round_sig(yearly * share)
    return out


def _monthly_unit_targets(rng: np.random.Generator, code: str, vals: Values,
                          years: list[int]) -> Targets:
    """Company and division monthly targets from the same month of last year."""
    out: Targets = {}
    units = [COMPANY_CODE, *(d.code for d in SALES_DIVISIONS)]
    for unit in units:
        for y in years:
            for label in _month_labels(y):
                prev = vals.get((unit, f"{y - 1}{label[4:]}"))
                base = prev * rng.uniform(1.02, 1.06) if prev else vals.get((unit, label))
                if base:
                    out[(code, unit, label)] = _round_sig(base if prev else base * rng.uniform(0.97, 1.03), 3)
    return out


def _year_groups(values: Values, year: int, org: _Org, level: str) -> dict[str, list[float]]:
    """Values of one year grouped by the reporting unit's division (level 'division') or the unit."""
    groups: dict[str, list[float]] = {}
    for (code, period), v in values.items():
        if period.startswith(str(year)):
            unit = org.units[org.index[code]]
            key = unit.division if level == "division" else code
            groups.setdefault(key or COMPANY_CODE, []).append(v)
    return groups


def _ref_year(values: Values, year: int) -> int:
    """Last year when it has actuals, else the year itself (the first year of data)."""
    return year - 1 if any(p.startswith(str(year - 1)) for _, p in values) else year


@dataclass(frozen=True)
class _TargetYear:
    """What a manual-metric planner sees for one year."""

    rng: np.random.Generator
    org: _Org
    values: Values           # the metric's actuals
    year: int
    out: Targets
    code: str

    def put(self, unit: str, periods: Iterable[str], value: float) -> None:
        """Set one value for several periods of a unit."""
        for period in periods:
            self.out[(self.code, unit, period)] = float(value)

    @property
    def months(self) -> list[str]:
        """Month labels of the year."""
        return _month_labels(self.year)

    @property
    def quarters(self) -> list[str]:
        """Quarter labels of the year."""
        return _quarter_labels(self.year)

    @property
    def label(self) -> list[str]:
        """The year label, as a one-element period list."""
        return [str(self.year)]

    def reference(self, level: str = "unit") -> dict[str, list[float]]:
        """Last year's actuals (this year's in the first year) grouped by unit or division."""
        return _year_groups(self.values, _ref_year(self.values, self.year), self.org, level)

    def reporting_divisions(self) -> list[str]:
        """Divisions that have units reporting the metric."""
        return sorted({self.org.units[self.org.index[u]].division for u, _ in self.values})

    def division_of(self, code: str) -> str:
        """Division of a unit."""
        return self.org.units[self.org.index[code]].division or COMPANY_CODE


def _t_headcount(ty: _TargetYear) -> None:
    """Planned team size from last December (+3 %); company and divisions sum the teams."""
    ref = _ref_year(ty.values, ty.year)
    teams = sorted({u for u, _ in ty.values})
    plans = {t: round(ty.values[(t, f"{ref}-12")] * (1.03 if ref < ty.year else 1.0)) for t in teams}
    for team, plan in plans.items():
        ty.put(team, ty.months, plan)
    for div in ty.reporting_divisions():
        ty.put(div, ty.label, sum(v for t, v in plans.items() if ty.division_of(t) == div))
    ty.put(COMPANY_CODE, ty.label, sum(plans.values()))


def _t_training_hours(ty: _TargetYear) -> None:
    """A quarterly allowance per person, growing 1.5 hours a year."""
    people = ty.org.select("person")
    per_quarter = 15 + 1.5 * (ty.year - int(min(p for _, p in ty.values)[:4]))
    for person in people:
        ty.put(person.code, ty.quarters, per_quarter)
    for div in ty.reporting_divisions():
        ty.put(div, ty.label, 4 * per_quarter * sum(1 for p in people if p.division == div))
    ty.put(COMPANY_CODE, ty.label, 4 * per_quarter * len(people))


def _t_employee_engagement(ty: _TargetYear) -> None:
    """Last year's score plus 1.5 points, per department (quarterly), division and company."""
    by_dept = ty.reference()
    for dept, values in by_dept.items():
        ty.put(dept, ty.quarters, round(float(np.mean(values)) + 1.5, 1))
    for div, values in ty.reference("division").items():
        ty.put(div, ty.label, round(float(np.mean(values)) + 1.5, 1))
    everything = [v for values in by_dept.values() for v in values]
    ty.put(COMPANY_CODE, ty.label, round(float(np.mean(everything)) + 1.5, 1))


def _flat_target(value: float | Callable[[int], float], monthly_type: str | None = None
                 ) -> Callable[[_TargetYear], None]:
    """A policy target for company and divisions, optionally monthly for one department type."""

    def apply(ty: _TargetYear) -> None:
        target = value(ty.year) if callable(value) else value
        for div in ty.reporting_divisions():
            ty.put(div, ty.label, target)
        ty.put(COMPANY_CODE, ty.label, target)
        for dept in ty.org.select("department", monthly_type) if monthly_type else []:
            ty.put(dept.code, ty.months, target)

    return apply


def _t_min_cash_balance(ty: _TargetYear) -> None:
    """A floor of 90 % of last year's lowest balance; the company floor is their sum."""
    floors = {div: _round_sig(0.9 * min(values), 3) for div, values in ty.reference().items()}
    for div, floor in floors.items():
        ty.put(div, ty.label, floor)
    ty.put(COMPANY_CODE, ty.label, sum(floors.values()))


def _t_nps(ty: _TargetYear) -> None:
    """Every reporting unit gets its own target for each quarter and the year (org_agg none)."""
    for unit, values in ty.reference().items():
        target = round(float(np.mean(values)) + 3 * ty.rng.uniform(0.5, 1.5))
        ty.put(unit, [*ty.quarters, *ty.label], target)


def _t_customer_complaints(ty: _TargetYear) -> None:
    """10 % fewer than last year's monthly average; divisions and company sum the year."""
    plans = {u: max(1.0, round(0.9 * float(np.mean(v)))) for u, v in ty.reference().items()}
    for unit, plan in plans.items():
        ty.put(unit, ty.months, plan)
        ty.put(ty.division_of(unit), ty.label, 12 * plan)
    ty.put(COMPANY_CODE, ty.label, 12 * sum(plans.values()))


def _t_new_patents(ty: _TargetYear) -> None:
    """10 % more per quarter than last year; divisions and company sum the year."""
    plans = {u: max(1.0, round(1.1 * float(np.mean(v)))) for u, v in ty.reference().items()}
    for unit, plan in plans.items():
        ty.put(unit, ty.quarters, plan)
    for div in ty.reporting_divisions():
        ty.put(div, ty.label, sum(4 * v for u, v in plans.items() if ty.division_of(u) == div))
    ty.put(COMPANY_CODE, ty.label, 4 * sum(plans.values()))


MANUAL_TARGETS: dict[str, Callable[[_TargetYear], None]] = {
    "headcount": _t_headcount,
    "training_hours": _t_training_hours,
    "employee_engagement": _t_employee_engagement,
    "employee_turnover_rate": _flat_target(0.012),
    "budget_utilization": _flat_target(1.0),
    "min_cash_balance": _t_min_cash_balance,
    "peak_capacity_utilization": _flat_target(0.88),
    "safety_incidents": _flat_target(0.0, "PRD"),
    "supplier_on_time_rate": _flat_target(lambda year: 0.95 if year < 2025 else 0.96, "PUR"),
    "customer_complaints": _t_customer_complaints,
    "new_patents": _t_new_patents,
    "nps": _t_nps,
}


def _manual_targets(rng: np.random.Generator, manual: dict[str, Values], org: _Org,
                    years: list[int]) -> Targets:
    """Targets of the uploaded metrics at the levels a planner would set them."""
    out: Targets = {}
    for code, values in manual.items():
        for year in years:
            MANUAL_TARGETS[code](_TargetYear(rng, org, values, year, out, code))
    return out


def _formula_targets(metrics: list[dict], targets: Targets, years: list[int]) -> Targets:
    """Yearly company and division targets of formula metrics, from their components' targets."""
    formulas = {m["code"]: m["source"]["formula"] for m in metrics
                if isinstance(m["source"], dict) and "formula" in m["source"]}
    out: Targets = {}
    units = [COMPANY_CODE, *(d.code for d in DIVISIONS)]
    pending = dict(formulas)
    while pending:
        ready = {c: f for c, f in pending.items()
                 if not any(part in pending for part in formula_components(f))}
        if not ready:
            raise ValueError(f"circular formulas: {sorted(pending)}")
        for code, expression in ready.items():
            for unit in units:
                for y in years:
                    keys = {p: (p, unit, str(y)) for p in formula_components(expression)}
                    parts = {p: out.get(k, targets.get(k)) for p, k in keys.items()}
                    value = evaluate_formula(expression, parts)
                    if value is not None:
                        out[(code, unit, str(y))] = value
            del pending[code]
    return {k: _round_sig(v, 3) for k, v in out.items()}


# ------------------------------------------------------------------ assembly


def _facts(values: Mapping[tuple[str, str, str], float]) -> pa.Table:
    """metric, org, period, value table in a stable order."""
    keys = sorted(values)
    return pa.table({
        "metric": pa.array([k[0] for k in keys], pa.string()),
        "org": pa.array([k[1] for k in keys], pa.string()),
        "period": pa.array([k[2] for k in keys], pa.string()),
        "value": pa.array([values[k] for k in keys], pa.float64()),
    })


def _order_counts(cal: _Calendar, rows: _SalesRows) -> np.ndarray:
    """Months x sales divisions: valid orders of the normal flow."""
    n_div = len(SALES_DIVISIONS)
    ok = rows.status != 1
    counts = np.bincount(rows.month[ok] * n_div + rows.div[ok], minlength=cal.n * n_div)
    return counts.reshape(cal.n, n_div)


def load_metrics(text: str) -> list[dict]:
    """The metric list of a dictionary YAML text."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["metrics"]


def generate(today: datetime.date, seed: int = 20261127) -> DemoCompany:
    """Build the whole demo company for the months up to today; same inputs give the same output."""
    metrics_yaml = METRICS_PATH.read_text(encoding="utf-8")
    metrics = load_metrics(metrics_yaml)
    cal = _calendar(today)
    org = _build_org(np.random.default_rng([seed, 1]))
    cust = _customers(np.random.default_rng([seed, 2]), org)
    sales, rows, cost = _sales_orders(np.random.default_rng([seed, 3]), cal, org, cust)
    survey = _survey_responses(np.random.default_rng([seed, 4]), cal, org, cust)
    datasets = {
        "sales_orders": sales,
        "inventory_snapshots": _inventory_snapshots(np.random.default_rng([seed, 5]), cal, org, rows, cost),
        "quality_inspections": _quality_inspections(np.random.default_rng([seed, 6]), cal, org),
        "survey_responses": survey.table,
    }
    ctx = _Context(cal, org, _order_counts(cal, rows), survey)
    manual: dict[str, Values] = {}
    for number, metric in enumerate(metrics):
        if metric["source"] == "manual":
            rng = np.random.default_rng([seed, 100 + number])
            manual[metric["code"]] = MANUAL_GENERATORS[metric["code"]](rng, ctx)
    actuals = {(code, o, p): v for code, values in manual.items() for (o, p), v in values.items()}

    target_rng = np.random.default_rng([seed, 7])
    targets = _dataset_targets(target_rng, metrics, _dataset_values(metrics, datasets, org), cal.years)
    targets.update(_manual_targets(target_rng, manual, org, cal.years))
    targets.update(_formula_targets(metrics, targets, cal.years))
    return DemoCompany(
        org=[(u.code, u.name, u.parent) for u in org.units],
        metrics_yaml=metrics_yaml,
        actuals=_facts(actuals),
        targets=_facts(targets),
        datasets=datasets,
        first_period=cal.labels[0],
        last_period=cal.labels[-1],
    )
