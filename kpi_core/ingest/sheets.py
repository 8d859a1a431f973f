"""Which sheet of a workbook is read, and what a sheet holds besides its values: error cells,
formulas without a saved result, hidden and merged cells, its size."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import python_calamine

from kpi_core.ingest.biff import BadXls, EncryptedXls, xls_formulas_without_result, xls_reach
from kpi_core.ingest.files import FileRefused, said
from kpi_core.ingest.xlsx_peek import (
    SheetScan,
    active_sheet,
    peek_xlsx,
    scan_parts,
    scan_xlsx,
    workbook_epoch,
    workbook_sheets,
)
from kpi_core.ingest.xlsx_reach import UnsafeXml
from kpi_core.model.config import Limits
from kpi_core.model.messages import Msg

PEEK_ROWS = 30


MAX_COLUMNS = 16_384  # Excel's last column, XFD: a wider "table" is not one anybody filled in


_EXCEL_ERRORS = {"NA": "#N/A", "Div0": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Num": "#NUM!",
                 "Null": "#NULL!", "Name": "#NAME?", "GettingData": "#GETTING_DATA"}


_EXCEL_EPOCH = datetime(1899, 12, 30)


HeaderFinder = Callable[[list[list[object]]], int | None]


class SeveralSheets(FileRefused):
    """More than one visible sheet holds data and none is the one the workbook opens on."""

    def __init__(self, message: Msg, sheets: list[str]):
        super().__init__(message)
        self.sheets = sheets


def cell_str(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # a header typed as 2025 is read back as 2025.0
    return "" if v is None else str(v).strip()


def first_text_row(rows: list[list[object]]) -> int | None:
    """Default header finder: the first row as wide as the widest row in the peek."""
    widths = [sum(1 for v in r if cell_str(v)) for r in rows]
    if not widths or max(widths) == 0:
        return None
    need = max(2, int(0.6 * max(widths))) if max(widths) > 1 else 1
    return next(i for i, w in enumerate(widths) if w >= need)


def sheet_states(path: Path) -> dict[str, str]:
    """{sheet: visible | hidden | veryHidden} of a workbook."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return dict(workbook_sheets(path))
        except (KeyError, ValueError, zipfile.BadZipFile):
            pass  # an unusual package: calamine knows
    try:
        meta = python_calamine.CalamineWorkbook.from_path(str(path)).sheets_metadata
    except Exception as exc:
        raise FileRefused(Msg("ingest_cannot_read", name=path.name, detail=read_error(exc, path))) from exc
    hidden, very = python_calamine.SheetVisibleEnum.Hidden, python_calamine.SheetVisibleEnum.VeryHidden
    return {m.name: "hidden" if m.visible == hidden else "veryHidden" if m.visible == very else "visible" for m in meta}


def _opening_sheet(path: Path, names: list[str]) -> str | None:
    """The sheet the workbook opens on (its active tab); the first sheet where the format has none."""
    index = 0
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            index = active_sheet(path)
        except (KeyError, ValueError, zipfile.BadZipFile):
            index = 0
    return names[index] if 0 <= index < len(names) else None


def visible_sheet(path: Path, names: list[str], find_header: HeaderFinder, limits: Limits):
    """(sheet, its first rows, header index, other visible sheets with data) of the sheet to read.

    Only visible sheets are read unless one is named: a hidden sheet often keeps last year's
    figures or a template's lists. Of several visible sheets with data, the one the workbook
    opens on wins; without it among them, the file is refused rather than one guessed."""
    states = sheet_states(path)
    visible = [n for n in names if states.get(n, "visible") == "visible"]
    found = []
    for n in visible:
        peek = peek_rows(path, n, limits)
        h = find_header(peek) if any(any(cell_str(v) for v in r) for r in peek) else None
        if h is not None:
            found.append((n, peek, h))
    if len(found) == 1:
        return (*found[0], [])
    if len(found) > 1:
        opening = _opening_sheet(path, names)
        chosen = next((f for f in found if f[0] == opening), None)
        if chosen is None:
            sheets = [f[0] for f in found]
            raise SeveralSheets(Msg("ingest_several_sheets", name=path.name, count=len(sheets),
                                    sheets=", ".join(sheets)), sheets)
        return (*chosen, [f[0] for f in found if f is not chosen])
    hidden = [n for n in names if n not in visible]
    for n in hidden:
        if find_header(peek_rows(path, n, limits)) is not None:
            raise FileRefused(Msg("ingest_data_on_hidden_sheet", name=path.name, sheet=n))
    name, peek, h = sheet_with_header(path, visible or names, find_header, limits)
    return name, peek, h, []


