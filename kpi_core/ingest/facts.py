"""Importing actuals and targets: long or wide files, validated whole before one write."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from kpi_core.ingest.headers import (
    FACT_ROLES,
    Scale,
    currency,
    header_finder,
    is_total,
    map_roles,
    normalise,
    scale_of,
    unit_in_brackets,
)
from kpi_core.ingest.read import CALCULATE, Grid, Uncached, cell_name, read_grid
from kpi_core.model.access import Actor, as_actor, outside, require
from kpi_core.model.metric import Metric
from kpi_core.model.numbers import LIMIT, ShownAsPercent, read_number
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Period, find_year, parse_period, try_parse_period
from kpi_core.model.problems import ImportResult, Problem
from kpi_core.model.text import fold, key, visible
from kpi_core.store import batches, closing, dictionary
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse

FactKind = Literal["actuals", "targets"]
Progress = Callable[[str, int, int], None]
_TABLE = {"actuals": "actual_fact", "targets": "target_fact"}
_PERIODISH = re.compile(r"(\d+\s*月|^q\d|季度|^\d{4}\D)", re.I)


@dataclass
class _Facts:
    """Parallel lists of the facts found in a file, before validation."""

    metric: list
    org: list
    period: list  # Period, or the raw cell when it did not parse (with its error in bad)
    value: list
    row: list[int]
    metric_col: str
    org_col: str
    period_col: list[str]
    value_col: list[str]
    scale: list[Scale] | None = None  # what a 万元 or % unit says of the value, per fact
    value_at: list[int] = field(default_factory=list)  # the grid column each value came from

    def only(self, keep: list[int]) -> _Facts:
        """These facts, by index."""
        pick = (lambda c: [c[i] for i in keep]) if len(keep) < len(self.row) else list
        return _Facts(pick(self.metric), pick(self.org), pick(self.period), pick(self.value), pick(self.row),
                      self.metric_col, self.org_col, pick(self.period_col), pick(self.value_col),
                      pick(self.scale) if self.scale else self.scale, pick(self.value_at))


def import_facts(wh: Warehouse, kind: FactKind, path: str | Path, *, sheet: str | None = None,
                 year: int | None = None, dry_run: bool = False, partial: bool = False,
                 user: str | Actor = "admin", progress: Progress | None = None,
                 reason: str | None = None) -> ImportResult:
    """Read, validate and (unless refused or dry run) load one file of actuals or targets.

    A file is checked against what the user may change: rows for units outside their reach, or
    for closed periods (admins only, with a reason), are problems like any other bad row.
    """
    require(as_actor(user), kind)  # a role that may not load this kind at all is refused unread
    step = progress or (lambda *_: None)
    step("read", 0, 1)
    grid = read_grid(path, sheet=sheet, find_header=header_finder(FACT_ROLES, need=3))
    step("read", 1, 1)
    return _import_grid(wh, kind, grid, Path(path), year=year, dry_run=dry_run, partial=partial,
                        user=as_actor(user), step=step, reason=reason)


CHECK_WHILE_HOLDING = 100_000  # cells: a smaller sheet is checked while the warehouse is held (~50 ms)


class _Refused(Exception):
    """Rolls the load's transaction back when the file turns out to be refused."""


def _import_grid(wh: Warehouse, kind: FactKind, grid: Grid, path: Path, *, year: int | None, dry_run: bool,
                 partial: bool, user: Actor, step: Progress, reason: str | None = None) -> ImportResult:
    """Shape and validate, then check, diff and load in one transaction; a large file is
    validated without holding the warehouse (others read and write meanwhile) and validated
    again if the org tree or the dictionary changed in between."""
    # A small file is checked within one turn at the warehouse (a second turn would cost more
    # under load than the check); a large one lets others in while it is checked.
    small = grid.n_rows * max(1, len(grid.header)) <= CHECK_WHILE_HOLDING
    with wh.connect() if small else contextlib.nullcontext():
        with wh.connect() as con:
            org, metrics = load_tree(con), dictionary.current(wh)
        result = ImportResult(rows=grid.n_rows, sheet=grid.sheet, other_sheets=grid.other_sheets)
        facts, shape_problems = shape(grid, kind, year, known=_known(org, metrics))
        if shape_problems:
            result.errors = shape_problems
            return result
        n_facts = len(facts.row)
        if n_facts == 0:
            result.errors = [Problem(None, "", "", f"{path.name} has no values to load below its header "
                                     f"(row {grid.header_row}); nothing was written")]
            return result
        facts, unseen = seen_by_author(grid, facts)
        return _check_and_load(wh, kind, grid, path, facts, result, org, metrics, n_facts=n_facts, unseen=unseen,
                               dry_run=dry_run, partial=partial, user=user, step=step, reason=reason)


