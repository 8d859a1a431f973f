"""The one query API: metrics × org units × periods → actual, target, attainment, status, score.

Used by the CLI (`query`), the pages and the boards. Each cell says whether its actual was
reported, rolled up, computed from a dataset or from a formula, and why a value is empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Literal

import pyarrow as pa

from .. import dictionary
from ..datasets import column_names, live_batches
from ..dictionary import DatasetSource, FormulaSource, Metric
from ..errors import KpiError, NotFound
from ..org import OrgTree, load_tree
from ..periods import Grain, Period, parse_period
from ..warehouse import Warehouse
from . import aggregate
from . import attainment as att
from .compile import CLOSURE, PERIODS, SCOPE, compile_dataset_metric, compile_unmapped, org_closure, periods_table
from .formula import NoValue, components, evaluate
from .rollup import COMPUTED, ROLLED_UP, roll_up_period
from .targets import from_own

Scope = Literal["self", "children", "subtree"]
FROM_DATASET = "dataset"


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
    rule: str = ""
    score: float | None = None
    source: str | None = None  # reported | rolled_up | dataset | computed
    note: str = ""             # why the actual or the target is empty


@dataclass
class Result:
    cells: list[Cell]
    unmapped: dict[str, int] = field(default_factory=dict)  # dataset metric -> rows on no unit

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist([asdict(c) for c in self.cells])


def periods_of(q: Query, today: dt.date | None = None) -> list[Period]:
    """The periods asked for, at the query's grain."""
    today = today or dt.date.today()
    now = Period("month", today.year, today.month).to(q.grain)
    first = parse_period(q.first).to(q.grain) if q.first else Period("year", now.year).months()[0].to(q.grain)
    last = parse_period(q.last).to(q.grain) if q.last else now
    if first > last:
        raise KpiError(f"--from {first.label} is after --to {last.label}")
    out, p = [], first
    while p <= last:
        out.append(p)
        p = p.shift(1)
    if len(out) > 600:
        raise KpiError(f"{len(out)} periods asked for; narrow --from/--to")
    return out


def span_of(p: Period, ytd: bool) -> list[Period]:
    """The months a cell covers: the period's, or from January to its end for year-to-date."""
    months = p.months()
    return [Period("month", p.year, m) for m in range(1, months[-1].num + 1)] if ytd else months