def choose_sheet(path: Path, find_header: HeaderFinder, limits: Limits | None = None) -> str | None:
    """The sheet read_grid reads when none is named."""
    names = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
    return visible_sheet(path, names, find_header, limits or Limits.from_env())[0]


def sheet_with_header(path: Path, names: list[str], find_header: HeaderFinder, limits: Limits | None = None):
    """(sheet, its first rows, header index) of the first sheet whose header the import
    recognises — passing over a 填报说明 sheet — else of the first sheet with data."""
    fallback = None
    for name in names:
        peek = peek_rows(path, name, limits)
        if not any(any(cell_str(v) for v in r) for r in peek):
            continue
        h = find_header(peek)
        if h is not None:
            return name, peek, h
        fallback = fallback or (name, peek, None)
    return fallback or ((names[0] if names else None), [], None)


def peek_rows(path: Path, sheet: str, limits: Limits | None = None) -> list[list[object]]:
    """The sheet's first PEEK_ROWS rows, indexed by sheet column (A = 0)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return peek_xlsx(path, sheet, PEEK_ROWS)
        except (KeyError, StopIteration, ValueError, zipfile.BadZipFile):
            # An unusual package layout: calamine reads it, once the sheet is known to fit.
            check_sheet(path, sheet, limits or Limits.from_env())
    try:
        sh = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
        return sh.to_python(skip_empty_area=False, nrows=PEEK_ROWS)
    except Exception as exc:
        raise FileRefused(Msg("ingest_cannot_read", name=path.name, detail=read_error(exc, path))) from exc


def read_error(exc: Exception, path: Path) -> str:
    """A reader's error as one line, without the server's path to the upload."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace(str(path), path.name).replace(str(path.parent), "")


def check_sheet(path: Path, sheet: str, limits: Limits) -> SheetScan | None:
    """The .xlsx sheet's scan (merged ranges, reach of its cells); FileRefused when its cells
    span a grid over limits.max_cells, which a reader would build whole, or its XML is unsafe.

    None when the package hides which part holds the sheet: then every XML part is checked."""
    try:
        scan = scan_xlsx(path, sheet, limits.max_cells)
        found = {sheet: scan}
    except (KeyError, StopIteration):
        scan, found = None, None
    except UnsafeXml as exc:
        raise FileRefused(Msg("ingest_sheet_cannot_read", name=path.name, sheet=sheet, detail=said(exc))) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise FileRefused(Msg("ingest_damaged", name=path.name, detail=read_error(exc, path))) from exc
    if found is None:
        try:
            found = scan_parts(path, limits.max_cells)
        except UnsafeXml as exc:
            raise FileRefused(Msg("ingest_cannot_read", name=path.name, detail=said(exc))) from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise FileRefused(Msg("ingest_damaged", name=path.name, detail=read_error(exc, path))) from exc
    for where, s in found.items():
        if s.cells > limits.max_cells:
            raise FileRefused(_too_many_cells(path, where, s.rows, s.cols, limits))
    return scan


def check_xls(path: Path, limits: Limits) -> None:
    """FileRefused for an .xls whose records claim or fill a grid over limits.max_cells."""
    try:
        rows, cols = xls_reach(path)
    except EncryptedXls as exc:
        raise FileRefused(Msg("ingest_password_protected", name=path.name)) from exc
    except (BadXls, struct.error) as exc:
        raise FileRefused(Msg("ingest_damaged", name=path.name, detail=said(exc))) from exc
    if rows * cols > limits.max_cells:
        raise FileRefused(_too_many_cells(path, None, rows, cols, limits))


