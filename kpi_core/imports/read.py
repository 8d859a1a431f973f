"""Reading Excel and CSV files into a Grid: header found below any title rows, data as Arrow.

Excel goes through the calamine readers. For facts and org files (`typed=False`) fastexcel
parses the sheet once, from row 1, and the header is found in its first rows; merged cells
come from the sheet's XML. Datasets (`typed=True`) need each column's own type, so
python-calamine peeks at the header first and fastexcel then reads only the body.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from ..config import Limits
from .files import FileRefused, check_file

PEEK_ROWS = 30
_EXCEL_ERRORS = {"NA": "#N/A", "Div0": "#DIV/0!", "Value": "#VALUE!", "Ref": "#REF!", "Num": "#NUM!",
                 "Null": "#NULL!", "Name": "#NAME?", "GettingData": "#GETTING_DATA"}
HeaderFinder = Callable[[list[list[object]]], int | None]


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

    @property
    def n_rows(self) -> int:
        return len(self.rows)


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # a header typed as 2025 is read back as 2025.0
    return "" if v is None else str(v).strip()


def first_text_row(rows: list[list[object]]) -> int | None:
    """Default header finder: the first row as wide as the widest row in the peek."""
    widths = [sum(1 for v in r if _text(v)) for r in rows]
    if not widths or max(widths) == 0:
        return None
    need = max(2, int(0.6 * max(widths))) if max(widths) > 1 else 1
    return next(i for i, w in enumerate(widths) if w >= need)


def read_grid(path: str | Path, *, sheet: str | None = None, find_header: HeaderFinder = first_text_row,
              limits: Limits | None = None, typed: bool = False) -> Grid:
    """Read a file's sheet (or CSV) into a Grid; FileRefused for what cannot be read.

    typed=False may give a column of numbers below a text header as text ('12.5'): the
    importers parse cells anyway, and the sheet is parsed once instead of twice.
    """
    limits = limits or Limits.from_env()
    path = Path(path)
    kind = check_file(path, limits)
    if kind == "csv":
        grid = _read_csv(path, find_header, limits)
    elif typed:
        grid = _read_excel(path, sheet, find_header, limits)
    else:
        grid = _read_excel_once(path, sheet, find_header, limits)
    return _drop_blank_rows(grid)


def _no_header(path: Path, sheet: str | None) -> FileRefused:
    where = f" (sheet '{sheet}')" if sheet else ""
    return FileRefused(f"{path.name}{where} has no header row in its first {PEEK_ROWS} rows, or no data")


def _too_many_rows(path: Path, n: int, limits: Limits) -> FileRefused:
    return FileRefused(f"{path.name} has {n:,} rows, over the {limits.max_rows:,}-row limit (KPI_MAX_ROWS); "
                       "split the file or ask an admin to raise the limit")


# --- CSV -----------------------------------------------------------------------------------

def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FileRefused(f"{name} is neither UTF-8 nor GBK text; save it as CSV UTF-8")


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
    for rec in reader:
        rows.append(rec)
        lines.append(end + 1)  # the line the record starts on (a quoted cell may span lines)
        end = reader.line_num
        if len(rows) > limits.max_rows + PEEK_ROWS:
            raise FileRefused(f"{path.name} has more than {limits.max_rows:,} rows (KPI_MAX_ROWS)")
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

def _read_excel(path: Path, sheet: str | None, find_header: HeaderFinder, limits: Limits) -> Grid:
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise FileRefused(f"{path.name} cannot be read as a workbook: {exc}") from exc
    names = wb.sheet_names
    if sheet is not None and sheet not in names:
        raise FileRefused(f"{path.name} has no sheet '{sheet}'; its sheets are: {', '.join(names)}")
    try:
        sh = wb.get_sheet_by_name(sheet) if sheet is not None else _first_sheet_with_header(wb, find_header)
        peek = sh.to_python(skip_empty_area=False, nrows=PEEK_ROWS)
        merged = sh.merged_cell_ranges or []
        _, start_col = sh.start or (0, 0)
        end = sh.end
        height = end[0] + 1 if end else 0  # rows down to the last used one (total_height is that index)
    except FileRefused:
        raise
    except Exception as exc:
        raise FileRefused(f"{path.name} cannot be read: {exc}") from exc
    if height > limits.max_rows + PEEK_ROWS:
        raise _too_many_rows(path, height, limits)
    h = find_header(peek)
    if h is None:
        raise _no_header(path, sh.name)
    header, last = _header_block(peek, h, merged)
    if height - (last + 1) > limits.max_rows:
        raise _too_many_rows(path, height - (last + 1), limits)
    try:
        reader = fastexcel.read_excel(str(path))
        # With header_row=None fastexcel counts skip_rows from the sheet's first row (row 1),
        # even when the used area starts lower down.
        data, bad_cells = reader.load_sheet(sh.name, header_row=None, skip_rows=last + 1,
                                            schema_sample_rows=None).to_arrow_with_errors()
    except fastexcel.CalamineCellError as exc:  # raised for #NAME? cells
        raise FileRefused(f"{path.name}: a cell holds an Excel error ({str(exc).splitlines()[0]}); correct "
                          "its formula or paste values, and upload again") from exc
    except Exception as exc:
        raise FileRefused(f"{path.name} cannot be read: {exc}") from exc
    cell_errors = {}
    for e in bad_cells.errors if bad_cells else []:
        m = re.search(r"Error\((\w+)\)", e.detail)
        if m:  # position: (0-based sheet row, column index in the data read)
            cell_errors[(e.position[0] + 1, e.position[1])] = _EXCEL_ERRORS.get(m[1], f"#{m[1].upper()}")
    header = header[start_col:] if start_col < len(header) else []
    header += [""] * (data.num_columns - len(header))
    cols = [data.column(j) for j in range(data.num_columns)]
    cols += [pa.nulls(data.num_rows, pa.string())] * (len(header) - len(cols))
    cols = _fill_merged_body(cols, merged, last + 1, start_col)
    first = last + 2  # 1-based row number of the first data row
    rows = pa.array(range(first, first + data.num_rows), pa.int64())
    context = [sh.name] + [" ".join(_text(v) for v in r if _text(v)) for r in peek[:h]]
    return Grid(path.name, sh.name, header, last + 1, context, cols, rows, cell_errors)


def _read_excel_once(path: Path, sheet: str | None, find_header: HeaderFinder, limits: Limits) -> Grid:
    try:
        reader = fastexcel.read_excel(str(path))
        names = reader.sheet_names
    except Exception as exc:
        raise FileRefused(f"{path.name} cannot be read as a workbook: {exc}") from exc
    if sheet is not None and sheet not in names:
        raise FileRefused(f"{path.name} has no sheet '{sheet}'; its sheets are: {', '.join(names)}")
    chosen = None
    for name in [sheet] if sheet is not None else names:
        data, bad_cells, start_col = _load_whole_sheet(path, reader, name)
        if data.num_rows == 0:
            continue
        peek = [list(r.values()) for r in data.slice(0, PEEK_ROWS).to_pylist()]
        h = find_header(peek)
        if h is not None:
            chosen = (name, data, bad_cells, start_col, peek, h)
            break
        chosen = chosen or (name, data, bad_cells, start_col, peek, None)
    if chosen is None or chosen[5] is None:
        raise _no_header(path, chosen[0] if chosen else (sheet or (names[0] if names else None)))
    name, data, bad_cells, start_col, peek, h = chosen
    height = data.num_rows
    merged = merged_ranges(path, name)
    # The peek as the sheet has it: fastexcel leaves out empty leading columns.
    peek = [[None] * start_col + r for r in peek]
    header, last = _header_block(peek, h, merged)
    if height - (last + 1) > limits.max_rows:
        raise _too_many_rows(path, height - (last + 1), limits)
    body = data.slice(last + 1)
    cell_errors = _error_cells(bad_cells)
    header = header[start_col:] if start_col < len(header) else []
    header += [""] * (body.num_columns - len(header))
    cols = [_numbers_back(body.column(j)) for j in range(body.num_columns)]
    cols += [pa.nulls(body.num_rows, pa.string())] * (len(header) - len(cols))
    cols = _fill_merged_body(cols, merged, last + 1, start_col)
    first = last + 2  # 1-based row number of the first data row
    rows = pa.array(np.arange(first, first + body.num_rows, dtype=np.int64))
    context = [name] + [" ".join(_text(v) for v in r if _text(v)) for r in peek[:h]]
    return Grid(path.name, name, header, last + 1, context, cols, rows, cell_errors)


# Numbers as fastexcel writes them when a text header shares their column; a leading zero
# ('007') marks a code typed as text, which stays text.
_NUMBER_TEXT = r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$"


def _numbers_back(col: pa.Array) -> pa.Array:
    """A text column whose every value is a plain number, as numbers again."""
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        return col
    values = pc.drop_null(col)
    if len(values) == 0 or not pc.all(pc.match_substring_regex(values, _NUMBER_TEXT)).as_py():
        return col
    return pc.cast(col, pa.float64())


def _load_whole_sheet(path: Path, reader, name: str):
    """(data from row 1, error cells, first used column). skip_rows=0 keeps leading empty rows,
    so a row's index is its number - 1; fastexcel leaves out empty leading columns."""
    try:
        sh = reader.load_sheet(name, header_row=None, skip_rows=0, schema_sample_rows=None)
        columns = sh.available_columns()
        data, bad_cells = sh.to_arrow_with_errors()
    except fastexcel.CalamineCellError as exc:  # raised for #NAME? cells
        raise FileRefused(f"{path.name}: a cell holds an Excel error ({str(exc).splitlines()[0]}); correct "
                          "its formula or paste values, and upload again") from exc
    except Exception as exc:
        raise FileRefused(f"{path.name} cannot be read: {exc}") from exc
    return data, bad_cells, (columns[0].absolute_index if columns else 0)


