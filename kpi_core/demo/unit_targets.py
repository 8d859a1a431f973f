"""Targets below the divisions, where the demo's own scorecards judge units (kpi_core/demo/scorecards.py).

Sales departments, teams and people get the division's and the department's plans cascaded by
their shares of last year; departments, production lines and warehouses a yearly plan for their
rates and scores from last year's actuals; every department a monthly turnover ceiling; lines
and warehouses zero safety incidents. Formula metrics need nothing here: below the divisions the
engine works their targets out from these components' targets (gross margin from gross profit
and revenue), so they agree by construction.
"""

from __future__ import annotations

import numpy as np

from kpi_core.demo.actuals import Values
from kpi_core.demo.shape import DIVISIONS
from kpi_core.demo.targets import Targets, next_plan
from kpi_core.demo.units import Org, Unit, round_sig

# Sums and levels planned for the division (and, for revenue and gross profit, the sales
# department) and handed down to the sales departments, teams and people by last year's shares.
CASCADED = ("revenue", "gross_profit", "order_count", "active_customers")
# Rates and scores planned per unit and year from the unit's own last year: (level, department type).
UNIT_PLANS = {
    "on_time_delivery": (("department", "SAL"), ("team", "SAL")),
    "return_rate": (("department", "SAL"), ("team", "SAL")),
    "customer_satisfaction": (("department", "SAL"), ("department", "CS")),
    "first_pass_yield": (("department", "PRD"), ("team", "PRD")),
    "defect_rate": (("department", "PRD"), ("team", "PRD")),
}
ZERO_SAFETY = (("team", "PRD"), ("department", "WH"), ("team", "WH"))  # PRD departments have theirs
TURNOVER_CUT = (0.03, 0.08)  # each department aims this much below last year's rate


def _months(year: int) -> list[str]:
    """The twelve month labels of a year."""
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def _ref(vals: Values, unit: str, year: int) -> int:
    """Last year when the unit had actuals then, else the year itself (the first year of data)."""
    return year - 1 if (unit, f"{year - 1}-01") in vals else year


# ------------------------------------------------------------------ sales: cascaded plans


def _department_months(code: str, dept: Unit, vals: Values, planned: Targets, year: int) -> dict[str, float]:
    """A sales department's monthly targets: revenue and gross profit as already planned; orders
    as the division's yearly plan spread by the department's months last year; active customers
    as the division's monthly plan times the department's share of that month last year."""
    if code in ("revenue", "gross_profit"):
        return {m: planned[(code, dept.code, m)] for m in _months(year) if (code, dept.code, m) in planned}
    div, ref = dept.division, _ref(vals, dept.code, year)
    out: dict[str, float] = {}
    if code == "order_count":
        total, yearly = vals.get((div, str(ref))), planned.get((code, div, str(year)))
        if total and yearly is not None:
            for m in _months(year):
                out[m] = float(round(yearly * vals.get((dept.code, f"{ref}{m[4:]}"), 0.0) / total))
        return out
    for m in _months(year):
        then = f"{ref}{m[4:]}"
        if planned.get((code, div, m)) and vals.get((div, then)):
            out[m] = float(round(planned[(code, div, m)] * vals.get((dept.code, then), 0.0) / vals[(div, then)]))
    return out


def _cascaded(code: str, vals: Values, org: Org, planned: Targets, years: list[int]) -> Targets:
    """The metric's targets for every sales department, team and person, by month."""
    out: Targets = {}
    whole = code in ("order_count", "active_customers")
    for dept in org.select("department", "SAL"):
        below = [u for u in org.units if u.department == dept.code and u.level in ("team", "person")]
        for year in years:
            months = _department_months(code, dept, vals, planned, year)
            ref = str(_ref(vals, dept.code, year))
            total = vals.get((dept.code, ref))
            if not months or not total:
                continue
            if code not in ("revenue", "gross_profit"):
                out.update({(code, dept.code, m): v for m, v in months.items()})
            for unit in below:
                share = vals.get((unit.code, ref), 0.0) / total
                if share > 0:
                    for m, v in months.items():
                        out[(code, unit.code, m)] = float(round(v * share)) if whole else round_sig(v * share)
    return out


