"""Cascading a unit's target to its children, and reconciling parent against children."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import pyarrow as pa

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model import reasons
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.problems import ImportResult
from kpi_core.query.api import Query, run
from kpi_core.store.dictionary import get
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse

Method = Literal["equal", "last_year", "headcount", "weights"]
METHODS: tuple[str, ...] = get_args(Method)
UPLIFT = (0.5, 3.0)  # the uplift a cascade takes: from half the parent's target to three times it
HEADCOUNT_METRIC = "headcount"


def method_name(method: str) -> Msg:
    """A cascade method as a refusal names it."""
    return {"equal": lambda: Msg("services_method_equal"), "last_year": lambda: Msg("services_method_last_year"),
            "headcount": lambda: Msg("services_method_headcount"),
            "weights": lambda: Msg("services_method_weights")}[method]()


@dataclass(frozen=True)
class Split:
    child: str
    share: float
    target: float


def _shares(wh: Warehouse, method: Method, metric: str, org: str, children: list[str], year: int,
            weights: dict[str, float] | None) -> dict[str, float]:
    if method == "equal":
        raw = {c: 1.0 for c in children}
    elif method == "weights":
        if not weights:
            raise KpiError(Msg("services_cascade_needs_weights"))
        unknown = set(weights) - set(children)
        if unknown:
            raise KpiError(Msg("services_cascade_not_children", org=org, units=sorted(unknown)))
        raw = {c: float(weights.get(c, 0.0)) for c in children}
    else:
        code = metric if method == "last_year" else HEADCOUNT_METRIC
        cells = run(wh, Query((code,), org, "children", "year", str(year - 1), str(year - 1))).cells
        raw = {c.org: c.actual or 0.0 for c in cells}
    if any(v < 0 for v in raw.values()):
        raise KpiError(Msg("services_cascade_negative", method=method_name(method)))
    total = sum(raw.values())
    if total <= 0:
        raise KpiError(Msg("services_cascade_zero", method=method_name(method), year=year - 1))
    return {c: raw[c] / total for c in children}


def cascade(wh: Warehouse, metric: str, org: str, year: int, method: Method = "equal", *, uplift: float = 1.0,
            weights: dict[str, float] | None = None, total: float | None = None, dry_run: bool = False,
            user: str | Actor = "admin", reason: str | None = None) -> tuple[list[Split], ImportResult | None]:
    """Split the unit's yearly target (or `total`) × uplift (0.5 to 3) over its children; load them as a
    target batch unless dry_run, with the reason that loading needs. Only additive (sum) metrics
    split; others copy down."""
    if not dry_run:
        require(as_actor(user), "targets")
    if method not in METHODS:
        raise ValidationFailed(Msg("services_no_method", method=f"{method}", methods=list(METHODS)))
    if not UPLIFT[0] <= uplift <= UPLIFT[1]:  # NaN fails too
        raise ValidationFailed(Msg("services_uplift_range", uplift=f"{uplift:g}", low=f"{UPLIFT[0]:g}",
                                     high=f"{UPLIFT[1]:g}"))
    with wh.connect() as con:
        tree = load_tree(con)
    org = tree.resolve(org)
    children = tree.children.get(org, [])
    if not children:
        raise KpiError(Msg("services_cascade_no_children", org=org))
    if total is None:
        cell = run(wh, Query((metric,), org, "self", "year", str(year), str(year)),
                   actor=as_actor(user)).cells[0]
        if cell.target_full is None:
            raise KpiError(Msg("services_cascade_no_target", org=org, year=year, metric=metric))
        total = cell.target_full  # the whole year, even while it is in progress

    m = get(wh, metric)
    base = total * uplift
    if m.time_agg == "sum" and m.org_agg == "sum":
        shares = _shares(wh, method, metric, org, children, year, weights)
        splits = [Split(c, shares[c], base * shares[c]) for c in children]
    else:  # a rate or an average: each child gets the parent's target
        splits = [Split(c, 1.0, base) for c in children]
    if dry_run:
        return splits, None
    reason = reasons.required_reason(reason, reasons.CASCADE)
    table = pa.table({"metric": [metric] * len(splits), "org": [s.child for s in splits],
                      "period": [str(year)] * len(splits), "value": [s.target for s in splits]})
    result = import_table(wh, "targets", table, source=f"cascade {metric} {org} {year} by {method} ×{uplift:g}",
                          user=user, reason=reason)
    return splits, result


@dataclass(frozen=True)
class Reconciliation:
    parent: float | None
    children: dict[str, float | None]

    @property
    def children_total(self) -> float:
        return sum(v for v in self.children.values() if v is not None)

    @property
    def gap(self) -> float | None:
        """Parent target minus the sum of the children's targets."""
        return None if self.parent is None else self.parent - self.children_total


def reconcile(wh: Warehouse, metric: str, org: str, period: str, grain: str = "year",
              actor: Actor | None = None) -> Reconciliation:
    """The parent's target against its children's, for one period."""
    parent = run(wh, Query((metric,), org, "self", grain, period, period), actor=actor).cells[0].target_full
    kids = run(wh, Query((metric,), org, "children", grain, period, period), actor=actor).cells
    return Reconciliation(parent, {c.org: c.target_full for c in kids})
