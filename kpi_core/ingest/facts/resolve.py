"""Stage 2, resolve: each fact's metric, unit, period and value read exactly, or a problem naming the cell."""

from __future__ import annotations

import functools
import gc
import re

from kpi_core.ingest.facts.found import Fact, FactKind, Facts, Problems, Progress, cell_text
from kpi_core.ingest.files import said
from kpi_core.ingest.headers import currency
from kpi_core.ingest.read import Uncached
from kpi_core.ingest.xlsx_peek import NO_RESULT
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.numbers import LIMIT, read_number
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Period, parse_period
from kpi_core.model.problems import Problem
from kpi_core.model.text import fold, key, visible


class _Resolver:
    """Metric and org lookups by code or name, memoised per distinct cell text."""

    def __init__(self, metrics: dict[str, Metric], org: OrgTree):
        self.metrics, self.org = metrics, org
        self.metric_names: dict[str, list[str]] = {}
        for m in metrics.values():  # codes and names compared as codes are (text.key)
            for name in {key(m.code), key(m.name), key(m.name_en or "")} - {""}:
                self.metric_names.setdefault(name, []).append(m.code)
        self.org_names: dict[str, list[str]] = {}
        for name, codes in org.by_name().items():
            self.org_names.setdefault(key(name), []).extend(codes)
        self._m: dict[str, tuple[str | None, str]] = {}
        self._o: dict[str, tuple[str | None, str]] = {}

    def metric(self, raw: object) -> tuple[str | None, str]:
        if isinstance(raw, Uncached):
            return None, _uncached(raw)
        name = fold(raw)
        if name not in self._m:
            self._m[name] = self._find_metric(name)
        return self._m[name]

    def _find_metric(self, name: str) -> tuple[str | None, str]:
        if not name:
            return None, Msg("ingest_metric_empty")
        if name in self.metrics:
            return name, ""
        codes = self.metric_names.get(key(name), [])
        if len(set(codes)) == 1:
            return codes[0], ""
        if codes:
            return None, Msg("ingest_metric_name_ambiguous", name=visible(name), codes=", ".join(sorted(set(codes))))
        for part in bracket_parts(name):  # '销售收入(万元)' or '销售收入(revenue)'
            code, err = self._find_metric(part)
            if code:
                return code, ""
        return None, Msg("ingest_unknown_metric", name=visible(name))

    def org_unit(self, raw: object) -> tuple[str | None, str]:
        if isinstance(raw, Uncached):
            return None, _uncached(raw)
        name = fold(raw)
        if name not in self._o:
            self._o[name] = self._find_org(name)
        return self._o[name]

    def _find_org(self, name: str) -> tuple[str | None, str]:
        """A unit by its code (compared folded, without letter case: SPEC §5), else its name."""
        if not name:
            return None, Msg("ingest_org_empty")
        codes = self.org.find(name)
        if len(codes) == 1:
            return codes[0], ""
        if codes:  # codes that collide were made before creation refused them
            return None, Msg("ingest_org_code_several", unit=visible(name), units=visible(", ".join(codes)))
        codes = self.org_names.get(key(name), [])
        if len(codes) == 1:
            return codes[0], ""
        if codes:
            return None, Msg("ingest_org_name_ambiguous", name=visible(name), codes=visible(", ".join(codes[:5])))
        for part in reversed(bracket_parts(name)):  # '华东销售一组(D1-SAL-T1)': the code first
            code, _ = self._find_org(part)
            if code:
                return code, ""
        return None, Msg("ingest_unknown_org", name=visible(name))


def bracket_parts(text: str) -> list[str]:
    """['销售收入', '万元'] for '销售收入(万元)'; [] when the text has no trailing bracket."""
    m = re.match(r"^(.+?)\s*[(（【\[]\s*(.+?)\s*[)）】\]]$", text)
    return [m[1], m[2]] if m else []


