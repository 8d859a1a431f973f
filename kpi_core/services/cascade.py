"""Cascading a unit's target to its children, and reconciling parent against children.

A cascade says what it does before it writes: every child's share, target and the basis the share
came from, and a warning for each surprise (a child left at 0, a child without a basis, one child
taking nearly all, children that no longer add up to the parent's own target)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import pyarrow as pa

from kpi_core.engine.targets import from_own
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model import reasons
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import fiscal_year, parse_period
from kpi_core.model.problems import ImportResult
from kpi_core.query.api import Query, run
from kpi_core.store import settings
from kpi_core.store.dictionary import get
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse

Method = Literal["equal", "last_year", "headcount", "weights"]
METHODS: tuple[str, ...] = get_args(Method)
UPLIFT = (0.5, 3.0)  # the uplift a cascade takes: from half the parent's target to three times it
HEADCOUNT_METRIC = "headcount"
CONCENTRATED = 0.8  # one child taking this share or more of a split is worth a word
MISSING_BASIS = {"last_year": "services_cascade_no_actual", "headcount": "services_cascade_no_headcount",
                 "weights": "services_cascade_no_weight"}


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
    basis: float | None = None  # what the share came from: last year's actual, headcount or weight (None: none)


@dataclass(frozen=True)
class MetricCascade:
    """One metric's split, and what it leaves between the parent and its children."""

    metric: str
    total: float                # the target split, before the uplift
    uplifted: float             # total × uplift: what the children get together (sum metrics), or each
    splits: list[Split]
    additive: bool              # a sum metric, split by shares; otherwise copied down to every child
    parent_own: float | None    # the parent's own yearly target now (None: it takes its children's total)
    warnings: list[Msg] = field(default_factory=list)

    @property
    def children_total(self) -> float:
        return sum(s.target for s in self.splits)

    @property
    def gap(self) -> float | None:
        """The parent's own target minus the children's new total (sum metrics), as it stands unless
        the parent's target is updated too."""
        return _gap(self.parent_own, self.children_total) if self.additive else None


@dataclass(frozen=True)
class Cascade:
    """A cascade of one or more metrics as one target batch: the splits (the same before and after the
    write), the warnings, and, after the write, parent against children for each split metric."""

    org: str
    year: int
    method: str
    uplift: float
    update_parent: bool
    metrics: list[MetricCascade]
    result: ImportResult | None = None
    reconciliation: dict[str, Reconciliation] = field(default_factory=dict)

    @property
    def warnings(self) -> list[Msg]:
        return [w for m in self.metrics for w in m.warnings]


def _gap(parent: float | None, children: float) -> float | None:
    """Parent minus children, 0 within rounding (None without a parent target)."""
    if parent is None:
        return None
    gap = parent - children
    return 0.0 if abs(gap) <= 1e-9 * max(1.0, abs(parent)) else gap


def _num(v: float) -> str:
    """A number in a warning: grouped, at most two decimals, no trailing zeros."""
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def _bases(wh: Warehouse, method: Method, metric: str, org: str, children: list[str], year: int,
           weights: dict[str, float] | None) -> dict[str, float | None]:
    """Each child's basis for its share (None: it has none)."""
    if method == "equal":
        return {c: 1.0 for c in children}
    if method == "weights":
        if not weights:
            raise KpiError(Msg("services_cascade_needs_weights"))
        unknown = set(weights) - set(children)
        if unknown:
            raise KpiError(Msg("services_cascade_not_children", org=org, units=sorted(unknown)))
        given = {c: weights.get(c) for c in children}
        return {c: float(v) if v is not None and math.isfinite(v) else None for c, v in given.items()}
    code = metric if method == "last_year" else HEADCOUNT_METRIC
    got = {c.org: c.actual for c in run(wh, Query((code,), org, "children", "year", str(year - 1),
                                                  str(year - 1))).cells}
    return {c: got.get(c) for c in children}


def _shares(method: Method, bases: dict[str, float | None], year: int) -> dict[str, float]:
    raw = {c: v or 0.0 for c, v in bases.items()}
    if any(v < 0 for v in raw.values()):
        raise KpiError(Msg("services_cascade_negative", method=method_name(method)))
    total = sum(raw.values())
    if total <= 0:
        raise KpiError(Msg("services_cascade_zero", method=method_name(method), year=year - 1))
    return {c: v / total for c, v in raw.items()}


def _own_year_target(wh: Warehouse, metric: str, org: str, year: int, time_agg: str) -> float | None:
    """The unit's own target for the year, set on it at any grain (None: it takes its children's)."""
    with wh.connect() as con:
        own = dict(con.execute("SELECT period, value FROM target WHERE metric = ? AND org = ?",
                               [metric, org]).fetchall())
        start = int(settings.raw(con, "fiscal_year_start"))
    if not own:
        return None
    with fiscal_year(start):
        return from_own(own, parse_period(str(year)).months(), str(year), time_agg)


def _warnings(mc: MetricCascade, method: Method, bases: dict[str, float | None], tree: OrgTree, org: str,
              year: int, update_parent: bool) -> list[Msg]:
    if not mc.additive:
        return []

    def name(code: str) -> str:
        return f"{tree.units[code].name} ({code})" if code in tree.units else code

    out = []
    for s in mc.splits:
        if method != "equal" and bases.get(s.child) is None:
            out.append(Msg(MISSING_BASIS[method], metric=mc.metric, child=name(s.child), year=year - 1))
        elif s.share == 0:
            out.append(Msg("services_cascade_zero_share", metric=mc.metric, child=name(s.child)))
    top = max(mc.splits, key=lambda s: s.share)
    if len(mc.splits) > 1 and top.share >= CONCENTRATED:
        out.append(Msg("services_cascade_concentrated", metric=mc.metric, child=name(top.child),
                       share=f"{top.share:.1%}"))
    if mc.gap and not update_parent:
        out.append(Msg("services_cascade_gap", metric=mc.metric, org=name(org), parent=_num(mc.parent_own),
                       children=_num(mc.children_total), gap=_num(mc.gap)))
    return out


