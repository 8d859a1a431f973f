"""Excel templates for team leads: the units and periods they may fill, pre-filled with what is
already in the warehouse, in the wide layout the importer reads back.

One row per unit × metric; a column per month (and per quarter for quarterly metrics; the
year for targets). Header cells say `2026年1月`, so the file imports as it is.
"""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.periods import Period, fiscal_year
from kpi_core.model.safe_export import neutralise
from kpi_core.store import dictionary
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse

HEAD = ["组织编码", "组织名称", "指标编码", "指标名称", "单位"]
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
NA_FILL = PatternFill("solid", fgColor="EEEEEE")


def columns(kind: str, year: int, grains: set[str]) -> list[tuple[str, str, str]]:
    """(header text, period label, grain) of the value columns."""
    out = []
    if kind == "targets":
        out.append((f"{year}年", str(year), "year"))
    if "quarter" in grains:
        out += [(f"{year}年Q{q}", f"{year}-Q{q}", "quarter") for q in range(1, 5)]
    if "month" in grains:
        out += [(f"{year}年{m}月", Period("month", year, m).label, "month") for m in range(1, 13)]
    return out


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for row in sorted(rows):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


def template(wh: Warehouse, kind: str, org: str, year: int, *, subtree: bool = False,
             metrics: list[str] | None = None, actor: Actor | None = None) -> bytes:
    """The xlsx bytes of an upload template for `org` (and its children, or whole subtree),
    holding only units `actor` may read."""
    with wh.connect() as con:
        tree = load_tree(con)
        if actor is not None:
            access.check(actor, tree, "read", org)
        fy = int(con.execute("SELECT value FROM setting WHERE key = 'fiscal_year_start'").fetchall()[0][0])
        units = tree.subtree(org) if subtree else [org, *tree.children.get(org, [])]
        if actor is not None:
            units = access.visible_units(actor, tree, units)
        current = dictionary.current(wh)
        chosen = [m for m in current.values() if (metrics is None or m.code in metrics)
                  and (kind == "targets" or m.source_type == "manual")]
        view = "actual" if kind == "actuals" else "target"
        have = {(m, o, p): v for m, o, p, v in con.execute(
            f"SELECT metric, org, period, value FROM {view} WHERE org IN (SELECT unnest(?)) "
            "AND metric IN (SELECT unnest(?))", [units, [m.code for m in chosen]]).fetchall()}
    grains = {m.frequency for m in chosen}
    with fiscal_year(fy):
        cols = columns(kind, year, grains)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = f"{year}年"
    what = "实际值" if kind == "actuals" else "目标值"
    ws["A1"] = neutralise(f"{tree.units[org].name} {year}年 {what}填报")  # the name leads
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = ("填报说明：月度指标填月份列，季度指标填季度列（灰色单元格不适用，Excel 会拒绝输入）；"
                "百分比可写 98.5% 或 0.985；空白表示不填报。"
                "Monthly metrics fill the month columns, quarterly ones the quarter columns (grey cells do not "
                "apply and refuse input); percentages as 98.5% or 0.985; leave blank to skip.")
    header = HEAD + [c[0] for c in cols]
    for i, text in enumerate(header, start=1):
        cell = ws.cell(row=3, column=i, value=text)
        cell.font, cell.fill = Font(bold=True), HEAD_FILL
        cell.alignment = Alignment(horizontal="center")
    r = 4
    open_cells: dict[int, list[int]] = {}   # column → rows to fill in
    grey_cells: dict[int, list[int]] = {}   # column → rows of another frequency
    for code in units:
        for m in chosen:
            ws.cell(row=r, column=1, value=neutralise(code))
            ws.cell(row=r, column=2, value=neutralise(tree.units[code].name))
            ws.cell(row=r, column=3, value=m.code)
            ws.cell(row=r, column=4, value=neutralise(m.name))
            ws.cell(row=r, column=5, value=neutralise(m.unit or ""))
            for j, (_, label, grain) in enumerate(cols, start=len(HEAD) + 1):
                cell = ws.cell(row=r, column=j, value=have.get((m.code, code, label)))
                if grain != "year" and grain != m.frequency:
                    cell.fill = NA_FILL
                    grey_cells.setdefault(j, []).append(r)
                else:
                    open_cells.setdefault(j, []).append(r)
            r += 1
    numbers = DataValidation(type="decimal", allow_blank=True, showErrorMessage=False)
    # A value in a column of another frequency is refused as it is typed, not only at upload.
    other = DataValidation(type="textLength", operator="equal", formula1="0", allow_blank=True,
                           showErrorMessage=True, errorTitle="不适用 Not applicable",
                           error="此指标不按本列的频率填报（月度指标填月份列，季度指标填季度列）。"
                                 "This metric is not reported at this column's frequency.")
    for validation, cells in ((numbers, open_cells), (other, grey_cells)):
        ranges = [f"{openpyxl.utils.get_column_letter(col)}{a}:{openpyxl.utils.get_column_letter(col)}{b}"
                  for col, rows in cells.items() for a, b in _runs(rows)]
        if ranges:
            ws.add_data_validation(validation)
            for cells_range in ranges:
                validation.add(cells_range)
    ws.freeze_panes = "F4"
    for col, width in zip("ABCDE", (14, 18, 22, 16, 8), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


ORG_HEAD = {"zh": ("编码", "名称", "上级编码"), "en": ("code", "name", "parent")}
ORG_NOTE = {
    "zh": "组织架构：每行一个单元。上级编码留空的是根（全树只有一个根）；已有单元按编码更新，新编码添加。"
          "人员也是单元（挂在所属团队下）。",
    "en": "Org tree: one unit per row. The unit whose parent is blank is the root (one per tree); existing "
          "codes are updated, new codes added. People are units too (under their team).",
}


def org_template(tree, lang: str = "zh") -> bytes:
    """The xlsx bytes of an org file the importer reads back: a note, the header, and the units
    there are now (in tree order), so an admin edits the tree they have or fills in a new one."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "组织架构" if lang == "zh" else "org"
    ws["A1"] = ORG_NOTE[lang]
    for i, text in enumerate(ORG_HEAD[lang], start=1):
        cell = ws.cell(row=2, column=i, value=text)
        cell.font, cell.fill = Font(bold=True), HEAD_FILL
    codes = tree.subtree(tree.root) if tree.root else []
    for r, code in enumerate(codes, start=3):
        u = tree.units[code]
        for c, v in enumerate((code, u.name, u.parent or None), start=1):
            ws.cell(row=r, column=c, value=neutralise(v) if v is not None else None)
    # Codes and names as text: a code like 0012 keeps its zeros when typed in.
    for col, width in zip("ABC", (18, 28, 18), strict=True):
        ws.column_dimensions[col].width = width
        for row in range(3, max(len(codes) + 3, 500)):
            ws[f"{col}{row}"].number_format = "@"
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
