"""The demo company's operational data: customers and sales orders, inventory, quality, the customer survey."""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kpi_core.demo.shape import (
    BASE_ORDER_ROWS,
    CANCEL_RATE,
    CHANNEL_AFFINITY,
    CHANNEL_DISCOUNT,
    CHANNEL_LEAD_DAYS,
    CHANNEL_MEDIAN,
    CHANNEL_RETURN,
    CHANNELS,
    DISTRIBUTOR,
    DIVISIONS,
    LINE_COST_RATIO,
    LINE_ORDER_SCALE,
    LINE_UNIT_PRICE,
    PRODUCT_LINES,
    SALES_DIVISIONS,
    SEASON,
    SEED_CASE_CHANNEL_MIX,
    SEED_CASE_DIVISION,
    SEED_CASE_MONTHS,
    STATUSES,
    STUFFING_ORDERS_PER_QUARTER_END,
    UNMAPPED_ORG_CODE,
    UNMAPPED_ROWS,
)
from kpi_core.demo.units import Calendar, Org, available_lines, categorical, ids, labels, new_product

# ------------------------------------------------------------------ customers and sales


@dataclass(frozen=True)
class _Customers:
    codes: list[str]
    offset: np.ndarray      # divisions x channels: first customer index of the pool
    size: np.ndarray        # divisions x channels: pool size
    org_index: np.ndarray   # customer -> org unit index of its sales rep (or team)


def customers(rng: np.random.Generator, org: Org) -> _Customers:
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
class SalesRows:
    month: np.ndarray
    div: np.ndarray
    chan: np.ndarray
    line: np.ndarray
    customer: np.ndarray
    raw_amount: np.ndarray
    status: np.ndarray
    late_prob: np.ndarray
    stuffing: np.ndarray


def _normal_sales(rng: np.random.Generator, cal: Calendar, cust: _Customers) -> SalesRows:
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
    seed = seed_index()
    for m in np.flatnonzero(cal.window()):
        chan_probs[m * n_div + seed] = SEED_CASE_CHANNEL_MIX
    chan = categorical(rng, chan_probs, cell)
    line = _draw_lines(rng, cal, month, div, chan)
    customer = _pick_customer(rng, cust, div, chan, month, cal.n, 2.2)
    raw = CHANNEL_MEDIAN[chan] * LINE_ORDER_SCALE[line] * rng.lognormal(0.0, 0.85, len(cell))
    raw *= 1.02 ** cal.years_since_start[month]
    in_window = cal.window()[month] & (div == seed)
    return_p = CHANNEL_RETURN[chan] + np.where(in_window & (chan == DISTRIBUTOR), 0.035, 0.0)
    late = np.where(cal.month_of_year[month] == 2, 0.12, 0.06) + np.where(in_window, 0.08, 0.0)
    return SalesRows(month, div, chan, line, customer, raw, _status(rng, return_p), late,
                      np.zeros(len(cell), dtype=bool))


def seed_index() -> int:
    """Position of the seed-case division among the sales divisions."""
    return [d.code for d in SALES_DIVISIONS].index(SEED_CASE_DIVISION)


def _draw_lines(rng: np.random.Generator, cal: Calendar, month: np.ndarray, div: np.ndarray,
                chan: np.ndarray) -> np.ndarray:
    """Product line per row from division mix, channel affinity and launch dates."""
    n_div, n_chan = len(SALES_DIVISIONS), len(CHANNELS)
    mix = np.array([d.product_mix for d in SALES_DIVISIONS], dtype=float)
    probs = (available_lines(cal)[:, None, None, :] * mix[None, :, None, :]
             * CHANNEL_AFFINITY[None, None, :, :])
    probs = probs.reshape(-1, len(PRODUCT_LINES)) + 1e-12
    return categorical(rng, probs, (month * n_div + div) * n_chan + chan)


def _status(rng: np.random.Generator, return_p: np.ndarray) -> np.ndarray:
    """0 completed, 1 cancelled, 2 returned."""
    u = rng.random(len(return_p))
    return np.where(u < CANCEL_RATE, 1, np.where(u < CANCEL_RATE + return_p, 2, 0))


def _stuffing_sales(rng: np.random.Generator, cal: Calendar, cust: _Customers) -> SalesRows:
    """Big distributor orders booked in the last days of each quarter in the seed window."""
    seed = seed_index()
    months = [m for m in np.flatnonzero(cal.window()) if cal.month_of_year[m] % 3 == 0]
    month = np.repeat(np.array(months, dtype=np.int64), STUFFING_ORDERS_PER_QUARTER_END)
    n = len(month)
    div = np.full(n, seed)
    chan = np.full(n, DISTRIBUTOR)
    line = rng.choice([2, 3, 5, 6], size=n, p=[0.4, 0.25, 0.15, 0.2])
    customer = cust.offset[seed, DISTRIBUTOR] + rng.integers(0, 8, n)
    raw = CHANNEL_MEDIAN[DISTRIBUTOR] * LINE_ORDER_SCALE[line] * rng.lognormal(1.6, 0.4, n)
    status = np.where(rng.random(n) < 0.4, 2, 0)
    return SalesRows(month, div, chan, line, customer, raw, status, np.full(n, 0.05),
                      np.ones(n, dtype=bool))