def _too_many_cells(path: Path, sheet: str | None, rows: int, cols: int, limits: Limits) -> Msg:
    grid = {"last": cell_name(rows, cols), "rows": f"{rows:,}", "cols": f"{cols:,}", "cells": f"{rows * cols:,}",
            "limit": f"{limits.max_cells:,}"}
    if sheet:
        return Msg("ingest_sheet_too_many_cells", name=path.name, sheet=sheet, **grid)
    return Msg("ingest_too_many_cells", name=path.name, **grid)


def cell_name(row: int, col: int) -> str:
    """'XFD1048576' for (1048576, 16384); huge references are shown as they are counted."""
    if col > 10**6:
        return Msg("ingest_far_cell", col=f"{col:,}", row=f"{row:,}")
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


_GOT = re.compile(r"got '(\w+)\((.*)\)'$", re.S)


def epoch_of(path: Path) -> datetime:
    """Day 0 of the workbook's date serials (the 1904 system where an .xlsx says so)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return workbook_epoch(path)
        except (KeyError, zipfile.BadZipFile):
            pass
    return _EXCEL_EPOCH


def error_cells(bad_cells, epoch: datetime = _EXCEL_EPOCH) -> dict[tuple[int, int], str]:
    """{(row number, column): text} for cells the Arrow data holds as empty: Excel errors
    (#N/A…) and, in a column read as numbers, the text cells, as their text."""
    out = {}
    for e in bad_cells.errors if bad_cells else []:
        m = _GOT.search(e.detail)
        key = (e.position[0] + 1, e.position[1])  # (0-based sheet row, column in the data read)
        if m and m[1] == "String":
            out[key] = _rust_str(m[2])
        elif m and m[1] == "Error":
            out[key] = _EXCEL_ERRORS.get(m[2], f"#{m[2].upper()}")
        elif m and m[1] == "DateTime":
            serial = re.search(r"value: ([\d.]+)", m[2])
            out[key] = str(epoch + timedelta(days=float(serial[1]))) if serial else m[2]
        elif m:
            out[key] = m[2]
        elif (err := re.search(r"Error\((\w+)\)", e.detail)):
            out[key] = _EXCEL_ERRORS.get(err[1], f"#{err[1].upper()}")
    return out


def _rust_str(debug: str) -> str:
    """The text of a Rust debug-printed string ("a \\"q\\"")."""
    body = debug[1:-1] if debug.startswith('"') and debug.endswith('"') else debug
    body = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m[1], 16)), body)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(m[1], m[1]), body)


def sheet_scan(path: Path, sheet: str, limits: Limits | None = None) -> SheetScan:
    """A sheet's merged ranges as ((r0, c0), (r1, c1)), 0-based, with (for .xlsx) its formula
    cells that have no saved result and its cells shown as percentages.

    For .xlsx/.xlsm the sheet's XML is scanned as a stream (no cell is parsed), which also
    refuses a sheet whose grid would not fit (check_sheet); for .xls and .ods python-calamine
    reads the sheet's merged ranges.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        scan = check_sheet(path, sheet, limits or Limits.from_env())
        if scan is not None:
            return scan
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        merged = list(book.get_sheet_by_name(sheet).merged_cell_ranges or [])
    except Exception as exc:
        raise FileRefused(Msg("ingest_cannot_read", name=path.name, detail=read_error(exc, path))) from exc
    uncached = {}
    if path.suffix.lower() == ".xls":
        try:
            found = xls_formulas_without_result(path).get(book.sheet_names.index(sheet), {})
        except (BadXls, struct.error) as exc:
            raise FileRefused(Msg("ingest_damaged", name=path.name, detail=said(exc))) from exc
        uncached = {cell: (Msg("ingest_formula_unknown"), why) for cell, why in found.items()}
    return SheetScan(merged, 0, 0, uncached)