def validate(f: Facts, kind: FactKind, metrics: dict[str, Metric], org: OrgTree,
             step: Progress) -> tuple[list[Fact], list[Problem]]:
    """The good facts and every problem found.

    Cells repeat (a metric, an org, a period on many rows), so each distinct cell is resolved
    once and the per-fact loop only looks things up; that is what makes 1M facts take seconds.
    """
    was_enabled = gc.isenabled()
    gc.disable()  # the loop makes millions of small tuples and no cycles
    try:
        return _validate(f, kind, metrics, org, step)
    finally:
        if was_enabled:
            gc.enable()


def _validate(f: Facts, kind: FactKind, metrics: dict[str, Metric], org: OrgTree,
              step: Progress) -> tuple[list[tuple[int, str, str, str, float]], list[Problem]]:
    res = _Resolver(metrics, org)
    m_of = {v: res.metric(v) for v in set(f.metric)}
    o_of = {v: res.org_unit(v) for v in set(f.org)}
    p_of = {v: _period_cell(v) for v in set(f.period)}
    rule_of: dict[tuple[str, str], tuple[str, str]] = {}
    numbers: dict[object, tuple[float | None, str]] = {}
    good, errors, seen = [], Problems(), {}
    later: dict[tuple[str, str, str], list[int]] = {}  # duplicated key -> rows after its first
    n = len(f.row)
    for i in range(n):
        if i % 100000 == 0:
            step("validate", i, n)
        row = f.row[i]
        code, merr = m_of[f.metric[i]]
        unit, oerr = o_of[f.org[i]]
        (p, label), perr = p_of[f.period[i]]
        v = f.value[i]
        if type(v) is float and -LIMIT <= v <= LIMIT:  # a plain number cell (NaN fails the test)
            value, verr, percent, own = v + 0.0, "", False, False
        else:
            nk = (type(v), v)  # True == 1, but a TRUE cell is not the number 1
            if nk not in numbers:
                numbers[nk] = _number_cell(v)
            value, verr, percent, own = numbers[nk]
            if value is None and not verr:
                continue  # an empty value cell in a long file: nothing to load
        if merr or oerr or perr or verr:
            for bad, col, cell, msg in ((merr, f.metric_col, f.metric[i], merr), (oerr, f.org_col, f.org[i], oerr),
                                        (perr, f.period_col[i], f.period[i], perr), (verr, f.value_col[i], v, verr)):
                if bad:
                    errors.append(Problem(row, col, cell_text(cell), msg))
            continue
        scale = f.scale[i] if f.scale and not own else None
        if scale and scale.factor != 1.0:
            value = float(f"{value * scale.factor:.15g}")
            percent = scale.percent  # a % or ‰ header or unit cell: the numbers are percentages
        m = metrics[code]
        rk = (code, label)
        if rk not in rule_of:
            rule_of[rk] = _fact_rule(m, kind, p)
        where, msg = rule_of[rk]
        if not msg and percent and m.unit != "%":
            where, msg = "value", (Msg("ingest_percent_for_unit", value=cell_text(v), metric=code, unit=m.unit)
                                   if m.unit else Msg("ingest_percent_for_no_unit", value=cell_text(v), metric=code))
        if not msg and scale and scale.currency and scale.currency != _currency_of(m.unit):
            where, msg = "value", (Msg("ingest_other_currency", unit=scale.unit, currency=scale.currency, metric=code,
                                       metric_unit=m.unit) if m.unit
                                   else Msg("ingest_other_currency_no_unit", unit=scale.unit, currency=scale.currency,
                                            metric=code))
        if not msg and m.allowed is not None:
            where, msg = _value_rule(m, value)
        if msg:
            col, shown = {"metric": (f.metric_col, cell_text(f.metric[i])), "period": (f.period_col[i], label),
                          "value": (f.value_col[i], cell_text(v))}[where]
            errors.append(Problem(row, col, shown, msg))
            continue
        key3 = (code, unit, label)
        first = seen.get(key3)
        if first is not None:
            errors.append(Problem(row, f.value_col[i], cell_text(v),
                                  Msg("ingest_duplicate", key=f"{code} / {unit} / {label}", rows=f.row[first])))
            later.setdefault(key3, []).append(row)
            continue
        seen[key3] = i
        good.append(Fact(i, code, unit, label, value))
    # Neither copy of a duplicated key is loaded (which one is right is not ours to guess); the
    # first copy is reported too, naming the rows that repeat it.
    for key3, rows in later.items():
        i = seen[key3]
        errors.append(Problem(f.row[i], f.value_col[i], cell_text(f.value[i]),
                              Msg("ingest_duplicate", key=" / ".join(key3), rows=", ".join(map(str, rows)))))
    if later:
        good = [g for g in good if (g.metric, g.org, g.period) not in later]
    step("validate", n, n)
    return good, sorted(errors, key=lambda e: -1 if e.row is None else e.row)


