"""The evaluator behind the query API: each metric × unit × period's actual (reported, rolled up,
from a dataset, from a formula) and target."""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache
from types import MappingProxyType

import pyarrow as pa

from kpi_core.engine.formula import NoValue, components, evaluate
from kpi_core.engine.phasing import EVEN, LAST_YEAR, Weights
from kpi_core.engine.rollup import COMPUTED, roll_up_period
from kpi_core.engine.targets import from_own
from kpi_core.model.messages import Msg
from kpi_core.model.metric import FormulaSource, Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Grain, Period, fiscal_start, month_labels, month_range, parse_period
from kpi_core.query import cache
from kpi_core.query.dataset_values import DatasetValues
from kpi_core.store import phasing, settings, versions
from kpi_core.store.versions import Versions

FROM_DATASET = "dataset"
_NO_FACTS = (MappingProxyType({}), MappingProxyType({}))  # a metric without facts (read-only)


class Evaluator(DatasetValues):
    def __init__(self, con, tree: OrgTree, metrics: dict[str, Metric], units: list[str],
                 periods: list[Period], ytd: bool, closure: pa.Table):
        self.con, self.tree, self.metrics, self.closure = con, tree, metrics, closure
        self.units, self.periods, self.ytd = units, periods, ytd
        self.spans = {p.label: span_of(p, ytd) for p in periods}
        self._facts: dict[str, dict[str, tuple[dict, dict]]] = {}  # view -> metric -> (by org, by period)
        self._dataset: dict[str, dict[tuple[str, str], float]] = {}
        self._rolled: dict[tuple[str, str], dict[str, tuple[float, str]]] = {}
        self._target_memo: dict[tuple[str, str, str], float | None] = {}
        self.unmapped: dict[str, int] = {}
        self.versions = dict(con.execute("SELECT code, version FROM metric").fetchall())
        self.cache_key: tuple = ()
        # (file key, Versions) for keys scoped to what each read depends on; None: everything
        # keyed on cache_key alone (a metric preview's draft definitions, which nothing else shares)
        self.basis: tuple[str, Versions] | None = None
        self._as_of: dict[str, str | None] = {}
        self.wanted = set(metrics)  # narrowed by run() to the metrics asked and their components
        self._target_zone: dict[str, set[str]] = {}
        self._unmapped_memo: dict[tuple, int] = {}
        self._prior: dict[str, dict[tuple[str, str], float]] = {}

    # --- facts ------------------------------------------------------------------------------
    def facts(self, view: str, metric: str) -> dict[str, dict[str, float]]:
        """{org: {period: value}} of the current facts of `metric`."""
        return self._metric_facts(view, metric)[0]

    def facts_by_period(self, view: str, metric: str) -> dict[str, dict[str, float]]:
        """{period: {org: value}}: the same facts, for picking a period's values."""
        return self._metric_facts(view, metric)[1]

    def _metric_facts(self, view: str, metric: str) -> tuple:
        """A metric's facts, read once per data version for every query that asks for it (the
        cockpit's, each board tile's, the latest month's); none for a metric not asked for."""
        mine = self._facts.setdefault(view, {})
        if metric in self.wanted and metric not in mine:  # the metrics asked: those kept, one read for the rest
            keys = {code: (self.scope(versions.facts(view, code)), "facts", view, code)
                    for code in sorted(self.wanted) if code not in mine}
            mine.update((code, got) for code, key in keys.items() if (got := cache.FACTS.peek(key)) is not None)
            missing = [code for code in keys if code not in mine]
            for code, facts in (self._read_facts(view, missing) if missing else {}).items():
                cache.FACTS.put(keys[code], facts)
                mine[code] = facts
        return mine.get(metric, _NO_FACTS)

    def _read_facts(self, view: str, codes: list[str]) -> dict[str, tuple[dict, dict]]:
        """{metric: (by org, by period)} for `codes` (each one present, empty if it has none)."""
        table = "actual_fact" if view == "actual" else "target_fact"
        # The latest live batch per key, as the `actual`/`target` views, filtered first.
        rows = self.con.execute(
            f"SELECT metric, org, period, arg_max(value, batch_id) FROM {table} "
            "WHERE metric IN (SELECT unnest(?)) AND batch_id IN (SELECT id FROM batch WHERE status = 'loaded') "
            "GROUP BY metric, org, period", [codes]).fetchall()
        out: dict[str, tuple[dict, dict]] = {code: ({}, {}) for code in codes}
        for code, org, period, value in rows:
            by_org, by_period = out[code]
            by_org.setdefault(org, {})[period] = value
            by_period.setdefault(period, {})[org] = value
        return out

    def scope(self, subject: str = "") -> Hashable:
        """The key part of what is kept for `subject` (a metric's facts, a dataset's rows; "" for
        what only broad writes change, such as settings): it holds until a write changes that."""
        if self.basis is None:
            return self.cache_key
        file, now = self.basis
        return cache.Scope(file, now.base, subject, now.of(subject))  # of(""): the base

    def _kept(self, key: tuple, read, subject: str = ""):
        """A fact about the warehouse kept while `subject` (see `scope`) is not written."""
        return cache.FACTS.get((self.scope(subject), *key), read)

    def default_thresholds(self) -> tuple[float, float]:
        """(green, amber) for metrics that set none: the warehouse settings."""
        return self._kept(("thresholds",), lambda: (float(settings.raw(self.con, "default_green")),
                                                     float(settings.raw(self.con, "default_amber"))))

    # --- actuals ----------------------------------------------------------------------------
    def _span(self, p: Period) -> list[Period]:
        """The reporting periods `p` covers (asked periods precomputed; others, such as the months
        of a period in progress, on demand)."""
        if p.label not in self.spans:
            self.spans[p.label] = span_of(p, self.ytd)
        return self.spans[p.label]

    def as_of(self, m: Metric, stack: tuple[str, ...] = ()) -> str | None:
        """The metric's as-of month (SPEC §3): the latest month it has any actual for, in any unit;
        a formula's is the earliest of its components' (it is known only as far as all are)."""
        if m.code in self._as_of:
            return self._as_of[m.code]
        if m.source_type == "manual":
            labels = [max(month_labels(period)) for period in self.facts_by_period("actual", m.code)]
            found = max(labels, default=None)
        elif m.source_type == "dataset":
            found = self._kept(("as_of", m.source.dataset, m.source.time_column), lambda: self._dataset_as_of(m),
                               versions.dataset(m.source.dataset))
        else:
            parts = [c for c in components(m.source.formula) if c in self.metrics and c not in stack]
            months = [self.as_of(self.metrics[c], (*stack, m.code)) for c in parts]
            found = min(months) if months and None not in months else None
        self._as_of[m.code] = found
        return found

    def actual(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...] = ()) -> tuple[float | None, str, str]:
        """(value, source, note)."""
        if m.source_type == "manual":
            if not self.ytd and _finer(p.grain, m.frequency):
                return None, "", (Msg("query_note_reported_by_quarter", metric=m.code) if m.frequency == "quarter"
                                  else Msg("query_note_reported_by_year", metric=m.code))
            got = self._manual(m, p).get(unit)
            return (got[0], got[1], "") if got else (None, "", Msg("query_note_no_value"))
        if m.source_type == "dataset":
            v = self._dataset_values(m).get((unit, p.label))
            return (v, FROM_DATASET, "") if v is not None else (None, "", Msg("query_note_no_rows"))
        return self._formula(m, unit, p, stack, self.actual)

    def _manual(self, m: Metric, p: Period) -> dict[str, tuple[float, str]]:
        key = (m.code, p.label)
        if key not in self._rolled:
            span = self._span(p)
            months = {x.label for x in span}
            bases = sorted({x.to(m.frequency).label for x in span
                            if month_labels(x.to(m.frequency).label) <= months})
            self._rolled[key] = self._kept(("rolled", m.code, tuple(bases)), lambda: self._roll(m, bases),
                                           versions.facts("actual", m.code))
        return self._rolled[key]

    def _roll(self, m: Metric, bases: list[str]) -> dict[str, tuple[float, str]]:
        """Every unit's value over the reporting periods `bases` (kept for the next query)."""
        own: dict[str, dict[str, float]] = {}
        by_period = self.facts_by_period("actual", m.code)
        for b in bases:
            for org, v in by_period.get(b, {}).items():
                own.setdefault(org, {})[b] = v
        return roll_up_period(self.tree, own, bases, m.time_agg, m.org_agg, list(self.tree.units))

    def _formula(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...], part):
        src = m.source
        assert isinstance(src, FormulaSource)
        if m.code in stack:
            return None, "", Msg("query_note_formula_cycle", metric=m.code)
        values, notes = {}, []
        for code in components(src.formula):
            v, _, note = part(self.metrics[code], unit, p, (*stack, m.code))
            values[code] = v
            if v is None:
                notes.append(Msg("query_note_component", metric=code, note=note))
        try:
            return evaluate(src.formula, values), COMPUTED, ""
        except NoValue as exc:
            return None, "", semicolons(notes) if notes else exc.args[0]

    # --- targets ----------------------------------------------------------------------------
    def target(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...] = ()) -> tuple[float | None, str, str]:
        key = (m.code, unit, p.label)
        if key not in self._target_memo:
            self._target_memo[key] = self._target(m, unit, p, stack)
        v = self._target_memo[key]
        return (v, "", "") if v is not None else (None, "", Msg("query_note_no_target"))

    def _target(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...]) -> float | None:
        own = self.facts("target", m.code).get(unit, {})
        label = None if self.ytd else p.label
        if m.source_type == "formula":
            got = self._formula_target(m, unit, p, stack, own, label)
            if got is not None:
                return got
        time_agg = "avg" if m.source_type == "formula" else m.time_agg
        v = from_own(own, self._span(p), label, time_agg, self._weights(m, unit)) if own else None
        if v is not None:
            return v
        if m.org_agg == "sum":
            zone = self._targets_below(m.code)
            kids = [t for c in self.tree.children.get(unit, [])
                    if c in zone and (t := self.target(m, c, p)[0]) is not None]
            if kids:
                return float(sum(kids))
        return None

    def _formula_target(self, m: Metric, unit: str, p: Period, stack: tuple[str, ...], own: dict[str, float],
                        label: str | None) -> float | None:
        """A formula's target: one set for exactly this period wins. A coarser one set for the
        unit keeps its level and takes the shape of the components' targets: × f(here) / f(there),
        so a yearly 40 % margin stays 40 % in each month, while a yearly revenue per employee
        becomes a month's share of it. Without a coarser one: the formula over the components'
        targets; else None (the caller repeats what it can)."""
        if label is not None and label in own:
            return own[label]
        here, _, _ = self._formula(m, unit, p, stack, self.target)
        span = {x.label for x in self._span(p)}
        for coarse_label, v in sorted(own.items(), key=lambda kv: len(month_labels(kv[0]))):
            if span < month_labels(coarse_label) or (self.ytd and span <= month_labels(coarse_label)):
                coarse = parse_period(coarse_label)
                self.spans.setdefault(coarse.label, coarse.months())
                there, _, _ = self._formula(m, unit, coarse, stack, self.target)
                if here is not None and there:
                    return v * here / there
                return None  # the caller repeats the coarser target
        return here

    def _weights(self, m: Metric, unit: str) -> Weights | None:
        """How a coarser target of `m` spreads over months for `unit` (None: evenly)."""
        if m.phasing == EVEN or m.source_type == "formula":
            return None
        if m.phasing == LAST_YEAR:
            values = self._last_year(m)
            return lambda month: values.get((unit, month))
        profile = self._kept(("phasing", m.phasing), lambda: phasing.profiles(self.con).get(m.phasing))
        if profile is None:
            return None
        return lambda month: profile[_fiscal_position(month)]

    def _last_year(self, m: Metric) -> dict[tuple[str, str], float]:
        """{(unit, month): actual a year before that month} for the units asked: the months of
        every fiscal year the query touches, each read from the same month of the year before."""
        if m.code not in self._prior:
            years = {x.to("year") for span in self.spans.values() for x in span}
            months = [x for y in sorted(years) for x in y.months()]
            before = [x.shift(-12) for x in months]
            # The units asked and every unit holding a target below them (their phased targets
            # add up to a parent's).
            units = sorted(set(self.units) | (self._targets_below(m.code) & set(self._subtrees())))
            sub = Evaluator(self.con, self.tree, self.metrics, units, before, ytd=False, closure=self.closure)
            sub.wanted, sub.cache_key, sub.basis = needed(self.metrics, (m.code,)), self.cache_key, self.basis
            out = {}
            for unit in units:
                for now, then in zip(months, before, strict=True):
                    v = sub.actual(m, unit, then)[0]
                    if v is not None:
                        out[(unit, now.label)] = v
            self._prior[m.code] = out
        return self._prior[m.code]

    def _subtrees(self) -> list[str]:
        return [u for root in self.units for u in self.tree.subtree(root)]

    def _targets_below(self, code: str) -> set[str]:
        """Units with a target of `code` set on them or somewhere below (the rest need no visit)."""
        if code not in self._target_zone:
            zone: set[str] = set()
            for unit in self.facts("target", code):
                if unit in self.tree:
                    zone.update(self.tree.unit(unit).path)
            self._target_zone[code] = zone
        return self._target_zone[code]


def semicolons(parts: list) -> object:
    """Notes one after another, "; " between them in English (their codes kept)."""
    return parts[0] if len(parts) == 1 else Msg("query_semicolons", first=parts[0], rest=semicolons(parts[1:]))


def needed(metrics: dict[str, Metric], codes: tuple[str, ...]) -> set[str]:
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


def _fiscal_position(month: str) -> int:
    """0-based place of a month in its fiscal year."""
    return _position_in(month, fiscal_start())


@lru_cache(maxsize=8192)
def _position_in(month: str, start: int) -> int:
    return (parse_period(month).num - start) % 12


def span_of(p: Period, ytd: bool) -> list[Period]:
    """The months a cell covers: the period's, or from the fiscal year's first month to its end
    for year-to-date."""
    months = p.months()
    return month_range(p.to("year").months()[0], months[-1]) if ytd else months