# ------------------------------------------------------------------ rates, scores, stock


def _growth(planned: Targets, revenue: Values, years: list[int]) -> dict[tuple[str, int], float]:
    """Each division's planned revenue growth: its revenue target over last year's revenue."""
    out = {}
    for div in DIVISIONS:
        for year in years:
            target, last = planned.get(("revenue", div.code, str(year))), revenue.get((div.code, str(year - 1)))
            out[(div.code, year)] = target / last - 1 if target and last else 0.05
    return out


def _yearly_plans(rng: np.random.Generator, metrics: dict[str, dict], values: dict[str, Values], org: Org,
                  years: list[int], growth: dict[tuple[str, int], float]) -> Targets:
    """Rates and scores per unit from its own last year (the same planner as the divisions'), and
    warehouses' average stock: each warehouse's plan, the department their sum."""
    out: Targets = {}
    for code, kinds in UNIT_PLANS.items():
        vals = values.get(code, {})
        for level, dept_type in kinds:
            for unit in org.select(level, dept_type):
                for year in years:
                    plan = next_plan(rng, metrics[code], vals.get((unit.code, str(year - 1))),
                                     vals.get((unit.code, str(year))), growth[(unit.division, year)])
                    if plan is not None:
                        out[(code, unit.code, str(year))] = plan
    stock = values.get("avg_inventory_value", {})
    for dept in org.select("department", "WH"):
        for year in years:
            plans = [next_plan(rng, metrics["avg_inventory_value"], stock.get((t.code, str(year - 1))),
                               stock.get((t.code, str(year))), growth[(t.division, year)])
                     for t in org.children(dept.code)]
            for team, plan in zip(org.children(dept.code), plans, strict=True):
                if plan is not None:
                    out[("avg_inventory_value", team.code, str(year))] = plan
            if all(p is not None for p in plans):
                out[("avg_inventory_value", dept.code, str(year))] = round_sig(sum(plans), 3)
    return out


def _turnover(rng: np.random.Generator, vals: Values, years: list[int]) -> Targets:
    """A monthly ceiling per department: last year's average rate, shaped by last year's months
    across the company (the spike after the Spring Festival), a few per cent lower."""
    out: Targets = {}
    depts = sorted({d for d, _ in vals})
    for year in years:
        ref = year - 1 if any(p.startswith(str(year - 1)) for _, p in vals) else year
        grid = np.array([[vals.get((d, m), np.nan) for m in _months(ref)] for d in depts])
        shape = np.nanmean(grid, axis=0) / np.nanmean(grid)
        for dept, row in zip(depts, grid, strict=True):
            level = float(np.nanmean(row)) * (1 - rng.uniform(*TURNOVER_CUT))
            for m, factor in zip(_months(year), shape, strict=True):
                out[("employee_turnover_rate", dept, m)] = round(level * float(factor), 4)
    return out


def unit_targets(rng: np.random.Generator, metrics: list[dict], values: dict[str, Values],
                 manual: dict[str, Values], org: Org, planned: Targets, years: list[int]) -> Targets:
    """Targets of departments, teams and people for what their scorecards judge them on; `planned`
    (the company's and divisions' targets) is what sales departments and teams are cascaded from."""
    by_code = {m["code"]: m for m in metrics}
    out: Targets = {}
    for code in CASCADED:
        out.update(_cascaded(code, values[code], org, planned, years))
    out.update(_yearly_plans(rng, by_code, values, org, years, _growth(planned, values["revenue"], years)))
    out.update(_turnover(rng, manual["employee_turnover_rate"], years))
    for level, dept_type in ZERO_SAFETY:
        for unit in org.select(level, dept_type):
            out.update({("safety_incidents", unit.code, m): 0.0 for y in years for m in _months(y)})
    return out
