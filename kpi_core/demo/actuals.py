"""The demo company's reported actuals (manual metrics) and its dataset metrics' values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpi_core.demo.operations import Survey, seed_index
from kpi_core.demo.shape import COMPANY_CODE, DIVISIONS, SALES_DIVISIONS, SEED_CASE_DIVISION, SEED_CASE_MONTHS
from kpi_core.demo.units import Calendar, Org, Unit

# ------------------------------------------------------------------ manual actuals

Values = dict[tuple[str, str], float]


@dataclass(frozen=True)
class Context:
    cal: Calendar
    org: Org
    orders: np.ndarray      # months x sales divisions: valid normal orders
    survey: Survey


def _grid(codes: list[str], labels: list[str], values: np.ndarray) -> Values:
    """(org, period) -> value for a units x periods matrix."""
    return {(c, p): float(values[i, j]) for i, c in enumerate(codes) for j, p in enumerate(labels)}


def _quarterly(cal: Calendar) -> tuple[list[str], np.ndarray]:
    """Labels and year offsets of the complete quarters."""
    quarters = cal.complete_quarters()
    return [q for q, _ in quarters], np.array([cal.years_since_start[m[0]] for _, m in quarters])


def _codes(units: list[Unit]) -> list[str]:
    """Codes of units."""
    return [u.code for u in units]


def _window_position(cal: Calendar) -> np.ndarray:
    """1..SEED_CASE_MONTHS inside the seed window, 0 before it."""
    pos = np.zeros(cal.n)
    pos[cal.window()] = np.arange(1, SEED_CASE_MONTHS + 1)
    return pos


def _headcount(rng: np.random.Generator, ctx: Context) -> Values:
    """Month-end headcount per team; production lines include their operators."""
    cal, teams = ctx.cal, ctx.org.select("team")
    people = np.array([len(ctx.org.children(t.code)) for t in teams])
    operators = np.array([rng.integers(24, 42) if t.dept_type == "PRD" else 0 for t in teams])
    ramp = 1.0 - 0.14 * (1.0 - np.arange(cal.n) / max(cal.n - 1, 1))
    feb = np.array([t.dept_type == "PRD" for t in teams])[:, None] & (cal.month_of_year == 2)
    value = (people + operators)[:, None] * ramp[None, :] * np.where(feb, 0.9, 1.0)
    value = np.rint(value) + rng.choice([-1, 0, 0, 0, 0, 0, 1], value.shape)
    return _grid(_codes(teams), cal.labels, np.maximum(value, 1))


def _training_hours(rng: np.random.Generator, ctx: Context) -> Values:
    """Training hours per person and month."""
    cal, people = ctx.cal, ctx.org.select("person")
    season = np.array([0.7, 0.4, 1.2, 1.1, 1.0, 0.9, 0.8, 0.8, 1.2, 1.0, 1.1, 0.7])
    shape = (len(people), cal.n)
    value = rng.gamma(2.0, 2.6, shape) * season[cal.month_of_year - 1]
    value *= rng.lognormal(0, 0.3, (len(people), 1)) * (1 + 0.08 * cal.years_since_start)
    value = np.where(rng.random(shape) < 0.15, 0.0, np.minimum(np.rint(value * 2) / 2, 80))
    return _grid(_codes(people), cal.labels, value)


def _employee_engagement(rng: np.random.Generator, ctx: Context) -> Values:
    """Quarterly engagement score per department."""
    depts = ctx.org.select("department")
    labels, years = _quarterly(ctx.cal)
    seed = np.array([d.division == SEED_CASE_DIVISION for d in depts])[:, None]
    late = np.arange(len(labels)) >= len(labels) - 2
    value = rng.normal(74, 4, (len(depts), 1)) + 0.8 * years + rng.normal(0, 1.5, (len(depts), len(labels)))
    value -= np.where(seed & late, 2.5, 0.0)
    return _grid(_codes(depts), labels, np.round(np.clip(value, 0, 100), 1))


def _employee_turnover_rate(rng: np.random.Generator, ctx: Context) -> Values:
    """Monthly attrition per department, peaking after the Spring Festival."""
    cal, depts = ctx.cal, ctx.org.select("department")
    value = rng.uniform(0.006, 0.016, (len(depts), 1)) * rng.lognormal(0, 0.35, (len(depts), cal.n))
    value *= np.where(np.isin(cal.month_of_year, (2, 3)), 2.2, 1.0)
    seed_sales = np.array([d.division == SEED_CASE_DIVISION and d.dept_type == "SAL" for d in depts])
    value *= np.where(seed_sales[:, None] & cal.window(), 1.6, 1.0)
    return _grid(_codes(depts), cal.labels, np.round(np.clip(value, 0, 1), 4))


def _budget_utilization(rng: np.random.Generator, ctx: Context) -> Values:
    """Monthly spend / budget per department."""
    cal, depts = ctx.cal, ctx.org.select("department")
    shift = np.select([cal.month_of_year == 12, cal.month_of_year == 1], [0.06, -0.05], 0.0)
    value = rng.normal(0.975, 0.035, (len(depts), cal.n)) + shift
    return _grid(_codes(depts), cal.labels, np.round(np.clip(value, 0, 2), 3))


def _min_cash_balance(rng: np.random.Generator, ctx: Context) -> Values:
    """Lowest daily cash balance per division and month."""
    cal, divs = ctx.cal, ctx.org.select("division")
    base = np.array([next(d.cash_base for d in DIVISIONS if d.code == u.code) for u in divs])
    season = np.select([cal.month_of_year == 1, cal.month_of_year == 2], [0.75, 0.85], 1.0)
    value = base[:, None] * 1.05 ** cal.years_since_start * season * rng.lognormal(0, 0.08, (len(divs), cal.n))
    seed = np.array([u.code == SEED_CASE_DIVISION for u in divs])[:, None]
    value *= np.where(seed, 1 - 0.06 * _window_position(cal), 1.0)
    return _grid(_codes(divs), cal.labels, np.round(value, -4))


def _peak_capacity_utilization(rng: np.random.Generator, ctx: Context) -> Values:
    """Highest daily utilisation of each production line in the month."""
    cal, teams = ctx.cal, ctx.org.select("team", "PRD")
    season = np.array([0.0, -0.15, 0, 0, 0, 0.04, 0, 0, 0, 0, 0.04, 0.06])[cal.month_of_year - 1]
    seed = np.array([t.division == SEED_CASE_DIVISION for t in teams])[:, None]
    value = 0.84 + season + rng.normal(0, 0.03, (len(teams), cal.n)) + np.where(seed & cal.window(), 0.07, 0)
    return _grid(_codes(teams), cal.labels, np.round(np.clip(value, 0.4, 1.15), 3))


def _safety_incidents(rng: np.random.Generator, ctx: Context) -> Values:
    """Recordable incidents per production line and warehouse; mostly zero."""
    cal = ctx.cal
    teams = ctx.org.select("team", "PRD") + ctx.org.select("team", "WH")
    lam = np.array([0.05 if t.dept_type == "PRD" else 0.02 for t in teams])
    return _grid(_codes(teams), cal.labels, rng.poisson(lam[:, None], (len(teams), cal.n)).astype(float))


def _supplier_on_time_rate(rng: np.random.Generator, ctx: Context) -> Values:
    """Supplier on-time rate per purchasing department."""
    cal, depts = ctx.cal, ctx.org.select("department", "PUR")
    value = 0.92 + 0.008 * cal.years_since_start + rng.normal(0, 0.015, (len(depts), cal.n))
    return _grid(_codes(depts), cal.labels, np.round(np.clip(value, 0, 0.995), 3))


def _complaint_units(org: Org) -> list[Unit]:
    """Customer service departments, or the sales department where a division has none."""
    units = []
    for div in SALES_DIVISIONS:
        service = org.select("department", "CS", div.code)
        units.extend(service or org.select("department", "SAL", div.code))
    return units


def _customer_complaints(rng: np.random.Generator, ctx: Context) -> Values:
    """Complaints logged per month, proportional to order volume; doubled in the seed case."""
    cal, units = ctx.cal, _complaint_units(ctx.org)
    div = np.array([[d.code for d in SALES_DIVISIONS].index(u.division) for u in units])
    lam = ctx.orders[:, div].T * 0.0025
    seed = (div == seed_index())[:, None]
    lam *= np.where(seed & cal.window(), 2.2, 1.0)
    return _grid(_codes(units), cal.labels, rng.poisson(lam).astype(float))


def _new_patents(rng: np.random.Generator, ctx: Context) -> Values:
    """Patents granted per R&D department and quarter."""
    depts = ctx.org.select("department", "RD")
    labels, years = _quarterly(ctx.cal)
    value = rng.poisson(2.5 + 0.4 * years, (len(depts), len(labels))).astype(float)
    return _grid(_codes(depts), labels, value)


def _nps_units(org: Org) -> list[Unit]:
    """Units that report their own NPS: surveyed departments, sales divisions, the company."""
    depts = [d for div in SALES_DIVISIONS for d in org.select("department", None, div.code)
             if d.dept_type in ("SAL", "CS")]
    sales = {d.code for d in SALES_DIVISIONS}
    return [org.units[0], *(u for u in org.select("division") if u.code in sales), *depts]


def _nps(rng: np.random.Generator, ctx: Context) -> Values:
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


MANUAL_GENERATORS: dict[str, Callable[[np.random.Generator, Context], Values]] = {
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


def _with_units(table: pa.Table, org: Org, time_column: str, org_column: str) -> pa.Table:
    """The rows with year, month, division, department, team and person columns (null division:
    unmapped; null team or person: a row booked higher up)."""
    encoded = pc.dictionary_encode(table[org_column]).combine_chunks()
    position = pc.index_in(encoded.dictionary, value_set=pa.array(org.codes)).take(encoded.indices)
    dates = table[time_column]
    teams = [u.code if u.level == "team" else u.parent if u.level == "person" else None for u in org.units]
    return (
        table.append_column("_y", pc.year(dates))
        .append_column("_m", pc.month(dates))
        .append_column("_division", pa.array([u.division for u in org.units]).take(position))
        .append_column("_department", pa.array([u.department for u in org.units]).take(position))
        .append_column("_team", pa.array(teams, pa.string()).take(position))
        .append_column("_person", pa.array([u.code if u.level == "person" else None for u in org.units],
                                           pa.string()).take(position))
    )


def _grouping_sets(code: str) -> str:
    """Grouping sets the targets of a dataset metric need."""
    sets = ["(_y)", "(_y, _division)"]
    if code in ("revenue", "gross_profit"):
        sets.append("(_y, _m, _department)")
    if code == "active_customers":
        sets += ["(_y, _m)", "(_y, _m, _division)"]
    return ", ".join(sets)


# Dataset metrics also planned below the divisions (kpi_core/demo/unit_targets.py), by year for
# departments and teams; True: also by year for people and by month for departments (sales plans
# cascade from a department's months by each team's and person's share of its year).
UNIT_PLANNED = {"revenue": True, "gross_profit": True, "order_count": True, "active_customers": True,
                "on_time_delivery": False, "return_rate": False, "customer_satisfaction": False,
                "first_pass_yield": False, "defect_rate": False, "avg_inventory_value": False}
_UNIT_COLUMNS = ("_department", "_team", "_person")


def _unit_values(con: duckdb.DuckDBPyConnection, code: str, name: str, measure: str, where: str) -> Values:
    """A metric per year for each department, team (and person), and per month for departments;
    only for the years plans are made from (every year but the last: each unit's plan for a year
    comes from the year before, the first year's from itself)."""
    columns = _UNIT_COLUMNS if UNIT_PLANNED[code] else _UNIT_COLUMNS[:2]
    sets = [f"(_y, {c})" for c in columns] + (["(_y, _m, _department)"] if UNIT_PLANNED[code] else [])
    month = "_m" if UNIT_PLANNED[code] else "NULL AS _m"
    sql = f"""SELECT _y, {month}, {', '.join(columns)}, GROUPING({', '.join(columns)}) AS g, {measure} AS v
              FROM "{name}" {where} AND _y < (SELECT max(_y) FROM "{name}")
              GROUP BY GROUPING SETS ({', '.join(sets)})"""
    values: Values = {}
    for y, m, *units, g, v in con.execute(sql).fetchall():
        # GROUPING sets a bit for each column left out: the one without it names the unit.
        unit = next(u for i, u in enumerate(units) if not g >> (len(units) - 1 - i) & 1)
        if unit is not None and v is not None:
            values[(unit, str(y) if m is None else f"{y}-{m:02d}")] = float(v)
    return values


def dataset_values(metrics: list[dict], datasets: dict[str, pa.Table], org: Org) -> dict[str, Values]:
    """Dataset metrics per year for company and divisions, per month where targets need it, and
    below the divisions for the metrics in UNIT_PLANNED."""
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
        if metric["code"] in UNIT_PLANNED:
            for key, v in _unit_values(con, metric["code"], name, src["measure"], where).items():
                values.setdefault(key, v)
        out[metric["code"]] = values
    con.close()
    return out
