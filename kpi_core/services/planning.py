"""Target planning for one unit and year: the targets in force by month, the explicit ones,
the children's total against the unit's own, and saving edits with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model import reasons
from kpi_core.model.access import Actor
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.periods import Period
from kpi_core.model.problems import ImportResult
from kpi_core.query.api import Query, run
from kpi_core.store import dictionary
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse


@dataclass
class PlanRow:
    metric: str
    year_target: float | None                  # in force for the year (explicit, phased up or rolled up)
    explicit_year: float | None                # set on the unit for the year itself
    months: dict[str, float | None] = field(default_factory=dict)  # in force per month
    children_total: float | None = None
    gap: float | None = None                   # own year target − children's total (sum metrics)


def plan(wh: Warehouse, org: str, year: int, metrics: list[str] | None = None,
         actor: Actor | None = None) -> list[PlanRow]:
    """A unit's targets for a year: the year, its months, and its children's total against it."""
    current = dictionary.current(wh)
    with wh.connect() as con:
        org = load_tree(con).resolve(org)
    codes = tuple(metrics or current)
    label = str(year)
    months = [Period("month", year, m).label for m in range(1, 13)]
    yearly = {c.metric: c for c in run(wh, Query(codes, org, "self", "year", label, label), actor=actor).cells}
    monthly = run(wh, Query(codes, org, "self", "month", months[0], months[-1]), actor=actor).cells
    kids = run(wh, Query(codes, org, "children", "year", label, label), actor=actor).cells
    with wh.connect() as con:
        explicit = dict(con.execute("SELECT metric, value FROM target WHERE org = ? AND period = ?",
                                    [org, label]).fetchall())
        has_children = bool(load_tree(con).children.get(org))
    rows = {c: PlanRow(c, yearly[c].target_full, explicit.get(c)) for c in codes}  # the whole year
    for c in monthly:
        rows[c.metric].months[c.period] = c.target
    for code, row in rows.items():
        if has_children and current[code].org_agg == "sum":
            vals = [c.target_full for c in kids if c.metric == code and c.target_full is not None]
            row.children_total = sum(vals) if vals else None
            if row.year_target is not None and row.children_total is not None:
                row.gap = row.year_target - row.children_total
    return [rows[c] for c in codes]


def save_targets(wh: Warehouse, edits: list[tuple[str, str, str, float]], *, reason: str,
                 user: str | Actor = "admin") -> ImportResult:
    """Store edited targets (metric, org, period, value) as one batch; a reason is required."""
    reason = reasons.required_reason(reason, reasons.TARGETS)
    if not edits:
        raise KpiError(Msg("services_no_target_changed"))
    table = pa.table({"metric": [e[0] for e in edits], "org": [e[1] for e in edits],
                      "period": [e[2] for e in edits], "value": pa.array([float(e[3]) for e in edits])})
    return import_table(wh, "targets", table, source="target editor", user=user, reason=reason)