def _known(org: OrgTree, metrics: dict[str, Metric]) -> Callable[[object], bool]:
    """Whether a cell names a metric or a unit: a unit called 华东合计 or a metric called 本年累计
    is a fact's, not a 合计/累计 row to pass over."""
    names = {key(n) for m in metrics.values() for n in (m.code, m.name, m.name_en) if n}
    names |= {key(n) for u in org.units.values() for n in (u.code, u.name)}
    return lambda cell: key(cell) in names


def seen_by_author(grid: Grid, f: _Facts) -> tuple[_Facts, list[Problem]]:
    """The facts whose cells the sheet shows its author, and a problem for the rest: a value in
    a hidden or filtered-out row, in a hidden column, or in merged cells (one number shown
    once would count once for each cell it covers)."""
    if not (grid.hidden_rows or grid.hidden_cols or grid.merged):
        return f, []
    value_cols = set(f.value_at)
    spans = [m for m in grid.merged if any(m[1] <= c <= m[3] for c in value_cols)]
    keep, problems = [], _Problems()
    for i, (row, col) in enumerate(zip(f.row, f.value_at, strict=True)):
        span = next((m for m in spans if m[0] <= row <= m[2] and m[1] <= col <= m[3]), None)
        if row in grid.hidden_rows:
            problems.append(Problem(row, "", "", f"row {row} is hidden (or filtered out) in the sheet, so its author "
                                    "does not see it: unhide it or delete it, and upload again"))
        elif col in grid.hidden_cols:
            problems.append(Problem(grid.header_row, grid.header[col], "", f"column '{grid.header[col]}' is hidden "
                                    "in the sheet, so its author does not see it: unhide it or delete it"))
        elif span:
            first, last = (cell_name(r, c + grid.first_col + 1) for r, c in ((span[0], span[1]), (span[2], span[3])))
            cells = f"{first}:{last}"
            problems.append(Problem(span[0], grid.header[span[1]], "", f"cells {cells} are merged: the one value "
                                    "shown would count for each of them; unmerge them and give each cell its value"))
        else:
            keep.append(i)
    return f.only(keep), list(problems)


def _check_and_load(wh: Warehouse, kind: FactKind, grid: Grid, path: Path, facts: _Facts, result: ImportResult,
                    org: OrgTree, metrics: dict[str, Metric], *, n_facts: int, unseen: list[Problem], dry_run: bool,
                    partial: bool, user: Actor, step: Progress, reason: str | None) -> ImportResult:
    checked = validate(facts, kind, metrics, org, step)
    sha = batches.sha256_of(path)
    try:
        with wh.connect() if dry_run else wh.transaction() as con:
            now = load_tree(con), dictionary.current(wh)
            if now != (org, metrics):  # changed while the file was checked: check it against what is
                org, metrics = now
                checked = validate(facts, kind, metrics, org, step)
            good, errors = checked
            good, refused = _allowed(con, facts, good, kind, org, user, reason)
            result.errors = sorted(unseen + errors + refused, key=lambda e: -1 if e.row is None else e.row)
            if result.errors and not partial:
                result.rejected = n_facts
                raise _Refused
            result.loaded, result.rejected = len(good), n_facts - len(good)
            result.facts = table = _facts_table(facts, good)
            result.changes = diff_against_current(con, kind, table)
            if dry_run or not good:
                raise _Refused
            step("load", 0, len(good))
            bid = batches.create(con, kind=kind, source=path.name, sha256=sha,
                                 user=user.name, rows_in=grid.n_rows, rows_loaded=result.loaded,
                                 rows_rejected=result.rejected, note=reason)
            con.register("_incoming", table)
            con.execute(f"INSERT INTO {_TABLE[kind]} SELECT metric, org, period, value, ?, source_row "
                        "FROM _incoming", [bid])
            con.unregister("_incoming")
            _fault_pause()
    except _Refused:
        return result
    step("load", len(good), len(good))
    result.batch = bid
    return result


