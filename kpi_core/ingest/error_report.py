"""The problems of a refused import as an Excel file: a list, and the sheet with bad cells marked."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import python_calamine
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from kpi_core.ingest.headers import FACT_ROLES, header_finder, normalise
from kpi_core.ingest.read import decode_text
from kpi_core.ingest.sheets import check_sheet, check_xls, choose_sheet
from kpi_core.model.config import Limits
from kpi_core.model.messages import Msg, render
from kpi_core.model.problems import Problem
from kpi_core.model.safe_export import neutralise_row

_BAD = PatternFill("solid", fgColor="FFC7CE")
_ROW = PatternFill("solid", fgColor="FFF2CC")


def _source_rows(path: Path, sheet: str | None = None) -> list[list[object]]:
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return list(csv.reader(io.StringIO(decode_text(path.read_bytes(), path.name), newline="")))
    if path.suffix.lower() == ".xls":
        check_xls(path, Limits.from_env())  # calamine reads every sheet of an .xls on opening
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    # The sheet the import read: the one named, else the one read_grid picks.
    name = sheet or choose_sheet(path, header_finder(FACT_ROLES, need=3))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        check_sheet(path, name, Limits.from_env())  # calamine builds the whole grid below
    return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def write_error_workbook(source: str | Path, problems: list[Problem], out: str | Path, *,
                         sheet: str | None = None, lang: str = "en") -> Path:
    """Write `out` in `lang`: a sheet of errors (row, column, value, message) and one of the data
    with bad cells red.

    `sheet` is the sheet the import read (default: the one read_grid picks)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = render(Msg("ingest_workbook_errors_sheet"), lang)
    ws.append([render(Msg(f"ingest_workbook_{k}"), lang) for k in ("row", "column", "value", "message")])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for p in problems:
        ws.append([p.row, *neutralise_row([p.column, p.value, render(p.message, lang)])])
    ws.column_dimensions["D"].width = 90
    try:
        rows = _source_rows(Path(source), sheet)
    except Exception:  # the list alone is still useful when the source cannot be re-read
        rows = []
    if rows:
        data = wb.create_sheet(render(Msg("ingest_workbook_data_sheet"), lang))
        for r in rows:
            data.append(neutralise_row(r))
        headers = {}
        for r in rows[:30]:
            for j, v in enumerate(r):
                headers.setdefault(normalise(v), j + 1)
        for p in problems:
            if p.row is None or p.row > len(rows):
                continue
            for cell in data[p.row]:
                cell.fill = _ROW
            parts = [normalise(x) for x in p.column.split(" ")] if p.column else []
            col = next((headers[x] for x in reversed(parts) if x in headers), None)
            if col:
                cell = data.cell(row=p.row, column=col)
                cell.fill = _BAD
                cell.comment = Comment(render(p.message, lang), "KPI Cockpit")
    out = Path(out)
    wb.save(out)
    return out