def _concat_rows(a: SalesRows, b: SalesRows) -> SalesRows:
    """Append two row sets."""
    return SalesRows(*(np.concatenate([getattr(a, f), getattr(b, f)])
                        for f in SalesRows.__dataclass_fields__))


def _order_dates(rng: np.random.Generator, cal: Calendar, rows: SalesRows) -> np.ndarray:
    """Order date inside the row's month, never after today; stuffing lands in the last 8 days."""
    days = cal.days_open[rows.month]
    offset = (rng.random(len(days)) * days).astype(np.int64)
    full = np.array([calendar.monthrange(int(str(m)[:4]), int(str(m)[5:7]))[1] for m in cal.months])
    late = full[rows.month] - 8 + (rng.random(len(days)) * 8).astype(np.int64)
    offset = np.where(rows.stuffing, np.minimum(late, days - 1), offset)
    return cal.starts[rows.month] + offset


def sales_orders(rng: np.random.Generator, cal: Calendar, org: Org,
                  cust: _Customers) -> tuple[pa.Table, SalesRows, np.ndarray]:
    """The sales_orders dataset, its row attributes and costs (reused by other generators)."""
    rows = _concat_rows(_normal_sales(rng, cal, cust), _stuffing_sales(rng, cal, cust))
    order_date = _order_dates(rng, cal, rows)
    keep = order_date <= np.datetime64(cal.today)
    rows = SalesRows(*(getattr(rows, f)[keep] for f in SalesRows.__dataclass_fields__))
    order_date = order_date[keep]
    order = np.lexsort((rng.random(len(order_date)), order_date))
    rows = SalesRows(*(getattr(rows, f)[order] for f in SalesRows.__dataclass_fields__))
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
        "order_id": ids("SO", n, 8),
        "order_date": pa.array(order_date),
        "customer_id": labels(cust.codes, rows.customer),
        "channel": labels(CHANNELS, rows.chan),
        "product_line": labels(PRODUCT_LINES, rows.line),
        "is_new_product": pa.array(new_product(cal, rows.month, rows.line)),
        "sales_rep": labels([*org.codes, UNMAPPED_ORG_CODE], rep),
        "quantity": pa.array(quantity),
        "amount": pa.array(amount),
        "cost": pa.array(cost),
        "status": labels(STATUSES, rows.status),
        "promised_date": pa.array(promised),
        "delivery_date": pa.array(delivered, mask=undelivered),
    })
    return table, rows, cost


# ------------------------------------------------------------------ inventory


def _baseline_daily_cogs(cal: Calendar, rows: SalesRows, cost: np.ndarray) -> np.ndarray:
    """Months x sales divisions: daily cost of the normal (non-stuffing, non-cancelled) flow."""
    n_div = len(SALES_DIVISIONS)
    ok = (rows.status != 1) & ~rows.stuffing
    cell = rows.month[ok] * n_div + rows.div[ok]
    cogs = np.bincount(cell, weights=cost[ok], minlength=cal.n * n_div)
    return cogs.reshape(cal.n, n_div) / cal.days_open[:, None]


def inventory_snapshots(rng: np.random.Generator, cal: Calendar, org: Org,
                         rows: SalesRows, cost: np.ndarray) -> pa.Table:
    """Month-end finished-goods stock per warehouse team and work in progress per production dept."""
    daily = _baseline_daily_cogs(cal, rows, cost)
    available = available_lines(cal)
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


def quality_inspections(rng: np.random.Generator, cal: Calendar, org: Org) -> pa.Table:
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
        "team_code": labels([t.code for _, t in teams], team),
        "lot_id": ids("QL", n, 7),
        "product_line": labels(PRODUCT_LINES, line),
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
class Survey:
    table: pa.Table
    month: np.ndarray
    dept: np.ndarray         # org unit index of the department
    recommend: np.ndarray


def survey_responses(rng: np.random.Generator, cal: Calendar, org: Org,
                      cust: _Customers) -> Survey:
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
    chan = categorical(rng, np.array([d.channel_mix for d in SALES_DIVISIONS]), div)
    customer = _pick_customer(rng, cust, div, chan, month, cal.n, 1.5)
    seed_window = cal.window()[month] & (div == seed_index())
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
        "问卷编号": ids("S", n, 7),
        "回复日期": pa.array(date[order]),
        "部门编码": labels(org.codes, dept_index[order]),
        "客户编号": labels(cust.codes, customer[order]),
        "渠道": labels(CHANNELS, chan[order]),
        "满意度": pa.array(score[order]),
        "推荐意愿": pa.array(recommend[order]),
        "意见": comment.take(pa.array(order)),
    })
    return Survey(table, month[order], dept_index[order], recommend[order])


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