def _allowed(con, f: _Facts, good: list, kind: FactKind, tree: OrgTree, actor: Actor,
             reason: str | None) -> tuple[list, list[Problem]]:
    """Split good facts into those the actor may write and a problem for each one they may not."""
    foreign = set(outside(actor, tree, kind, dict.fromkeys(g[2] for g in good)))
    shut = closing.touched(con, dict.fromkeys(g[3] for g in good))
    why = closing.barred(actor, reason) if shut else None
    if not why:
        shut = {}
    if not foreign and not shut:
        return good, []
    keep, problems = [], []
    mine = ", ".join(actor.orgs) or "none"
    for g in good:
        i, _code, unit, label, _value = g
        if unit in foreign:
            problems.append(Problem(f.row[i], f.org_col, _text(f.org[i]),
                                    f"{unit} is outside the units you may load {kind} for ({mine})"))
        elif label in shut:
            problems.append(Problem(f.row[i], f.period_col[i], label, f"period {shut[label]} is closed: {why} it"))
        else:
            keep.append(g)
    return keep, problems


def _fault_pause() -> None:
    """Test hook: hold the open transaction so a test can kill the process mid-load."""
    pause = float(os.environ.get("KPI_TEST_PAUSE_BEFORE_COMMIT", "0") or 0)
    if pause:
        print("KPI_TEST: loading, transaction open", flush=True)
        time.sleep(pause)


def _text(v: object) -> str:
    """A cell as shown in a problem: the text the author typed, invisible characters escaped."""
    if v is None:
        return ""
    if isinstance(v, ShownAsPercent):
        return f"{float(v) * 100:.15g}%"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return visible(str(v).strip())


def _year_context(grid: Grid, year: int | None) -> int | None:
    if year is not None:
        return year
    for text in grid.context:
        y = find_year(text)
        if y:
            return y
    return None


