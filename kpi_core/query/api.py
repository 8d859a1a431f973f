"""The one query API: metrics × org units × periods → actual, target, attainment, status, score.

Used by the CLI (`query`), the pages and the boards. Each cell says whether its actual was
reported, rolled up, computed from a dataset or from a formula, and why a value is empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal, TypeVar

import pyarrow as pa

from kpi_core.engine import attainment as att
from kpi_core.engine.compile import KEYS, org_closure, org_keys
from kpi_core.engine.formula import NoValue, components, evaluate
from kpi_core.engine.rollup import ROLLED_UP
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.config import max_query_cells
from kpi_core.model.errors import AccessDenied, KpiError, NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Grain, Period, fiscal_year, parse_period
from kpi_core.model.text import visible
from kpi_core.query import cache
from kpi_core.query.evaluator import Evaluator, needed, semicolons
from kpi_core.store import dictionary, settings, versions
from kpi_core.store.org import load_tree
from kpi_core.store.versions import Versions
from kpi_core.store.warehouse import Warehouse

Scope = Literal["self", "children", "subtree"]
T = TypeVar("T")
MAX_PERIODS = 600  # fifty years of months


@dataclass(frozen=True)
class Query:
    """What to compute. `first`/`last` are period labels at `grain` (default: this year so far)."""

    metrics: tuple[str, ...]
    org: str | None = None
    scope: Scope = "self"
    grain: Grain = "month"
    first: str | None = None
    last: str | None = None
    ytd: bool = False
    fiscal_start: int | None = None  # the fiscal year's first month; None: the warehouse setting


@dataclass
class Cell:
    """One metric × org unit × period."""

    metric: str
    org: str
    period: str
    actual: float | None = None
    target: float | None = None
    attainment: float | None = None
    status: str = "no_data"
    rule: str = ""             # a Msg: the rule that gave the status
    score: float | None = None
    source: str | None = None  # reported | rolled_up | dataset | computed
    note: str = ""             # why the actual or the target is empty (a Msg)
    target_full: float | None = None  # the whole period's target (the target above is to date when in progress)
    in_progress: bool = False  # a quarter or year not over at the metric's as-of month (SPEC §3)


@dataclass
class Result:
    cells: list[Cell]
    unmapped: dict[str, int] = field(default_factory=dict)  # dataset metric -> rows on no unit

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist([asdict(c) for c in self.cells])


def periods_of(q: Query, today: dt.date | None = None) -> list[Period]:
    """The periods asked for, at the query's grain."""
    today = today or dt.date.today()
    this_month = Period("month", today.year, today.month)
    now = this_month.to(q.grain)
    first = parse_period(q.first).to(q.grain) if q.first else this_month.to("year").months()[0].to(q.grain)
    last = parse_period(q.last).to(q.grain) if q.last else now
    if first > last:
        raise KpiError(Msg("query_from_after_to", first=first.label, last=last.label))
    out, p = [], first
    while p <= last:
        out.append(p)
        p = p.shift(1)
    if len(out) > MAX_PERIODS:
        raise KpiError(Msg("query_too_many_periods", n=len(out), max=MAX_PERIODS))
    return out


def run(wh: Warehouse, q: Query, *, today: dt.date | None = None, actor: Actor | None = None) -> Result:
    """Compute every metric × unit × period cell of the query, within what `actor` may read
    (None: a trusted in-process caller, who reads everything)."""
    with wh.read() as con:
        with fiscal_year(q.fiscal_start or int(settings.raw(con, "fiscal_year_start"))):
            return _run(wh, con, q, today, actor)


def _scoped(actor: Actor, tree: OrgTree, q: Query, root: str, units: list[str]) -> list[str]:
    """The query's units if the actor may read its unit; below it, only the readable ones."""
    access.check(actor, tree, "read", root)
    return units if q.scope == "self" else access.visible_units(actor, tree, units)


