"""Reading Excel and CSV files into a Grid: header found below any title rows, data as Arrow.

Excel: the first rows are peeked at to find the header below any title rows (for .xlsx
straight from the start of the sheet's XML; python-calamine for .xls and .ods), merged cells
come from the sheet, and fastexcel parses the body once, into typed Arrow arrays.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpi_core.ingest.files import FileRefused, check_file
from kpi_core.ingest.sheets import (
    MAX_COLUMNS,
    PEEK_ROWS,
    HeaderFinder,
    cell_name,
    cell_str,
    check_xls,
    epoch_of,
    error_cells,
    first_text_row,
    read_error,
    sheet_scan,
    sheet_with_header,
    visible_sheet,
)
from kpi_core.ingest.xlsx_peek import NO_RESULT, SheetScan
from kpi_core.model.config import Limits
from kpi_core.model.messages import Msg


@dataclass(frozen=True)
class Uncached:
    """A formula cell saved without its result (a file written by a program that does not
    calculate): a reader sees it empty, where Excel shows the result."""

    formula: str
    cell: str  # its reference, D3
    why: str = NO_RESULT

    def __str__(self) -> str:
        return self.formula


@dataclass
class Grid:
    """A sheet's header and data columns, with the row number each data row had in the file."""

    source: str
    sheet: str | None
    header: list[str]
    header_row: int                      # 1-based row of the last header line
    context: list[str] = field(default_factory=list)  # sheet name and title lines above
    columns: list[pa.Array] = field(default_factory=list)
    rows: pa.Array = field(default_factory=lambda: pa.array([], pa.int64()))
    # Excel error cells (#N/A, #DIV/0! …), read as empty: {(row number, column index): '#N/A'}
    cell_errors: dict[tuple[int, int], str] = field(default_factory=dict)
    # Formula cells with no saved result, read as empty: {(row number, column index): Uncached}
    uncached: dict[tuple[int, int], Uncached] = field(default_factory=dict)
    # Number cells the sheet shows as a percentage: {column index: {row numbers}}
    percent: dict[int, set[int]] = field(default_factory=dict)
    other_sheets: list[str] = field(default_factory=list)  # visible sheets with data that were not read
    first_col: int = 0  # the sheet column (A = 0) of the grid's first column
    # What the sheet hides from its author: row numbers, column indexes (.xlsx)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    # Merged ranges below the header as (first row number, first column, last row number, last column)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return len(self.rows)


def read_grid(path: str | Path, *, sheet: str | None = None, find_header: HeaderFinder = first_text_row,
              limits: Limits | None = None, exact_numbers: bool = True) -> Grid:
    """Read a file's sheet (or CSV) into a Grid; FileRefused for what cannot be read.

    exact_numbers: a column of numbers with some text cells is read as numbers, its text
    cells given in Grid.cell_errors (the importers read them there); datasets, which take
    columns whole, pass False and get such a column as text.
    """
    limits = limits or Limits.from_env()
    path = Path(path)
    kind = check_file(path, limits)
    if kind == "csv":
        grid = _read_csv(path, find_header, limits)
    else:
        grid = _read_excel(path, sheet, find_header, limits, exact_numbers)
    return _drop_blank_rows(grid)


def _no_header(path: Path, sheet: str | None) -> FileRefused:
    if sheet:
        return FileRefused(Msg("ingest_sheet_no_header", name=path.name, sheet=sheet, peek=PEEK_ROWS))
    return FileRefused(Msg("ingest_no_header", name=path.name, peek=PEEK_ROWS))


def _too_many_rows(path: Path, n: int, limits: Limits) -> FileRefused:
    return FileRefused(Msg("ingest_too_many_rows", name=path.name, rows=f"{n:,}", limit=f"{limits.max_rows:,}"))


# --- CSV -----------------------------------------------------------------------------------

def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileRefused(Msg("ingest_bad_utf16", name=name, reason=exc.reason, byte=f"{exc.start:,}")) from exc
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FileRefused(Msg("ingest_not_utf8_or_gbk", name=name))