def _error_cells(bad_cells) -> dict[tuple[int, int], str]:
    out = {}
    for e in bad_cells.errors if bad_cells else []:
        m = re.search(r"Error\((\w+)\)", e.detail)
        if m:  # position: (0-based sheet row, column index in the data read)
            out[(e.position[0] + 1, e.position[1])] = _EXCEL_ERRORS.get(m[1], f"#{m[1].upper()}")
    return out


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def merged_ranges(path: Path, sheet: str) -> list:
    """A sheet's merged ranges as ((r0, c0), (r1, c1)), 0-based.

    For .xlsx/.xlsm the sheet's XML is scanned as a stream (no cell is parsed); for .xls and
    .ods python-calamine reads the sheet.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return _xlsx_merged(path, sheet)
        except (KeyError, StopIteration, zipfile.BadZipFile, ValueError):
            pass  # an unusual package layout: let calamine tell
    try:
        return list(python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
                    .merged_cell_ranges or [])
    except Exception as exc:
        raise FileRefused(f"{path.name} cannot be read: {exc}") from exc


def _xlsx_merged(path: Path, sheet: str) -> list:
    merged, tail = [], b""
    with zipfile.ZipFile(path) as zf, zf.open(_xlsx_sheet_member(zf, sheet)) as fh:
        while chunk := fh.read(1 << 20):
            buf = tail + chunk
            if b"mergeCell" in buf:  # a plain search first: most chunks are cells
                for m in _MERGE.finditer(buf):
                    if m.end() > len(tail):  # not already taken from the previous chunk's tail
                        c0, r0 = _col_index(m[1]), int(m[2]) - 1
                        c1, r1 = (_col_index(m[3]), int(m[4]) - 1) if m[3] else (c0, r0)
                        merged.append(((r0, c0), (r1, c1)))
            tail = buf[-200:]
    return merged


def _xlsx_sheet_member(zf: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding `sheet`, through workbook.xml and its relationships."""
    wb = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m[1]))
        if html.unescape(attrs.get("name", "")) == sheet:
            rid = next(v for k, v in attrs.items() if k.endswith(":id"))
            for r in re.finditer(r"<Relationship\b([^>]*)/?>", rels):
                ra = dict(re.findall(r'([\w:]+)="([^"]*)"', r[1]))
                if ra.get("Id") == rid:
                    target = ra["Target"]
                    return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise KeyError(sheet)


def _first_sheet_with_header(wb: python_calamine.CalamineWorkbook, find_header: HeaderFinder):
    """The first sheet whose header the import recognises (skipping a 填报说明 sheet), else the
    first with data, so the error names a sheet the user can see."""
    with_data = None
    for name in wb.sheet_names:
        sh = wb.get_sheet_by_name(name)
        if sh.height == 0:
            continue
        with_data = with_data or sh
        if find_header(sh.to_python(skip_empty_area=False, nrows=PEEK_ROWS)) is not None:
            return sh
    return with_data or wb.get_sheet_by_index(0)


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
    grid = [list(r) for r in peek]
    last = h
    for (r0, c0), (r1, c1) in merged:
        if r0 == h and r1 > h:
            last = max(last, r1)  # a cell merged downwards: the header spans those rows
        if r0 == h and c1 > c0 and h + 1 < len(grid):
            below = grid[h + 1][c0:c1 + 1]
            if any(_text(v) for v in below):
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
            t = _text(grid[r][c]) if c < len(grid[r]) else ""
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
    if pc.all(keep).as_py():
        return grid
    grid.columns = [pc.filter(c, keep) for c in grid.columns]
    grid.rows = pc.filter(grid.rows, keep)
    return grid