def _run(wh: Warehouse, con, q: Query, today: dt.date | None, actor: Actor | None = None) -> Result:
    periods = periods_of(q, today)
    now, (tree, closure, keys, metrics) = _context(wh, con)
    asked = tuple(dict.fromkeys(q.metrics))  # a metric named twice is computed once
    unknown = [c for c in asked if c not in metrics]
    if unknown:
        named = [repr(visible(c)) for c in unknown[:10]]
        raise NotFound(Msg("query_no_metric_more", metrics=named, more=len(unknown) - 10) if len(unknown) > 10
                       else Msg("query_no_metric", metrics=named))
    root = tree.resolve(q.org) if q.org else (access.home(actor, tree) if actor else tree.root)
    if root is None and actor is not None and tree.root is not None:
        raise AccessDenied(Msg("query_no_home", who=actor.describe()))
    if root is None:
        raise KpiError(Msg("query_empty_tree"))
    if q.scope not in ("self", "children", "subtree"):
        raise KpiError(Msg("query_bad_scope", scope=f"{q.scope}", scopes=["self", "children", "subtree"]))
    units = {"self": [root], "children": list(tree.children.get(root, [])),
             "subtree": tree.subtree(root)}[q.scope]
    if actor is not None:
        units = _scoped(actor, tree, q, root, units)
    size, budget = len(asked) * len(units) * len(periods), max_query_cells()
    if size > budget:  # refused before any work, so a runaway request cannot exhaust memory
        raise KpiError(Msg("query_too_many_cells", cells=f"{size:,}", metrics=f"{len(asked):,}",
                           units=f"{len(units):,}", periods=f"{len(periods):,}", limit=f"{budget:,}"))
    con.register(KEYS, keys)
    try:
        engine = Evaluator(con, tree, metrics, units, periods, q.ytd, closure)
        engine.wanted = needed(metrics, asked)
        engine.cache_key, engine.basis = stamp(wh, now.data), (_file_key(wh), now)
        engine.load_datasets([metrics[c] for c in sorted(engine.wanted) if metrics[c].source_type == "dataset"])
        cells = [_cell(engine, metrics[code], unit, p) for code in asked for unit in units for p in periods]
    finally:
        con.unregister(KEYS)
    return Result(cells, engine.unmapped)


def _file_key(wh: Warehouse) -> str:
    st = wh.path.stat()
    return f"{wh.path.resolve()}:{st.st_ino}"


def stamp(wh: Warehouse, version: int) -> cache.Stamp:
    """The warehouse file at a data version, for the keys of what is kept per version."""
    return cache.Stamp(_file_key(wh), version)


def _context(wh: Warehouse, con) -> tuple[Versions, tuple[OrgTree, pa.Table, pa.Table, dict[str, Metric]]]:
    """The org tree, its closure and the metric dictionary, kept while the base version holds: a
    board's dozen queries build them once, an upload of facts keeps them, and any broad write
    makes the next query read them anew."""
    now = versions.read(con)
    # The file's identity too: a warehouse rebuilt at the same path starts its version again.
    key = _file_key(wh)
    held = cache.CONTEXT.peek(key)
    if held is None or held[0] != now:
        if held is not None and held[0].data < now.data:  # what older versions kept is never read again
            cache.retire(cache.Stamp(key, now.data), now)
        if held is not None and held[0].base == now.base:  # only narrow writes since: same tree, dictionary
            held = (now, held[1])
        else:
            tree = load_tree(con)
            closure = org_closure(tree)
            held = (now, (tree, closure, org_keys(closure), dictionary.current(wh)))
        cache.CONTEXT.put(key, held)
    return held


def kept(wh: Warehouse, what: Hashable, read: Callable[[], T]) -> T:
    """`read()`, kept while the warehouse's data version holds: for reads of what every change
    bumps the version (the scorecards, the dictionary), shared by every page and query."""
    with wh.read() as con:
        version = int(con.execute("SELECT value FROM setting WHERE key = 'data_version'").fetchall()[0][0])
        return cache.FACTS.get((what, stamp(wh, version)), read)


def kept_for(wh: Warehouse, metric: str, what: Hashable, read: Callable[[], T]) -> T:
    """`read()` of something made from one metric's numbers (a forecast), kept until a write
    changes what they are made of (`subjects_of`) or a broad write."""
    with wh.read():
        return cache.FACTS.get((what, scope_of(wh, [metric])), read)


def scope_of(wh: Warehouse, codes: Iterable[str]) -> cache.Scope:
    """The key part of what is made from these metrics' numbers (a forecast, a board tile): it
    holds until a write changes what they are made of (`subjects_of`) or a broad write."""
    with wh.read() as con:
        now, (_tree, _closure, _keys, metrics) = _context(wh, con)
    joined = "|".join(sorted(set().union(*(subjects_of(metrics, c) for c in codes if c in metrics))))
    return cache.Scope(_file_key(wh), now.base, joined, now.of(joined))