def _read_csv(path: Path, find_header: HeaderFinder, limits: Limits) -> Grid:
    text = decode_text(path.read_bytes(), path.name)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    end = 0
    try:
        for rec in reader:
            rows.append(rec)
            lines.append(end + 1)  # the line the record starts on (a quoted cell may span lines)
            end = reader.line_num
            if len(rows) > limits.max_rows + PEEK_ROWS:
                raise FileRefused(Msg("ingest_csv_over_rows", name=path.name, limit=f"{limits.max_rows:,}"))
            if len(rec) > MAX_COLUMNS:
                raise FileRefused(Msg("ingest_csv_line_too_wide", name=path.name, line=f"{end:,}",
                                      cells=f"{len(rec):,}", limit=f"{MAX_COLUMNS:,}"))
    except csv.Error as exc:
        # csv stops at a cell over 128 KB, which is what a quote that is never closed gives.
        raise FileRefused(Msg("ingest_csv_line_unreadable", name=path.name, line=f"{end + 1:,}",
                              detail=str(exc))) from exc
    h = find_header(rows[:PEEK_ROWS])
    if h is None:
        raise _no_header(path, None)
    header = [c.strip() for c in rows[h]]
    body, body_lines = rows[h + 1:], lines[h + 1:]
    if len(body) > limits.max_rows:
        raise _too_many_rows(path, len(body), limits)
    width = max([len(header), *(len(r) for r in body)]) if body else len(header)
    header += [""] * (width - len(header))
    cols = [pa.array([(r[j] if j < len(r) and r[j].strip() != "" else None) for r in body], pa.string())
            for j in range(width)]
    context = [" ".join(c for c in r if c.strip()) for r in rows[:h]]
    return Grid(path.name, None, header, lines[h], context, cols, pa.array(body_lines, pa.int64()))


# --- Excel ---------------------------------------------------------------------------------

def _read_excel(path: Path, sheet: str | None, find_header: HeaderFinder, limits: Limits, exact: bool) -> Grid:
    if path.suffix.lower() == ".xls":
        check_xls(path, limits)  # before any reader opens it
    try:
        reader = fastexcel.read_excel(str(path))
        names = reader.sheet_names
    except Exception as exc:  # calamine raises its own error types
        raise FileRefused(Msg("ingest_not_readable_workbook", name=path.name, detail=read_error(exc, path))) from exc
    if sheet is not None and sheet not in names:
        raise FileRefused(Msg("ingest_no_such_sheet", name=path.name, sheet=sheet, sheets=", ".join(names)))
    if sheet is not None:  # a sheet named is read, hidden or not
        name, peek, h = sheet_with_header(path, [sheet], find_header, limits)
        others: list[str] = []
    else:
        name, peek, h, others = visible_sheet(path, names, find_header, limits)
    if h is None:
        raise _no_header(path, name)
    scan = sheet_scan(path, name, limits)  # refuses a sheet whose grid would not fit first
    header, last = _header_block(peek, h, scan.merged)
    _refuse_uncached_header(path, name, scan, h, last)
    data, bad_cells, start_col = _load_body(path, reader, name, last, _number_columns(peek, last) if exact else set())
    if data.num_rows > limits.max_rows:
        raise _too_many_rows(path, data.num_rows, limits)
    header = header[start_col:] if start_col < len(header) else []
    header += [""] * (data.num_columns - len(header))
    cols = [data.column(j) for j in range(data.num_columns)]
    cols += [pa.nulls(data.num_rows, pa.string())] * (len(header) - len(cols))
    cols = _fill_merged_body(cols, scan.merged, last + 1, start_col)
    first = last + 2  # 1-based row number of the first data row
    rows = pa.array(np.arange(first, first + data.num_rows, dtype=np.int64))
    context = [name] + [" ".join(cell_str(v) for v in r if cell_str(v)) for r in peek[:h]]
    width = len(header)

    def body(r0: int, c0: int) -> tuple[int, int] | None:
        """(row number, column index) of a sheet cell (0-based) that lies in the body read."""
        j = c0 - start_col
        return (r0 + 1, j) if r0 > last and 0 <= j < width else None

    uncached = {at: Uncached(f, cell_name(r0 + 1, c0 + 1), why) for (r0, c0), (f, why) in scan.uncached.items()
                if (at := body(r0, c0))}
    end = max((r for r, _ in uncached), default=0)
    if end >= first + data.num_rows:  # readers drop trailing rows that read empty: formulas alone
        extra = end - first - data.num_rows + 1
        cols = [pa.concat_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c,
                                  pa.nulls(extra, c.type)]) for c in cols]
        rows = pa.array(np.arange(first, end + 1, dtype=np.int64))
    percent: dict[int, set[int]] = {}
    for c0, rows0 in scan.percent.items():
        j = c0 - start_col
        if 0 <= j < width:
            percent[j] = {r0 + 1 for r0 in rows0 if r0 > last}
    hidden_rows = {r0 + 1 for r0 in scan.hidden_rows if r0 > last}
    hidden_cols = {c0 - start_col for c0 in scan.hidden_cols if 0 <= c0 - start_col < width}
    merged = [(max(r0, last + 1) + 1, c0 - start_col, r1 + 1, c1 - start_col) for (r0, c0), (r1, c1) in scan.merged
              if r1 > last and (r1 > max(r0, last + 1) or c1 > c0)]
    return Grid(path.name, name, header, last + 1, context, cols, rows, error_cells(bad_cells, epoch_of(path)),
                uncached=uncached, percent=percent, other_sheets=others, first_col=start_col,
                hidden_rows=hidden_rows, hidden_cols=hidden_cols, merged=merged)