_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]+)?\Z")  # ASCII digits, few enough to be exact


def _period_cell(cell: object) -> tuple[tuple[Period | None, str], str]:
    """((period, label), error) for a period cell, parsed once per distinct cell."""
    if isinstance(cell, Period):
        return (cell, cell.label), ""
    if isinstance(cell, Uncached):
        return (None, ""), _uncached(cell)
    try:
        p = parse_period(cell)
    except ValueError as exc:
        return (None, ""), Msg("ingest_period_unreadable", detail=said(exc))
    return (p, p.label), ""


def _number_cell(cell: object) -> tuple[float | None, str, bool, bool]:
    """(number, error, written as a percentage, carries its own scale) for a value cell; plain
    digits skip the full parser."""
    if type(cell) is str and _PLAIN_NUMBER.match(cell):
        return float(cell) + 0.0, "", False, False
    if isinstance(cell, Uncached):
        return None, _uncached(cell), False, False
    try:
        r = read_number(cell)
    except ValueError as exc:
        return None, said(exc), False, False
    return r.value, "", r.percent, r.scaled


@functools.lru_cache(maxsize=256)
def _currency_of(unit: str | None) -> str | None:
    return currency(unit)


def _uncached(cell: Uncached) -> Msg:
    formula = cell.formula if isinstance(cell.formula, Msg) else visible(cell.formula)
    if cell.why == NO_RESULT:
        return Msg("ingest_cell_formula_no_result", cell=cell.cell, formula=formula)
    return Msg("ingest_cell_formula_recalculated", cell=cell.cell, formula=formula)


def _fact_rule(m: Metric, kind: FactKind, p: Period) -> tuple[str, str]:
    """(which cell: metric | period, why this metric refuses a fact for period p), or ('', '')."""
    if kind == "actuals":
        if m.source_type != "manual":
            if m.source_type == "dataset":
                return "metric", Msg("ingest_computed_from_dataset", metric=m.code, dataset=m.source.dataset)
            return "metric", Msg("ingest_computed_from_formula", metric=m.code, formula=m.source.formula)
        if p.grain != m.frequency:
            return "period", Msg("ingest_wrong_grain", period=p.label, grain=_grain(p.grain), metric=m.code,
                                 frequency=_grain(m.frequency))
    return "", ""


def _value_rule(m: Metric, value: float) -> tuple[str, str]:
    """('value', why) when the metric's `allowed` range refuses the value, else ('', '')."""
    lo, hi = m.allowed.min, m.allowed.max
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = f"{'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"
        if m.unit == "%" and value > 1:
            return "value", Msg("ingest_value_outside_percent", value=f"{value:g}", metric=m.code, span=span)
        return "value", Msg("ingest_value_outside", value=f"{value:g}", metric=m.code, span=span)
    return "", ""


def _grain(grain: str) -> Msg:
    """A period's grain, or a metric's frequency, as a message names it."""
    return {"month": Msg("ingest_grain_month"), "quarter": Msg("ingest_grain_quarter"),
            "year": Msg("ingest_grain_year")}[grain]