def subjects_of(metrics: dict[str, Metric], code: str, stack: tuple[str, ...] = ()) -> set[str]:
    """What a metric's actuals and targets are read from (store.versions): its own targets, and its
    uploaded actuals, its dataset's rows, or a formula's components' subjects."""
    m = metrics[code]
    out = {versions.facts("target", code)}
    if m.source_type == "manual":
        out.add(versions.facts("actual", code))
    elif m.source_type == "dataset":
        out.add(versions.dataset(m.source.dataset))
    else:
        for c in components(m.source.formula):
            if c in metrics and c not in stack:
                out |= subjects_of(metrics, c, (*stack, code))
    return out


def context(wh: Warehouse) -> tuple[OrgTree, dict[str, Metric]]:
    """The org tree and the metric dictionary as the queries see them: read once per data
    version and shared with them (treat both as read-only)."""
    with wh.read() as con:
        _, (tree, _closure, _keys, metrics) = _context(wh, con)
    return tree, dict(metrics)


def _cell(engine: Evaluator, m: Metric, unit: str, p: Period) -> Cell:
    actual, source, note = engine.actual(m, unit, p)
    target, _, tnote = engine.target(m, unit, p) if m.direction != "in_range" else (None, "", "")
    target_full, to_date = target, _months_to_date(engine, m, p)
    if to_date:  # in progress: judged against the target up to the as-of month
        target = _target_to_date(engine, m, unit, to_date)
    low, high = (m.range.low, m.range.high) if m.range else (None, None)
    green, amber = ((m.thresholds.green, m.thresholds.amber) if "thresholds" in m.model_fields_set
                    else engine.default_thresholds())
    st = att.status(actual, target, m.direction, low=low, high=high, green=green, amber=amber)
    a = att.attainment(actual, target, m.direction, low, high)
    s = att.kpi_score(actual, target, m.direction, low=low, high=high, floor=m.score.floor, cap=m.score.cap)
    notes = [n for n in (note, tnote if actual is not None else "") if n]
    return Cell(m.code, unit, p.label, actual, target, a, st.code, st.rule, s, source or None,
                semicolons(notes) if notes else "", target_full, bool(to_date))


def _months_to_date(engine: Evaluator, m: Metric, p: Period) -> list[Period]:
    """The months of `p` up to the metric's as-of month when `p` is a quarter or year still in
    progress then; [] otherwise (a month, a period over, one not begun, a year-to-date query)."""
    if engine.ytd or p.grain == "month" or m.direction == "in_range":
        return []
    as_of, months = engine.as_of(m), p.months()
    if as_of is None or not months[0].label <= as_of < months[-1].label:
        return []
    return [x for x in months if x.label <= as_of]


def _target_to_date(engine: Evaluator, m: Metric, unit: str, months: list[Period],
                    stack: tuple[str, ...] = ()) -> float | None:
    """The target up to the last of `months`: for sum metrics the sum of their targets, for
    avg/last/min/max the target at the last; a formula's from its components' targets to date."""
    if m.source_type == "formula":
        parts = {c: _target_to_date(engine, engine.metrics[c], unit, months, (*stack, m.code))
                 for c in components(m.source.formula) if c in engine.metrics and c not in stack}
        try:
            return evaluate(m.source.formula, parts)
        except NoValue:
            return None
    if m.time_agg == "sum":
        values = [engine.target(m, unit, month)[0] for month in months]
        return None if None in values else sum(values)
    return engine.target(m, unit, months[-1])[0]


__all__ = ["Cell", "Query", "Result", "ROLLED_UP", "run"]


def latest_month(wh: Warehouse, today: dt.date | None = None) -> str | None:
    """The latest month any metric has an actual for, not after today's month (None: no actuals).
    Pages open on it: the newest period with data, even while it is still in progress."""
    with wh.read() as con:
        now, (tree, closure, _keys, metrics) = _context(wh, con)
        key = ("latest_month", stamp(wh, now.data))
        found = cache.FACTS.peek(key)
        if found is None:
            engine = Evaluator(con, tree, metrics, [], [], False, closure)
            engine.cache_key, engine.basis = stamp(wh, now.data), (_file_key(wh), now)
            found = (max((m for m in (engine.as_of(x) for x in metrics.values()) if m), default=None),)
            cache.FACTS.put(key, found)
    month = found[0]
    if month is not None and today is not None:
        month = min(month, Period("month", today.year, today.month).label)
    return month
