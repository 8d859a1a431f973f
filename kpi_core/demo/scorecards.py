"""The demo company's scorecards as data (SPEC §3 "Scorecards per unit"): what the company (a
balanced scorecard with perspective weights), each division by its kind, each department and
team by its type, and a few sales people are judged on.

Weights add up to 100 on every card, so each one is the metric's share in per cent (on the
company's card, the weights in a perspective add up to the perspective's weight). A unit's own
card holds only metrics the unit reports or has rows for, so none of it says "no data" for want
of a source; quarterly surveys (NPS, engagement, patents) show in quarters. The targets that
make these cards score below the divisions are kpi_core/demo/unit_targets.py.
"""

from __future__ import annotations

from kpi_core.demo.shape import DIVISIONS, Division
from kpi_core.demo.units import Org
from kpi_core.model.scorecard import Item, ScorecardDef

Card = tuple[tuple[str, float], ...]

COMPANY_PERSPECTIVES = {"financial": 35.0, "customer": 25.0, "internal_process": 25.0, "learning_growth": 15.0}
COMPANY: Card = (
    ("revenue", 15), ("gross_margin", 10), ("revenue_per_employee", 5), ("min_cash_balance", 5),
    ("customer_satisfaction", 8), ("on_time_delivery", 7), ("active_customers", 5), ("nps", 5),
    ("first_pass_yield", 7), ("inventory_turnover", 6), ("safety_incidents", 6), ("supplier_on_time_rate", 6),
    ("employee_turnover_rate", 5), ("new_product_revenue_share", 5), ("employee_engagement", 5),
)

DIVISION_CARDS: dict[str, Card] = {
    "sales": (
        ("revenue", 20), ("gross_margin", 15), ("active_customers", 10), ("customer_satisfaction", 10),
        ("on_time_delivery", 10), ("return_rate", 5), ("customer_complaints", 5), ("nps", 5),
        ("inventory_days", 5), ("min_cash_balance", 5), ("employee_turnover_rate", 5), ("training_hours", 5),
    ),
    "manufacturing": (
        ("revenue", 15), ("gross_margin", 15), ("on_time_delivery", 10), ("customer_satisfaction", 10),
        ("first_pass_yield", 15), ("defect_rate", 10), ("safety_incidents", 10), ("inventory_turnover", 5),
        ("employee_turnover_rate", 5), ("training_hours", 5),
    ),
    "functions": (
        ("min_cash_balance", 25), ("budget_utilization", 25), ("employee_turnover_rate", 20),
        ("training_hours", 15), ("employee_engagement", 15),
    ),
}

# Departments by type; budget_utilization is a department's cost discipline.
SUPPORT_DEPARTMENT: Card = (
    ("budget_utilization", 30), ("employee_turnover_rate", 25), ("training_hours", 25), ("employee_engagement", 20),
)
DEPARTMENT_CARDS: dict[str, Card] = {
    "SAL": (
        ("revenue", 25), ("gross_margin", 15), ("order_count", 10), ("active_customers", 10),
        ("on_time_delivery", 10), ("return_rate", 5), ("customer_satisfaction", 10), ("nps", 5),
        ("employee_turnover_rate", 5), ("training_hours", 5),
    ),
    "PRD": (
        ("first_pass_yield", 25), ("defect_rate", 20), ("safety_incidents", 15), ("peak_capacity_utilization", 10),
        ("budget_utilization", 10), ("employee_turnover_rate", 10), ("training_hours", 10),
    ),
    "WH": (
        ("inventory_days", 25), ("avg_inventory_value", 15), ("safety_incidents", 20), ("budget_utilization", 10),
        ("employee_turnover_rate", 15), ("training_hours", 15),
    ),
    "CS": (
        ("customer_satisfaction", 25), ("nps", 15), ("customer_complaints", 20), ("budget_utilization", 10),
        ("employee_turnover_rate", 15), ("training_hours", 15),
    ),
    "HR": (
        ("employee_turnover_rate", 30), ("training_hours", 25), ("employee_engagement", 25), ("budget_utilization", 20),
    ),
    "PUR": (
        ("supplier_on_time_rate", 40), ("budget_utilization", 20), ("employee_turnover_rate", 15),
        ("training_hours", 15), ("employee_engagement", 10),
    ),
    "RD": (
        ("new_patents", 35), ("budget_utilization", 20), ("employee_turnover_rate", 15),
        ("training_hours", 15), ("employee_engagement", 15),
    ),
}

# Teams by their department's type, with only what teams have figures for (people's training,
# the team's headcount; sales, quality, stock and incidents where the team books them).
SUPPORT_TEAM: Card = (("training_hours", 60), ("headcount", 40))
TEAM_CARDS: dict[str, Card] = {
    "SAL": (
        ("revenue", 30), ("gross_margin", 20), ("order_count", 15), ("active_customers", 15),
        ("on_time_delivery", 5), ("return_rate", 5), ("training_hours", 5), ("headcount", 5),  # staffed to plan
    ),
    "PRD": (
        ("first_pass_yield", 30), ("defect_rate", 25), ("safety_incidents", 20),
        ("peak_capacity_utilization", 15), ("training_hours", 10),
    ),
    "WH": (("inventory_days", 35), ("avg_inventory_value", 20), ("safety_incidents", 30), ("training_hours", 15)),
}

# A few people with their own card: the first sales people of the first sales team (P0001 is
# the demo's employee user, emp_p0001).
SALES_PERSON: Card = (
    ("revenue", 35), ("gross_margin", 20), ("order_count", 15), ("active_customers", 20), ("training_hours", 10),
)
PEOPLE_TEAM = "D1-SAL-T1"
PEOPLE_WITH_CARDS = 3


def division_kind(division: Division) -> str:
    """manufacturing (it runs production lines), sales (it sells), or functions."""
    if division.production_lines:
        return "manufacturing"
    return "sales" if division.sales_weight > 0 else "functions"


def card(org: str, items: Card, perspective_weights: dict[str, float] | None = None) -> ScorecardDef:
    """One unit's scorecard from (metric, weight) pairs."""
    return ScorecardDef(org=org, metrics=tuple(Item(metric=m, weight=float(w)) for m, w in items),
                        perspective_weights=perspective_weights)


def demo_scorecards(org: Org) -> list[ScorecardDef]:
    """Every own scorecard of the demo company, parents before children."""
    kinds = {d.code: division_kind(d) for d in DIVISIONS}
    people = {p.code for p in org.children(PEOPLE_TEAM)[:PEOPLE_WITH_CARDS]}
    out = []
    for unit in org.units:
        if unit.level == "company":
            out.append(card(unit.code, COMPANY, COMPANY_PERSPECTIVES))
        elif unit.level == "division":
            out.append(card(unit.code, DIVISION_CARDS[kinds[unit.code]]))
        elif unit.level == "department":
            out.append(card(unit.code, DEPARTMENT_CARDS.get(unit.dept_type or "", SUPPORT_DEPARTMENT)))
        elif unit.level == "team":
            out.append(card(unit.code, TEAM_CARDS.get(unit.dept_type or "", SUPPORT_TEAM)))
        elif unit.code in people:
            out.append(card(unit.code, SALES_PERSON))
    return out