def _refuse_uncached_header(path: Path, name: str, scan: SheetScan, h: int, last: int) -> None:
    """A header cell that is a formula without its result would be read as an empty header."""
    cells = sorted((r0, c0) for r0, c0 in scan.uncached if h <= r0 <= last)
    if cells:
        r0, c0 = cells[0]
        formula, why = scan.uncached[cells[0]]
        where = {"name": path.name, "sheet": name, "cell": cell_name(r0 + 1, c0 + 1), "formula": formula}
        raise FileRefused(Msg("ingest_header_formula_no_result", **where) if why == NO_RESULT
                          else Msg("ingest_header_formula_recalculated", **where))


def refuse_unseen(grid: Grid) -> None:
    """For importers that take a sheet whole (datasets, the org tree): a formula cell without a
    saved result, or data in a hidden row or column, refuses the file, naming them."""
    rows = sorted(grid.hidden_rows & set(grid.rows.to_pylist()))
    if rows:
        shown = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        raise FileRefused(Msg("ingest_hidden_row_refused", source=grid.source, rows=shown) if len(rows) == 1
                          else Msg("ingest_hidden_rows_refused", source=grid.source, rows=shown))
    cols = sorted(j for j in grid.hidden_cols if grid.header[j] or grid.columns[j].null_count < len(grid.columns[j]))
    if cols:
        raise FileRefused(Msg("ingest_hidden_columns_refused", source=grid.source,
                              columns=", ".join(repr(grid.header[j]) for j in cols)))
    if grid.uncached:
        cells = sorted(grid.uncached.values(), key=lambda u: (len(u.cell), u.cell))
        shown = [Msg("ingest_cell_and_formula", cell=u.cell, formula=u.formula) for u in cells[:5]]
        found = {"source": grid.source, "count": len(cells), "cells": shown, "more": " …" if len(cells) > 5 else ""}
        raise FileRefused(Msg("ingest_formula_cells_no_result", **found) if cells[0].why == NO_RESULT
                          else Msg("ingest_formula_cells_recalculated", **found))


def _number_columns(peek: list[list[object]], last: int) -> set[int]:
    """Sheet columns whose cells below the header are mostly numbers.

    fastexcel turns a column that mixes numbers and text ('1,234.5') into text with rounded
    numbers; read as float instead, its numbers stay exact and its text cells come back as
    errors carrying their text (see error_cells)."""
    out = set()
    for c in range(max((len(r) for r in peek), default=0)):
        cells = [r[c] for r in peek[last + 1:] if c < len(r) and r[c] is not None]
        # Mostly numbers: the odd text cell ('1,234.5', 'n/a') is fetched back from the errors.
        if cells and 2 * sum(type(v) in (int, float) for v in cells) >= len(cells):
            out.add(c)
    return out