def shape(grid: Grid, kind: FactKind, year: int | None,
          known: Callable[[object], bool] = lambda cell: False) -> tuple[_Facts, list[Problem]]:
    """Find the long or wide layout and list its facts; problems if neither fits. A 合计/Total
    row is passed over unless its label is a metric or unit `known` names."""
    roles, problems = map_roles(grid.header, FACT_ROLES)
    value_role = "actual" if kind == "actuals" else "target"
    vcol = roles.get(value_role, roles.get("value"))
    mcol = roles.get("metric", roles.get("metric_name"))
    ocol = roles.get("org", roles.get("org_name"))
    missing = [name for name, col in (("指标/metric", mcol), ("组织/org", ocol)) if col is None]
    if missing:
        return _empty(), problems + [Problem(None, "", "", f"no {' or '.join(missing)} column; the header row "
                                             f"(row {grid.header_row}) is: " + ", ".join(h for h in grid.header if h))]
    # Two columns for a role this import reads (e.g. 期间 and 月份) is refused, not guessed.
    relevant = {"metric", "metric_name", "org", "org_name", "period", value_role}
    if value_role not in roles:
        relevant.add("value")
    problems = [p for p in problems if any(p.message.startswith(f"two columns mean '{r}'") for r in relevant)]
    if problems:
        return _empty(), problems
    rows = grid.rows.to_pylist()
    cells = _cell_reader(grid, rows)
    metric, org = cells(mcol), cells(ocol)
    if "period" in roles and vcol is not None:
        period = cells(roles["period"])
        value = _plain_numbers(cells(vcol), grid.columns[vcol])
        scale = _row_scales(grid, roles, cells, unit_in_brackets(grid.header[vcol]))
        # A row with an empty value cell holds no fact (as an empty cell of a wide row);
        # a 合计/Total row sums others and is not a fact either.
        totals = {v for v in {*metric, *org} if is_total(v) and not known(v)}
        keep = [i for i, (v, m, o) in enumerate(zip(value, metric, org, strict=True))
                if v is not None and m not in totals and o not in totals and not _blank(v)]
        if len(keep) < len(value):
            metric, org, period, value, rows, scale = (
                [c[i] for i in keep] for c in (metric, org, period, value, rows, scale))
        n = len(rows)
        return _Facts(metric, org, period, value, rows, grid.header[mcol], grid.header[ocol],
                      [grid.header[roles["period"]]] * n, [grid.header[vcol]] * n, scale, [vcol] * n), []
    ctx_year = _year_context(grid, year)
    pcols, bad = [], []
    for j, h in enumerate(grid.header):
        if j in roles.values() or not h or is_total(h):
            continue
        p = try_parse_period(h, ctx_year)
        if p is not None:
            pcols.append((j, p))
        elif _PERIODISH.search(normalise(h)):
            try:
                parse_period(h, ctx_year)
            except ValueError as exc:
                bad.append(Problem(grid.header_row, h, h, f"column header is not a period: {exc}"))
    if bad:
        return _empty(), bad
    if not pcols:
        want = "实际值/actual" if kind == "actuals" else "目标值/target"
        return _empty(), [Problem(None, "", "", f"found neither a 期间/period and {want} column (long shape) "
                                  "nor period columns such as 2025-01 or 1月 (wide shape); the header row "
                                  f"(row {grid.header_row}) is: " + ", ".join(h for h in grid.header if h))]
    f = _Facts([], [], [], [], [], grid.header[mcol], grid.header[ocol], [], [], [])
    cols = [(j, p, cells(j)) for j, p in pcols]
    scale = _row_scales(grid, roles, cells, "")
    totals = {v for v in {*metric, *org} if is_total(v) and not known(v)}
    for i, r in enumerate(rows):
        if metric[i] in totals or org[i] in totals:
            continue
        for j, p, vals in cols:
            v = vals[i]
            if _blank(v):
                continue
            f.metric.append(metric[i])
            f.org.append(org[i])
            f.period.append(p)
            f.value.append(v)
            f.row.append(r)
            f.period_col.append(grid.header[j])
            f.value_col.append(grid.header[j])
            f.scale.append(scale[i])
            f.value_at.append(j)
    return f, []


def _row_scales(grid: Grid, roles: dict[str, int], cells: Callable[[int], list], header_unit: str) -> list[Scale]:
    """Each row's scale: a 单位 cell such as 万元 wins over a unit in the value header."""
    n = grid.n_rows
    base = scale_of(header_unit)
    units = cells(roles["unit"]) if "unit" in roles else [None] * n
    # A metric written as 销售收入(万元) carries its unit too.
    mcol = roles.get("metric", roles.get("metric_name"))
    metric_cells = cells(mcol) if mcol is not None else [None] * n
    named = {v: (_bracket_parts(_text(v)) or ["", ""])[1] for v in set(metric_cells)}

    def says_more(u: object) -> bool:
        """A unit that scales (万元), or names another currency than the header's (美元)."""
        s = scale_of(u)
        return bool(u) and (s.factor != 1.0 or s.currency not in (None, base.currency))

    if not any(says_more(u) for u in {*named.values(), *units}):
        return [base] * n
    return [next((scale_of(u) for u in (unit, named[m]) if says_more(u)), base)
            for unit, m in zip(units, metric_cells, strict=True)]


def _cell_reader(grid: Grid, rows: list[int]) -> Callable[[int], list]:
    """A column's cells, with what a reader sees empty given back: an Excel error cell as its
    text ('#N/A'), a formula without a saved result as Uncached; and a number the sheet shows
    as a percentage as ShownAsPercent."""
    at = {r: i for i, r in enumerate(rows)} if grid.cell_errors or grid.uncached or grid.percent else {}

    def cells(j: int) -> list:
        values = grid.columns[j].to_pylist()
        for (r, c), text in [*grid.cell_errors.items(), *grid.uncached.items()]:
            if c == j and r in at:
                values[at[r]] = text
        for r in grid.percent.get(j, ()):
            i = at.get(r)
            if i is not None and type(values[i]) is float:
                values[i] = ShownAsPercent(values[i])
        return values

    return cells