class _Engine:
    def __init__(self, con, tree: OrgTree, metrics: dict[str, Metric], units: list[str],
                 periods: list[Period], ytd: bool):
        self.con, self.tree, self.metrics = con, tree, metrics
        self.units, self.periods, self.ytd = units, periods, ytd
        self.spans = {p.label: span_of(p, ytd) for p in periods}
        self._facts: dict[str, dict[str, dict[str, dict[str, float]]]] = {}  # view -> metric -> org -> label
        self._dataset: dict[str, dict[tuple[str, str], float]] = {}
        self._rolled: dict[tuple[str, str], dict[str, tuple[float, str]]] = {}
        self._target_memo: dict[tuple[str, str, str], float | None] = {}
        self.unmapped: dict[str, int] = {}
        self.versions = dict(con.execute("SELECT code, version FROM metric").fetchall())
        self._live_batches: dict[str, list[int]] = {}
        self.cache_key: tuple = ()
        self.wanted = set(metrics)  # narrowed by run() to the metrics asked and their components
        self._target_zone: dict[str, set[str]] = {}

    # --- facts ------------------------------------------------------------------------------
    def facts(self, view: str, metric: str) -> dict[str, dict[str, float]]:
        """{org: {period: value}} of the current facts; one query per view for all metrics asked."""
        if view not in self._facts:
            table = "actual_fact" if view == "actual" else "target_fact"
            # The latest live batch per key, as the `actual`/`target` views, filtered first.
            rows = self.con.execute(
                f"SELECT metric, org, period, arg_max(value, batch_id) FROM {table} "
                "WHERE metric IN (SELECT unnest(?)) AND batch_id IN (SELECT id FROM batch WHERE status = 'loaded') "
                "GROUP BY metric, org, period", [sorted(self.wanted)]).fetchall()
            by_metric: dict[str, dict[str, dict[str, float]]] = {}
            for code, org, period, value in rows:
                by_metric.setdefault(code, {}).setdefault(org, {})[period] = value
            self._facts[view] = by_metric
        return self._facts[view].get(metric, {})

    def _live(self, dataset: str) -> list[int]:
        if dataset not in self._live_batches:
            self._live_batches[dataset] = [b for b, _ in live_batches(self.con, dataset)]
        return self._live_batches[dataset]

    # --- actuals ----------------------------------------------------------------------------
    def actual(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...] = ()) -> tuple[float | None, str, str]:
        """(value, source, note)."""
        if m.source_type == "manual":
            if not self.ytd and _finer(p.grain, m.frequency):
                return None, "", f"{m.code} is reported by {m.frequency}"
            got = self._manual(m, p).get(unit)
            return (got[0], got[1], "") if got else (None, "", "no value reported")
        if m.source_type == "dataset":
            v = self._dataset_values(m).get((unit, p.label))
            return (v, FROM_DATASET, "") if v is not None else (None, "", "no rows in the dataset")
        return self._formula(m, unit, p, stack, self.actual)

    def _manual(self, m: Metric, p: Period) -> dict[str, tuple[float, str]]:
        key = (m.code, p.label)
        if key not in self._rolled:
            span = self.spans[p.label]
            months = {x.label for x in span}
            bases = sorted({x.to(m.frequency).label for x in span
                            if _months(x.to(m.frequency).label) <= months})
            own = {}
            for org, by_label in self.facts("actual", m.code).items():
                inside = {lab: v for lab, v in by_label.items() if lab in bases}
                if inside:
                    own[org] = inside
            self._rolled[key] = roll_up_period(self.tree, own, bases, m.time_agg, m.org_agg, self.units)
        return self._rolled[key]

    def _dataset_values(self, m: Metric) -> dict[tuple[str, str], float]:
        if m.code not in self._dataset:
            key = (self.cache_key, m.code, tuple(self.units), tuple(p.label for p in self.periods), self.ytd)
            if key in _VALUES:  # the same tile data asked again at the same data version
                self._dataset[m.code], self.unmapped[m.code] = _VALUES[key]
                return self._dataset[m.code]
            self._dataset[m.code] = self._query_dataset(m)
            if len(_VALUES) > 512:
                _VALUES.clear()
            _VALUES[key] = (self._dataset[m.code], self.unmapped[m.code])
        return self._dataset[m.code]

    def _query_dataset(self, m: Metric) -> dict[tuple[str, str], float]:
        src = m.source
        assert isinstance(src, DatasetSource)
        cols = column_names(self.con, src.dataset)
        spans = [(p.label, s[0].first_day(), s[-1].end_day()) for p in self.periods
                 for s in [self.spans[p.label]]]
        lo, hi = min(s[1] for s in spans), max(s[2] for s in spans)
        version = self.versions[m.code]
        live = self._live(src.dataset)
        partials = aggregate.ready(self.con, m, version, live)
        sql, unmapped_sql = _dataset_sql(m, version, tuple(cols), partials, tuple(live))
        self.con.register(PERIODS, periods_table(spans))
        try:
            rows = self.con.execute(sql, [] if partials else [lo, hi]).fetchall()
            self.unmapped[m.code] = self.con.execute(unmapped_sql, [lo, hi]).fetchall()[0][0]
        finally:
            self.con.unregister(PERIODS)
        return {(o, p): v for o, p, v in rows if v is not None}

    def _formula(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...], part):
        src = m.source
        assert isinstance(src, FormulaSource)
        if m.code in stack:
            return None, "", f"formula cycle through {m.code}"
        values, notes = {}, []
        for code in components(src.formula):
            v, _, note = part(self.metrics[code], unit, p, (*stack, m.code))
            values[code] = v
            if v is None:
                notes.append(f"{code}: {note}")
        try:
            return evaluate(src.formula, values), COMPUTED, ""
        except NoValue as exc:
            return None, "", "; ".join(notes) if notes else str(exc)

    # --- targets ----------------------------------------------------------------------------
    def target(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...] = ()) -> tuple[float | None, str, str]:
        key = (m.code, unit, p.label)
        if key not in self._target_memo:
            self._target_memo[key] = self._target(m, unit, p, stack)
        v = self._target_memo[key]
        return (v, "", "") if v is not None else (None, "", "no target")

    def _target(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...]) -> float | None:
        own = self.facts("target", m.code).get(unit, {})
        label = None if self.ytd else p.label
        # A formula (a ratio, mostly) is not additive over time: its target repeats.
        time_agg = "avg" if m.source_type == "formula" else m.time_agg
        v = from_own(own, self.spans[p.label], label, time_agg) if own else None
        if v is not None:
            return v
        if m.source_type == "formula":
            got, _, _ = self._formula(m, unit, p, stack, self.target)
            if got is not None:
                return got
        if m.org_agg == "sum":
            zone = self._targets_below(m.code)
            kids = [t for c in self.tree.children.get(unit, [])
                    if c in zone and (t := self.target(m, c, p)[0]) is not None]
            if kids:
                return float(sum(kids))
        return None

    def _targets_below(self, code: str) -> set[str]:
        """Units with a target of `code` set on them or somewhere below (the rest need no visit)."""
        if code not in self._target_zone:
            zone: set[str] = set()
            for unit in self.facts("target", code):
                if unit in self.tree:
                    zone.update(self.tree.unit(unit).path)
            self._target_zone[code] = zone
        return self._target_zone[code]


_SQL: dict[tuple, tuple[str, str]] = {}
# Dataset values per (warehouse, data version, metric, units, periods): a board asks for the
# same components in several tiles; any write changes the data version and so the key.
_VALUES: dict[tuple, tuple[dict, int]] = {}


