"""The demo company's targets: yearly plans phased to months and cascaded to units, and formula
metrics' targets from their parts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from kpi_core.demo.actuals import Values
from kpi_core.demo.shape import COMPANY_CODE, DIVISIONS, SALES_DIVISIONS
from kpi_core.demo.units import Org, round_sig
from kpi_core.engine.formula import NoValue, components, evaluate

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


def next_plan(rng: np.random.Generator, metric: dict, prev: float | None, cur: float | None,
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
        return round_sig(base * (1 + growth) * (0.99 if lower else rng.uniform(1.0, 1.02)))
    if metric.get("unit") in SCALE_UNITS:
        # Levels such as customers or stock grow with the business.
        return round_sig(base * (1 + growth) * rng.uniform(*((0.95, 0.99) if lower else (0.98, 1.02))), 3)
    if lower:
        return round_sig(base * (1 - rng.uniform(0.03, 0.08)), 3)
    if metric.get("unit") == "%" and base < 1:
        return round_sig(base + (1 - base) * rng.uniform(0.05, 0.2), 3)
    return round_sig(base * (1 + rng.uniform(0.005, 0.02)), 3)


def dataset_targets(rng: np.random.Generator, metrics: list[dict], values: dict[str, Values],
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
                plan = next_plan(rng, metric, vals.get((div.code, str(y - 1))),
                             vals.get((div.code, str(y))), growth[(div.code, y)])
                if plan is not None:
                    divisions[div.code] = plan
                    out[(code, div.code, str(y))] = plan
            if _is_additive(metric):
                out[(code, COMPANY_CODE, str(y))] = round_sig(sum(divisions.values()))
            else:
                company_growth = float(np.mean([growth[(d.code, y)] for d in SALES_DIVISIONS]))
                plan = next_plan(rng, metric, vals.get((COMPANY_CODE, str(y - 1))),
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
                out[("new_product_revenue", unit, period)] = round_sig(
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
                out[(code, dept, label)] = round_sig(yearly * share)
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
                    out[(code, unit, label)] = round_sig(base if prev else base * rng.uniform(0.97, 1.03), 3)
    return out


def _year_groups(values: Values, year: int, org: Org, level: str) -> dict[str, list[float]]:
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
    org: Org
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
    floors = {div: round_sig(0.9 * min(values), 3) for div, values in ty.reference().items()}
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


def manual_targets(rng: np.random.Generator, manual: dict[str, Values], org: Org,
                    years: list[int]) -> Targets:
    """Targets of the uploaded metrics at the levels a planner would set them."""
    out: Targets = {}
    for code, values in manual.items():
        for year in years:
            MANUAL_TARGETS[code](_TargetYear(rng, org, values, year, out, code))
    return out


def formula_targets(metrics: list[dict], targets: Targets, years: list[int]) -> Targets:
    """Yearly company and division targets of formula metrics, from their components' targets."""
    formulas = {m["code"]: m["source"]["formula"] for m in metrics
                if isinstance(m["source"], dict) and "formula" in m["source"]}
    out: Targets = {}
    units = [COMPANY_CODE, *(d.code for d in DIVISIONS)]
    pending = dict(formulas)
    while pending:
        ready = {c: f for c, f in pending.items()
                 if not any(part in pending for part in components(f))}
        if not ready:
            raise ValueError(f"circular formulas: {sorted(pending)}")
        for code, expression in ready.items():
            for unit in units:
                for y in years:
                    keys = {p: (p, unit, str(y)) for p in components(expression)}
                    parts = {p: out.get(k, targets.get(k)) for p, k in keys.items()}
                    try:  # the engine's own formula arithmetic, so demo targets agree with its cells
                        out[(code, unit, str(y))] = evaluate(expression, parts)
                    except NoValue:
                        pass
            del pending[code]
    return {k: round_sig(v, 3) for k, v in out.items()}