def _load_body(path: Path, reader, name: str, last: int, numbers: set[int]):
    """(Arrow body below the header, cell errors, first used column)."""
    try:
        # With header_row=None fastexcel counts skip_rows from the sheet's first row (row 1),
        # even when the used area starts lower down; types are inferred from the body alone.
        # dtypes take the sheet's column index (A = 0).
        body = reader.load_sheet(name, header_row=None, skip_rows=last + 1, schema_sample_rows=None,
                                 dtypes={c: "float" for c in numbers} or None)
        columns = body.available_columns()
        data, bad_cells = body.to_arrow_with_errors()
    except fastexcel.CalamineCellError as exc:  # raised for #NAME? cells
        raise FileRefused(Msg("ingest_excel_error_cell", name=path.name, detail=str(exc).splitlines()[0])) from exc
    except Exception as exc:
        raise FileRefused(Msg("ingest_cannot_read", name=path.name, detail=read_error(exc, path))) from exc
    # fastexcel leaves out empty leading columns.
    return data, bad_cells, (columns[0].absolute_index if columns else 0)


def _fill_merged_body(cols: list[pa.Array], merged, first_row: int, start_col: int) -> list[pa.Array]:
    """Give every cell of a merged range below the header its top-left value: a 部门 cell merged
    down over the rows of its three metrics belongs to each of them."""
    values: dict[int, list] = {}
    for (r0, c0), (r1, c1) in merged:
        if r0 < first_row:
            continue
        j0 = c0 - start_col
        if not 0 <= j0 < len(cols) or r0 - first_row >= len(cols[j0]):
            continue
        value = values.setdefault(j0, cols[j0].to_pylist())[r0 - first_row]
        for c in range(c0, c1 + 1):
            j = c - start_col
            if not 0 <= j < len(cols):
                continue
            column = values.setdefault(j, cols[j].to_pylist())
            for r in range(r0, min(r1, first_row + len(column) - 1) + 1):
                column[r - first_row] = value
    out = list(cols)
    for j, column in values.items():
        try:
            out[j] = pa.array(column, type=cols[j].type)
        except (pa.ArrowException, TypeError, ValueError):
            out[j] = pa.array([None if v is None else str(v) for v in column], pa.string())
    return out


def _header_block(peek: list[list[object]], h: int, merged) -> tuple[list[str], int]:
    """Header texts per column (merged cells filled, stacked header rows joined), last row."""
    width = max([len(r) for r in peek] + [c1 + 1 for (_, _), (_, c1) in merged])
    grid = [list(r) + [None] * (width - len(r)) for r in peek]
    last = h
    for (r0, c0), (r1, c1) in merged:
        if r0 == h and r1 > h:
            last = max(last, r1)  # a cell merged downwards: the header spans those rows
        if r0 == h and c1 > c0 and h + 1 < len(grid):
            below = grid[h + 1][c0:c1 + 1]
            if any(cell_str(v) for v in below):
                last = max(last, h + 1)  # a group heading over sub-headings (2025年 over 1月…)
    last = min(last, len(grid) - 1)
    for (r0, c0), (r1, c1) in merged:
        if r0 > last or r1 < h:
            continue
        value = grid[r0][c0] if r0 < len(grid) and c0 < len(grid[r0]) else None
        for r in range(max(r0, h), min(r1, last) + 1):
            for c in range(c0, c1 + 1):
                if c < len(grid[r]):
                    grid[r][c] = value
    width = max(len(grid[r]) for r in range(h, last + 1))
    header = []
    for c in range(width):
        parts: list[str] = []
        for r in range(h, last + 1):
            t = cell_str(grid[r][c]) if c < len(grid[r]) else ""
            if t and t not in parts:
                parts.append(t)
        header.append(" ".join(parts))
    return header, last


def _drop_blank_rows(grid: Grid) -> Grid:
    if not grid.columns or grid.n_rows == 0:
        return grid
    blank = None
    for col in grid.columns:
        empty = pc.is_null(col)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            empty = pc.or_(empty, pc.equal(pc.utf8_trim_whitespace(col), ""))
        empty = pc.fill_null(empty, True)
        blank = empty if blank is None else pc.and_(blank, empty)
    keep = pc.invert(blank)
    if grid.uncached:  # a row whose only cells are formulas without results is not blank
        keep = pc.or_(keep, pc.is_in(grid.rows, pa.array([r for r, _ in grid.uncached], pa.int64())))
    if pc.all(keep).as_py():
        return grid
    grid.columns = [pc.filter(c, keep) for c in grid.columns]
    grid.rows = pc.filter(grid.rows, keep)
    return grid