def _dataset_sql(m: Metric, version: int, cols: tuple[str, ...], partials: bool,
                 live: tuple[int, ...]) -> tuple[str, str]:
    """(value query, unmapped-rows query) as SQL text, compiled once per metric version and
    live batch set: building and rendering syntax trees costs more than running the query."""
    key = (m.code, version, cols, partials, live)
    if key not in _SQL:
        if len(_SQL) > 1024:
            _SQL.clear()
        if partials:
            q = aggregate.compile_from_partials(m, version, list(cols), list(live))
            u = aggregate.compile_unmapped_from_partials(m, version, list(live))
        else:
            any_day = dt.date(2000, 1, 1)  # the range is bound at run time; the text does not hold it
            q, u = compile_dataset_metric(m, list(cols), any_day, any_day), compile_unmapped(m, any_day, any_day)
        _SQL[key] = (q.render(), u.render())
    return _SQL[key]


def _needed(metrics: dict[str, Metric], codes: tuple[str, ...]) -> set[str]:
    """The metrics asked for and, through their formulas, every component they reach."""
    out, todo = set(), list(codes)
    while todo:
        code = todo.pop()
        if code in out or code not in metrics:
            continue
        out.add(code)
        src = metrics[code].source
        if isinstance(src, FormulaSource):
            todo.extend(components(src.formula))
    return out


def _finer(grain: Grain, than: str) -> bool:
    order = ["month", "quarter", "year"]
    return order.index(grain) < order.index(than)


@lru_cache(maxsize=8192)
def _months(label: str) -> frozenset[str]:
    return frozenset(m.label for m in parse_period(label).months())


def run(wh: Warehouse, q: Query, *, today: dt.date | None = None) -> Result:
    """Compute every metric × unit × period cell of the query."""
    periods = periods_of(q, today)
    with wh.connect() as con:
        tree, closure, metrics = _context(wh, con)
        unknown = [c for c in q.metrics if c not in metrics]
        if unknown:
            raise NotFound(f"no metric {', '.join(repr(c) for c in unknown)}")
        root = q.org or tree.root
        if root is None:
            raise KpiError("the org tree is empty; import it first (python -m kpi_core org import FILE)")
        tree.unit(root)
        units = {"self": [root], "children": list(tree.children.get(root, [])),
                 "subtree": tree.subtree(root)}[q.scope]
        con.register(CLOSURE, closure)
        con.register(SCOPE, pa.table({"org": pa.array(units, pa.string())}))
        try:
            engine = _Engine(con, tree, metrics, units, periods, q.ytd)
            engine.wanted = _needed(metrics, q.metrics)
            engine.cache_key = (_file_key(wh), _CONTEXT[_file_key(wh)][0])
            cells = [_cell(engine, metrics[code], unit, p) for code in q.metrics for unit in units for p in periods]
        finally:
            con.unregister(CLOSURE)
            con.unregister(SCOPE)
    return Result(cells, engine.unmapped)


_CONTEXT: dict[str, tuple[int, tuple[OrgTree, pa.Table, dict[str, Metric]]]] = {}


def _file_key(wh: Warehouse) -> str:
    st = wh.path.stat()
    return f"{wh.path.resolve()}:{st.st_ino}"


def _context(wh: Warehouse, con) -> tuple[OrgTree, pa.Table, dict[str, Metric]]:
    """The org tree, its closure and the metric dictionary, kept while the data version holds:
    a board's dozen queries build them once, and any write makes the next query read them anew."""
    version = int(con.execute("SELECT value FROM setting WHERE key = 'data_version'").fetchall()[0][0])
    # The file's identity too: a warehouse rebuilt at the same path starts its version again.
    key = _file_key(wh)
    held = _CONTEXT.get(key)
    if held is None or held[0] != version:
        tree = load_tree(con)
        held = (version, (tree, org_closure(tree), dictionary.current(wh)))
        _CONTEXT[key] = held
    return held[1]


def _cell(engine: _Engine, m: Metric, unit: str, p: Period) -> Cell:
    actual, source, note = engine.actual(m, unit, p)
    target, _, tnote = engine.target(m, unit, p) if m.direction != "in_range" else (None, "", "")
    low, high = (m.range.low, m.range.high) if m.range else (None, None)
    st = att.status(actual, target, m.direction, low=low, high=high, green=m.thresholds.green,
                    amber=m.thresholds.amber)
    a = att.attainment(actual, target, m.direction, low, high)
    s = att.kpi_score(actual, target, m.direction, low=low, high=high, floor=m.score.floor, cap=m.score.cap)
    return Cell(m.code, unit, p.label, actual, target, a, st.code, st.rule, s, source or None,
                "; ".join(n for n in (note, tnote if actual is not None else "") if n))


__all__ = ["Cell", "Query", "Result", "ROLLED_UP", "run"]
