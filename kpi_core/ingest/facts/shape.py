"""Stage 1, shape: find the long or wide layout of a sheet and list its facts as the author sees them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from kpi_core.ingest.facts.found import FactKind, Facts, Problems, cell_text, no_facts
from kpi_core.ingest.facts.resolve import bracket_parts
from kpi_core.ingest.files import said
from kpi_core.ingest.headers import FACT_ROLES, Scale, is_total, map_roles, normalise, scale_of, unit_in_brackets
from kpi_core.ingest.read import Grid
from kpi_core.ingest.sheets import cell_name
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.numbers import ShownAsPercent
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import find_year, parse_period, try_parse_period
from kpi_core.model.problems import Problem
from kpi_core.model.text import key

_PERIODISH = re.compile(r"(\d+\s*月|^q\d|季度|^\d{4}\D)", re.I)


def known_names(org: OrgTree, metrics: dict[str, Metric]) -> Callable[[object], bool]:
    """Whether a cell names a metric or a unit: a unit called 华东合计 or a metric called 本年累计
    is a fact's, not a 合计/累计 row to pass over."""
    names = {key(n) for m in metrics.values() for n in (m.code, m.name, m.name_en) if n}
    names |= {key(n) for u in org.units.values() for n in (u.code, u.name)}
    return lambda cell: key(cell) in names


def seen_by_author(grid: Grid, f: Facts) -> tuple[Facts, list[Problem]]:
    """The facts whose cells the sheet shows its author, and a problem for the rest: a value in
    a hidden or filtered-out row, in a hidden column, or in merged cells (one number shown
    once would count once for each cell it covers)."""
    if not (grid.hidden_rows or grid.hidden_cols or grid.merged):
        return f, []
    value_cols = set(f.value_at)
    spans = [m for m in grid.merged if any(m[1] <= c <= m[3] for c in value_cols)]
    keep, problems = [], Problems()
    for i, (row, col) in enumerate(zip(f.row, f.value_at, strict=True)):
        span = next((m for m in spans if m[0] <= row <= m[2] and m[1] <= col <= m[3]), None)
        if row in grid.hidden_rows:
            problems.append(Problem(row, "", "", Msg("ingest_hidden_row", row=row)))
        elif col in grid.hidden_cols:
            problems.append(Problem(grid.header_row, grid.header[col], "",
                                    Msg("ingest_hidden_column", column=grid.header[col])))
        elif span:
            first, last = (cell_name(r, c + grid.first_col + 1) for r, c in ((span[0], span[1]), (span[2], span[3])))
            problems.append(Problem(span[0], grid.header[span[1]], "", Msg("ingest_merged_cells", first=first,
                                                                              last=last)))
        else:
            keep.append(i)
    return f.only(keep), list(problems)


def _year_context(grid: Grid, year: int | None) -> int | None:
    if year is not None:
        return year
    for text in grid.context:
        y = find_year(text)
        if y:
            return y
    return None


def shape(grid: Grid, kind: FactKind, year: int | None,
          known: Callable[[object], bool] = lambda cell: False) -> tuple[Facts, list[Problem]]:
    """Find the long or wide layout and list its facts; problems if neither fits. A 合计/Total
    row is passed over unless its label is a metric or unit `known` names."""
    roles, problems = map_roles(grid.header, FACT_ROLES)
    value_role = "actual" if kind == "actuals" else "target"
    vcol = roles.get(value_role, roles.get("value"))
    mcol = roles.get("metric", roles.get("metric_name"))
    ocol = roles.get("org", roles.get("org_name"))
    missing = [name for name, col in (("指标/metric", mcol), ("组织/org", ocol)) if col is None]
    if missing:
        header = ", ".join(h for h in grid.header if h)
        lacking = (Msg("ingest_no_column", column=missing[0], row=grid.header_row, header=header) if len(missing) == 1
                   else Msg("ingest_no_columns_either", first=missing[0], second=missing[1], row=grid.header_row,
                            header=header))
        return no_facts(), problems + [Problem(None, "", "", lacking)]
    # Two columns for a role this import reads (e.g. 期间 and 月份) is refused, not guessed.
    relevant = {"metric", "metric_name", "org", "org_name", "period", value_role}
    if value_role not in roles:
        relevant.add("value")
    problems = [p for p in problems if any(p.message.startswith(f"two columns mean '{r}'") for r in relevant)]
    if problems:
        return no_facts(), problems
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
        return Facts(metric, org, period, value, rows, grid.header[mcol], grid.header[ocol],
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
                bad.append(Problem(grid.header_row, h, h, Msg("ingest_header_not_period", detail=said(exc))))
    if bad:
        return no_facts(), bad
    if not pcols:
        want = "实际值/actual" if kind == "actuals" else "目标值/target"
        return no_facts(), [Problem(None, "", "", Msg("ingest_no_long_or_wide", period="期间/period", value=want,
                                                      month="1月", row=grid.header_row,
                                                      header=", ".join(h for h in grid.header if h)))]
    f = Facts([], [], [], [], [], grid.header[mcol], grid.header[ocol], [], [], [])
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
    named = {v: (bracket_parts(cell_text(v)) or ["", ""])[1] for v in set(metric_cells)}

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