def cascade_metrics(wh: Warehouse, metrics: list[str], org: str, year: int, method: Method = "equal", *,
                    uplift: float = 1.0, weights: dict[str, float] | None = None,
                    totals: dict[str, float | None] | None = None, update_parent: bool = False,
                    dry_run: bool = False, user: str | Actor = "admin", reason: str | None = None) -> Cascade:
    """Split the unit's yearly target of each metric (or its entry in `totals`) × uplift (0.5 to 3) over
    its children, all by the same method; load them as one target batch unless dry_run, with the
    reason that loading needs. Only additive (sum) metrics split; others copy down. `update_parent`
    also sets the unit's own yearly target to the uplifted total in the same batch. The splits and
    warnings are the same with and without dry_run; after a write, `reconciliation` holds parent
    against children for each split metric."""
    actor = as_actor(user)
    if not dry_run:
        require(actor, "targets")
    if method not in METHODS:
        raise ValidationFailed(Msg("services_no_method", method=f"{method}", methods=list(METHODS)))
    if not UPLIFT[0] <= uplift <= UPLIFT[1]:  # NaN fails too
        raise ValidationFailed(Msg("services_uplift_range", uplift=f"{uplift:g}", low=f"{UPLIFT[0]:g}",
                                     high=f"{UPLIFT[1]:g}"))
    codes = list(dict.fromkeys(metrics))
    if not codes:
        raise ValidationFailed(Msg("services_cascade_no_metric"))
    with wh.connect() as con:
        tree = load_tree(con)
    org = tree.resolve(org)
    children = tree.children.get(org, [])
    if not children:
        raise KpiError(Msg("services_cascade_no_children", org=org))
    totals = {c: v for c, v in (totals or {}).items() if v is not None}
    defs = {c: get(wh, c) for c in codes}
    cells = {}
    if any(c not in totals for c in codes):
        cells = {c.metric: c for c in run(wh, Query(tuple(codes), org, "self", "year", str(year), str(year)),
                                          actor=actor).cells}
    plans = []
    for code in codes:
        total = totals.get(code)
        if total is None:
            total = cells[code].target_full  # the whole year, even while it is in progress
            if total is None:
                raise KpiError(Msg("services_cascade_no_target", org=org, year=year, metric=code))
        m, base = defs[code], total * uplift
        if m.time_agg == "sum" and m.org_agg == "sum":
            bases = _bases(wh, method, code, org, children, year, weights)
            shares = _shares(method, bases, year)
            splits = [Split(c, shares[c], base * shares[c], None if method == "equal" else bases[c])
                      for c in children]
            own = _own_year_target(wh, code, org, year, m.time_agg)
            mc = MetricCascade(code, total, base, splits, True, own)
            plans.append(replace(mc, warnings=_warnings(mc, method, bases, tree, org, year, update_parent)))
        else:  # a rate or an average: each child gets the parent's target
            plans.append(MetricCascade(code, total, base, [Split(c, 1.0, base) for c in children], False, None))
    done = Cascade(org, year, method, uplift, update_parent, plans)
    if dry_run:
        return done
    reason = reasons.required_reason(reason, reasons.CASCADE)
    rows = [(p.metric, s.child, s.target) for p in plans for s in p.splits]
    rows += [(p.metric, org, p.children_total if p.additive else p.uplifted) for p in plans] if update_parent else []
    table = pa.table({"metric": [r[0] for r in rows], "org": [r[1] for r in rows],
                      "period": [str(year)] * len(rows), "value": [float(r[2]) for r in rows]})
    source = (f"cascade {','.join(codes)} {org} {year} by {method} ×{uplift:g}"
              + (" with the parent" if update_parent else ""))
    result = import_table(wh, "targets", table, source=source, user=user, reason=reason)
    recs = {p.metric: reconcile(wh, p.metric, org, str(year), actor=actor) for p in plans if p.additive}
    return Cascade(org, year, method, uplift, update_parent, plans, result, recs)


def cascade(wh: Warehouse, metric: str, org: str, year: int, method: Method = "equal", *, uplift: float = 1.0,
            weights: dict[str, float] | None = None, total: float | None = None, update_parent: bool = False,
            dry_run: bool = False, user: str | Actor = "admin",
            reason: str | None = None) -> tuple[list[Split], ImportResult | None]:
    """One metric's cascade (see cascade_metrics): its splits, and the batch unless dry_run."""
    done = cascade_metrics(wh, [metric], org, year, method, uplift=uplift, weights=weights,
                           totals={metric: total}, update_parent=update_parent, dry_run=dry_run, user=user,
                           reason=reason)
    return done.metrics[0].splits, done.result


@dataclass(frozen=True)
class Reconciliation:
    parent: float | None
    children: dict[str, float | None]

    @property
    def children_total(self) -> float:
        return sum(v for v in self.children.values() if v is not None)

    @property
    def gap(self) -> float | None:
        """Parent target minus the sum of the children's targets (0 within rounding)."""
        return _gap(self.parent, self.children_total)


def reconcile(wh: Warehouse, metric: str, org: str, period: str, grain: str = "year",
              actor: Actor | None = None) -> Reconciliation:
    """The parent's target against its children's, for one period."""
    parent = run(wh, Query((metric,), org, "self", grain, period, period), actor=actor).cells[0].target_full
    kids = run(wh, Query((metric,), org, "children", grain, period, period), actor=actor).cells
    return Reconciliation(parent, {c.org: c.target_full for c in kids})