def _plain_numbers(values: list, col: pa.Array) -> list:
    """Cells of a text column that are plain numbers ('1234.5'), as floats, cast in one go by
    Arrow; the rest ('1,234', '12%', '#N/A') stay text for the full parser."""
    if not pa.types.is_string(col.type) or len(values) != len(col):
        return values
    plain = pc.match_substring_regex(col, r"^-?[0-9]{1,15}(?:\.[0-9]+)?$")
    numbers = pc.cast(pc.if_else(plain, col, pa.scalar(None, pa.string())), pa.float64()).to_pylist()
    return [v if n is None else n for v, n in zip(values, numbers, strict=True)]


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _empty() -> _Facts:
    return _Facts([], [], [], [], [], "", "", [], [])


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
            return None, "metric is empty"
        if name in self.metrics:
            return name, ""
        codes = self.metric_names.get(key(name), [])
        if len(set(codes)) == 1:
            return codes[0], ""
        if codes:
            return None, f"metric name '{visible(name)}' is ambiguous ({', '.join(sorted(set(codes)))}); use the code"
        for part in _bracket_parts(name):  # '销售收入(万元)' or '销售收入(revenue)'
            code, err = self._find_metric(part)
            if code:
                return code, ""
        return None, f"unknown metric '{visible(name)}'"

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
            return None, "org unit is empty"
        codes = self.org.find(name)
        if len(codes) == 1:
            return codes[0], ""
        if codes:  # codes that collide were made before creation refused them
            return None, (f"org code '{visible(name)}' matches several units ({visible(', '.join(codes))}); "
                          "an admin must rename all but one")
        codes = self.org_names.get(key(name), [])
        if len(codes) == 1:
            return codes[0], ""
        if codes:
            return None, f"org name '{visible(name)}' is ambiguous ({visible(', '.join(codes[:5]))}); use the code"
        for part in reversed(_bracket_parts(name)):  # '华东销售一组(D1-SAL-T1)': the code first
            code, _ = self._find_org(part)
            if code:
                return code, ""
        return None, f"unknown org unit '{visible(name)}'"


def _bracket_parts(text: str) -> list[str]:
    """['销售收入', '万元'] for '销售收入(万元)'; [] when the text has no trailing bracket."""
    m = re.match(r"^(.+?)\s*[(（【\[]\s*(.+?)\s*[)）】\]]$", text)
    return [m[1], m[2]] if m else []


def validate(f: _Facts, kind: FactKind, metrics: dict[str, Metric], org: OrgTree,
             step: Progress) -> tuple[list[tuple[int, str, str, str, float]], list[Problem]]:
    """Good facts as (index, metric, org, period label, value) and every problem found.

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


def _validate(f: _Facts, kind: FactKind, metrics: dict[str, Metric], org: OrgTree,
              step: Progress) -> tuple[list[tuple[int, str, str, str, float]], list[Problem]]:
    res = _Resolver(metrics, org)
    m_of = {v: res.metric(v) for v in set(f.metric)}
    o_of = {v: res.org_unit(v) for v in set(f.org)}
    p_of = {v: _period_cell(v) for v in set(f.period)}
    rule_of: dict[tuple[str, str], tuple[str, str]] = {}
    numbers: dict[object, tuple[float | None, str]] = {}
    good, errors, seen = [], _Problems(), {}
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
                    errors.append(Problem(row, col, _text(cell), msg))
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
            where, msg = "value", (f"{_text(v)} is a percentage, but {code} is measured in {m.unit or 'no unit'}; "
                                   f"write the value in {m.unit or 'its unit'}")
        if not msg and scale and scale.currency and scale.currency != _currency_of(m.unit):
            where, msg = "value", (f"the unit {scale.unit} is {scale.currency}, but {code} is measured in "
                                   f"{m.unit or 'no unit'}")
        if not msg and m.allowed is not None:
            where, msg = _value_rule(m, value)
        if msg:
            col, shown = {"metric": (f.metric_col, _text(f.metric[i])), "period": (f.period_col[i], label),
                          "value": (f.value_col[i], _text(v))}[where]
            errors.append(Problem(row, col, shown, msg))
            continue
        key3 = (code, unit, label)
        first = seen.get(key3)
        if first is not None:
            errors.append(Problem(row, f.value_col[i], _text(v),
                                  f"duplicate: {code} / {unit} / {label} is also on row {f.row[first]}"))
            later.setdefault(key3, []).append(row)
            continue
        seen[key3] = i
        good.append((i, code, unit, label, value))
    # Neither copy of a duplicated key is loaded (which one is right is not ours to guess); the
    # first copy is reported too, naming the rows that repeat it.
    for key3, rows in later.items():
        i = seen[key3]
        errors.append(Problem(f.row[i], f.value_col[i], _text(f.value[i]),
                              f"duplicate: {' / '.join(key3)} is also on row {', '.join(map(str, rows))}"))
    if later:
        good = [g for g in good if (g[1], g[2], g[3]) not in later]
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
        return (None, ""), f"period {exc}"
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
        return None, str(exc), False, False
    return r.value, "", r.percent, r.scaled


@functools.lru_cache(maxsize=256)
def _currency_of(unit: str | None) -> str | None:
    return currency(unit)


def _uncached(cell: Uncached) -> str:
    return f"cell {cell.cell} holds the formula {visible(cell.formula)} with {cell.why}: " + CALCULATE


class _Problems(list):
    """A problem list that keeps one copy of a problem repeated across a wide row's cells."""

    def __init__(self):
        super().__init__()
        self._seen: set[Problem] = set()

    def append(self, p: Problem) -> None:
        if p not in self._seen:
            self._seen.add(p)
            super().append(p)


def _fact_rule(m: Metric, kind: FactKind, p: Period) -> tuple[str, str]:
    """(which cell: metric | period, why this metric refuses a fact for period p), or ('', '')."""
    if kind == "actuals":
        if m.source_type != "manual":
            how = (f"dataset '{m.source.dataset}'" if m.source_type == "dataset"
                   else f"formula {m.source.formula}")
            return "metric", f"{m.code} is computed from {how}; its actuals cannot be uploaded"
        if p.grain != m.frequency:
            return "period", (f"period {p.label} is a {p.grain}, but {m.code} is reported by {m.frequency} "
                              f"(frequency: {m.frequency})")
    return "", ""


def _value_rule(m: Metric, value: float) -> tuple[str, str]:
    """('value', why) when the metric's `allowed` range refuses the value, else ('', '')."""
    lo, hi = m.allowed.min, m.allowed.max
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = f"{'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"
        hint = " (write 95% or 0.95 for a percentage)" if m.unit == "%" and value > 1 else ""
        return "value", f"value {value:g} is outside what {m.code} allows ({span}){hint}"
    return "", ""


def _facts_table(f: _Facts, good: list) -> pa.Table:
    return pa.table({
        "metric": pa.array([g[1] for g in good], pa.string()),
        "org": pa.array([g[2] for g in good], pa.string()),
        "period": pa.array([g[3] for g in good], pa.string()),
        "value": pa.array([g[4] for g in good], pa.float64()),
        "source_row": pa.array([f.row[g[0]] for g in good], pa.int32()),
    })


def diff_against_current(con, kind: FactKind, table: pa.Table) -> dict:
    """How many facts are new, changed or unchanged against what is current now."""
    view = "actual" if kind == "actuals" else "target"
    con.register("_diff", table)
    try:
        [(new, changed, same)] = con.execute(
            f"SELECT count(*) FILTER (WHERE c.value IS NULL), "
            f"count(*) FILTER (WHERE c.value IS NOT NULL AND c.value <> d.value), "
            f"count(*) FILTER (WHERE c.value = d.value) "
            f"FROM _diff d LEFT JOIN {view} c USING (metric, org, period)").fetchall()
    finally:
        con.unregister("_diff")
    return {"new": new, "changed": changed, "unchanged": same}
