"""An .xlsx sheet's first rows and merged cells, read from its XML without parsing the cells.

fastexcel (like every calamine reader) parses a whole sheet before it hands over a row. To find
the header of a 1M-row file we only need its first rows, so they are read here straight from
the sheet's XML stream; fastexcel then parses the body once, typed, from below the header.

calamine also builds the sheet as one dense grid from its first to its last cell, so a 2 KB file
with cells at A1 and XFD1048576 asks for 550 GB and aborts the process (tafia/calamine#693).
`scan_xlsx` measures how far a sheet's cells reach, in the same pass that finds merged cells,
so such a file is refused before calamine sees it.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from kpi_core.ingest.xlsx_reach import column_index, column_number, member_stream, reach_of_references, reach_parsed
from kpi_core.model.messages import Msg

_ROW_END = re.compile(rb"</(?:\w+:)?row>|<(?:\w+:)?row\b[^>]*/>")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_V = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_T = re.compile(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.S)
_REF = re.compile(rb"([A-Z]+)(\d+)")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_SI_END = re.compile(rb"</(?:\w+:)?si>")
_EPOCH = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)  # workbooks saved with the 1904 date system (Excel for Mac)
_DATE_FORMATS = set(range(14, 23)) | {45, 46, 47}




def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def sheet_member(zf: zipfile.ZipFile, sheet: str) -> str:
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


def _head(zf: zipfile.ZipFile, member: str, nrows: int) -> bytes:
    """The sheet XML up to the end of row `nrows` (or all of it, if shorter)."""
    buf = b""
    with zf.open(member) as fh:
        while chunk := fh.read(1 << 16):
            buf += chunk
            ends = list(_ROW_END.finditer(buf))
            if len(ends) >= nrows:
                return buf[:ends[nrows - 1].end()]
    return buf


def _shared_strings(zf: zipfile.ZipFile, needed: int) -> list[str]:
    """Shared strings 0..needed (they are read in order, and no further)."""
    if needed < 0 or "xl/sharedStrings.xml" not in zf.namelist():
        return []
    out, buf = [], b""
    with zf.open("xl/sharedStrings.xml") as fh:
        while len(out) <= needed and (chunk := fh.read(1 << 16)):
            buf += chunk
            while len(out) <= needed and (end := _SI_END.search(buf)):
                si, buf = buf[:end.start()], buf[end.end():]
                # Phonetic runs (<rPh>) are furigana, not part of the text.
                si = re.sub(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", b"", si, flags=re.S)
                out.append("".join(_text(t) for t in _T.findall(si)))
    return out


def _date_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles (s=…) whose number format shows a date."""
    try:
        styles = zf.read("xl/styles.xml").decode("utf-8")
    except KeyError:
        return set()
    formats = re.findall(r'<(?:\w+:)?numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', styles)
    custom = {int(i): code for i, code in formats}
    dates = set(_DATE_FORMATS)
    for i, code in custom.items():
        bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", html.unescape(code)).lower()
        if re.search(r"[ymd]", bare) and "0" not in bare.replace("00:", ""):
            dates.add(i)
    xfs = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", styles, re.S)
    if not xfs:
        return set()
    ids = [int(m) for m in re.findall(r'<(?:\w+:)?xf\b[^>]*?numFmtId="(\d+)"', xfs[0])]
    return {i for i, f in enumerate(ids) if f in dates}


def peek_xlsx(path, sheet: str, nrows: int) -> list[list[object]]:
    """Rows 1..nrows of the sheet as lists indexed by sheet column (A = 0): text, numbers,
    dates for date-formatted numbers, booleans; None for empty cells."""
    with zipfile.ZipFile(path) as zf:
        head = _head(zf, sheet_member(zf, sheet), nrows)
        cells = []
        max_shared = -1
        for m in _CELL.finditer(head):
            attrs = dict(_ATTR.findall(m[1]))
            ref = _REF.match(attrs.get(b"r", b""))
            if not ref:
                continue
            row, col = int(ref[2]) - 1, column_index(ref[1])
            if row >= nrows:
                continue
            body = m[2] or b""
            kind = attrs.get(b"t", b"n")
            v = _V.search(body)
            cells.append((row, col, kind, v[1] if v else None, body, int(attrs.get(b"s", b"0"))))
            if kind == b"s" and v:
                max_shared = max(max_shared, int(v[1]))
        shared = _shared_strings(zf, max_shared)
        date_styles = _date_styles(zf) if cells else set()
        epoch = _epoch(zf)
    rows: list[list[object]] = [[] for _ in range(nrows)]
    for row, col, kind, v, body, style in cells:
        value = _value(kind, v, body, style, shared, date_styles, epoch)
        line = rows[row]
        line.extend([None] * (col + 1 - len(line)))
        line[col] = value
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _epoch(zf: zipfile.ZipFile) -> datetime:
    """Day 0 of the workbook's date serials: 1899-12-30, or 1904-01-01 where the workbook says
    date1904 (read with the wrong one, every date is four years and a day off)."""
    wb = zf.read("xl/workbook.xml").decode("utf-8")
    m = re.search(r'<(?:\w+:)?workbookPr\b[^>]*\bdate1904="(1|true)"', wb)
    return _EPOCH_1904 if m else _EPOCH


def workbook_epoch(path) -> datetime:
    """_epoch of the workbook at `path`."""
    with zipfile.ZipFile(path) as zf:
        return _epoch(zf)


def _value(kind: bytes, v: bytes | None, body: bytes, style: int, shared: list[str], date_styles: set[int],
           epoch: datetime = _EPOCH):
    if kind == b"inlineStr":
        return "".join(_text(t) for t in _T.findall(body)) or None
    if v is None:
        return None
    if kind == b"s":
        i = int(v)
        return shared[i] if i < len(shared) else None
    if kind in (b"str", b"e", b"d"):
        return _text(v)
    if kind == b"b":
        return v.strip() == b"1"
    number = float(v)
    if style in date_styles:
        return epoch + timedelta(days=number)
    return number


def merged_xlsx(path, sheet: str) -> list:
    """The sheet's merged ranges as ((r0, c0), (r1, c1)), 0-based, from a stream over its XML."""
    return scan_xlsx(path, sheet).merged


# --- how far the cells reach ------------------------------------------------------------------
# Checked per chunk of the sheet's XML with RE2 (pyarrow), which runs at memory speed where a
# Python regex would double the read of a 1M-row sheet.
# A cell not written as every spreadsheet program writes it, <c r="A1" …>: no r, r not first,
# spaces around =. A reader places such a cell by counting, which the reference checks miss.
_ODD_CELL = r"""<c(?:[>/]|\s+(?:[^r\s]|r[^=]|r=[^"']))"""
_PREFIXED_CELL = r""":c[\s>/]"""
# A reference past column Z or row 999,999; past column ZZ or row 1,048,576 (beyond Excel's grid
# at XFD1048576, and any 3-letter column is counted exactly); a row of 10,000 or more.
_WIDE_OR_LONG = r"""r\s*=\s*["'](?:[A-Za-z]{2}[0-9]|[A-Za-z]{3}|[A-Za-z]*[0-9]{7})"""
_FAR = (r"""r\s*=\s*["'](?:[A-Za-z]{3}|[A-Za-z]*(?:[0-9]{8,}|[2-9][0-9]{6}|1[1-9][0-9]{5}|10[5-9][0-9]{4}"""
        r"""|1049[0-9]{3}|1048[6-9][0-9]{2}|10485[89][0-9]|104857[7-9])["'])""")
_ROW_10K = r"""r\s*=\s*["'][A-Za-z]*[0-9]{5}"""
_TWO_LETTERS = re.compile(rb"""r\s*=\s*["']([A-Za-z]{2})[0-9]""")
EXCEL_ROWS = 1_048_576  # the last row a spreadsheet can hold (its last cell is XFD1048576)




@dataclass(frozen=True)
class SheetScan:
    """One pass over a sheet's XML: its merged ranges and how far its cells reach.

    rows × cols bounds the grid a reader builds; it is exact whenever it exceeds the limit the
    scan was given (a bound is only given when it is under that limit)."""

    merged: list
    rows: int
    cols: int
    # (0-based row, column) -> (formula, why), for formula cells saved without their result (files
    # written by scripts; a reader sees them empty), or with one Excel replaces on opening.
    uncached: dict = field(default_factory=dict)
    # 0-based column -> 0-based rows of number cells shown as a percentage (number format 0%).
    percent: dict = field(default_factory=dict)
    hidden_rows: set = field(default_factory=set)   # 0-based rows hidden or filtered out
    hidden_cols: set = field(default_factory=set)   # 0-based columns hidden

    @property
    def cells(self) -> int:
        return self.rows * self.cols


def _has(chunk: pa.Array, pattern: str) -> bool:
    return pc.match_substring_regex(chunk, pattern=pattern)[0].as_py()


def workbook_sheets(path) -> list[tuple[str, str]]:
    """(name, state) of every sheet in workbook order; state is visible, hidden or veryHidden."""
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode("utf-8")
    out = []
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m[1]))
        out.append((html.unescape(attrs.get("name", "")), attrs.get("state", "visible")))
    return out


def active_sheet(path) -> int:
    """Index of the sheet the workbook opens on (its active tab), 0 when it names none."""
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode("utf-8")
    m = re.search(r'<(?:\w+:)?workbookView\b[^>]*\bactiveTab="(\d+)"', wb)
    return int(m[1]) if m else 0


def percent_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles (s=…) whose number format shows a percentage (0%, 0.00%)."""
    try:
        styles = zf.read("xl/styles.xml").decode("utf-8")
    except KeyError:
        return set()
    percent = {9, 10}  # Excel's built-in 0% and 0.00%
    for i, code in re.findall(r'<(?:\w+:)?numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', styles):
        if "%" in html.unescape(code):  # 0%, and 0"%" too: the cell shows a % sign either way
            percent.add(int(i))
    xfs = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", styles, re.S)
    if not xfs:
        return set()
    ids = [int(m) for m in re.findall(r'<(?:\w+:)?xf\b[^>]*?numFmtId="(\d+)"', xfs[0])]
    return {i for i, f in enumerate(ids) if f in percent}


def scan_xlsx(path, sheet: str, max_cells: int | None = None) -> SheetScan:
    """Merged ranges and the reach of the sheet's cells, from a stream over its XML.

    <mergeCells> follows all the cells, so the whole stream is read, but with byte searches per
    chunk: under a second for a 1M-row sheet, against 5 s for a full parse. Sheets whose cells
    might reach far (past column ZZ or row 999,999, wide and long, or cells written without a
    plain reference) are measured exactly in a second pass.
    """
    with zipfile.ZipFile(path) as zf:
        return _scan_member(zf, sheet_member(zf, sheet), max_cells, percent_styles(zf), _recalculates(zf))


def _recalculates(zf: zipfile.ZipFile) -> bool:
    """Whether the workbook asks Excel to recalculate every formula when it opens (as files
    written by programs that do not calculate do, with 0 or nothing saved as the results)."""
    try:
        wb = zf.read("xl/workbook.xml").decode("utf-8")
    except KeyError:
        return False
    return re.search(r'<(?:\w+:)?calcPr\b[^>]*\bfullCalcOnLoad="(1|true)"', wb) is not None


def scan_parts(path, max_cells: int | None = None) -> dict[str, SheetScan]:
    """Every XML part of the package scanned as a sheet: for a package whose sheets cannot be
    found through workbook.xml, so no part a reader may take as a sheet goes unmeasured."""
    with zipfile.ZipFile(path) as zf:
        return {n: _scan_member(zf, n, max_cells) for n in zf.namelist() if n.lower().endswith(".xml")}


def _scan_member(zf: zipfile.ZipFile, member: str, max_cells: int | None,
                 percent: set[int] | frozenset = frozenset(), recalculates: bool = False) -> SheetScan:
    """scan_xlsx for one zip member: `percent` holds the styles whose number format is a
    percentage; with `recalculates`, every formula's saved result is one Excel replaces on opening."""
    merged, uncached, shown_percent, hidden_rows, hidden_cols = [], {}, {}, set(), set()
    odd = far = False
    cols, rows = 26, 9_999  # bounds: one-letter columns, rows under 10,000, until seen otherwise
    percent_cell = _percent_cell(percent)
    for buf in _whole_rows(member_stream(zf, member)):
        if b"mergeCell" in buf:
            for m in _MERGE.finditer(buf):
                c0, r0 = column_index(m[1]), int(m[2]) - 1
                c1, r1 = (column_index(m[3]), int(m[4]) - 1) if m[3] else (c0, r0)
                merged.append(((r0, c0), (r1, c1)))
        arr = pa.array([buf], pa.binary())
        if not (odd or far):  # once either is seen, the exact pass decides
            odd = _has(arr, _ODD_CELL) or _has(arr, _PREFIXED_CELL)
            if not odd and _has(arr, _WIDE_OR_LONG):
                far = _has(arr, _FAR)
                two = _TWO_LETTERS.findall(buf)  # cells past column Z only: few in most sheets
                if two:
                    cols = max(cols, max(column_number(c) for c in set(two)))
            if rows < EXCEL_ROWS and _has(arr, _ROW_10K):
                rows = EXCEL_ROWS  # any further is _FAR
        if _has(arr, _ANY_FORMULA if recalculates else _NO_RESULT):  # a cheap look first; then cell by cell
            uncached.update(_formulas_without_result(arr, recalculates))
        if percent_cell and _has(arr, _CELL_START + percent_cell[1:]):
            for r, c in _cells_styled(arr, percent_cell):
                shown_percent.setdefault(c, set()).add(r)
        if _has(arr, _HIDDEN):
            rows_, cols_ = _hidden(buf)
            hidden_rows |= rows_
            hidden_cols |= cols_
    if odd:
        rows, cols = reach_parsed(zf, member)
    elif far or (max_cells is not None and rows * cols > max_cells):
        rows, cols = reach_of_references(zf, member)
    return SheetScan(merged, rows, cols, uncached, shown_percent, hidden_rows, hidden_cols)


def _whole_rows(chunks, most: int = 1 << 24):
    """The stream cut after a row's end, so no cell is split between two pieces (a piece grows
    past a chunk only while no row ends in it, up to `most` bytes)."""
    carry = b""
    for chunk in chunks:
        buf = carry + chunk
        cut = buf.rfind(b"</row>")
        if cut < 0:
            cut = buf.rfind(b"row>")  # a prefixed </x:row>
        if cut < 0 and len(buf) < most:
            carry = buf
            continue
        end = len(buf) if cut < 0 else buf.index(b">", cut) + 1
        carry = buf[end:]
        yield buf[:end]
    if carry:
        yield carry


# A formula cell saved without its result: <f>…</f> (or a shared <f …/>) followed by no <v>, an
# empty one, or nothing at all, up to the cell's end.
_NO_RESULT = (r"""(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?"""
              r"""\s*</(?:\w+:)?c>""")
_ANY_FORMULA = r"<(?:\w+:)?f[\s>/]"
_CELL_START = r"<(?:\w+:)?c\b"
# A formula cell: its attributes, formula, and saved value element (val: the result, if any).
_FORMULA_CELL = (r"""^(?P<attrs>[^>]*)>\s*<(?:\w+:)?f\b[^>]*(?:/>|>(?P<f>.*?)</(?:\w+:)?f>)\s*"""
                 r"""(?P<v><(?:\w+:)?v\s*/>|<(?:\w+:)?v>(?P<val>.*?)</(?:\w+:)?v>)?""")
NO_RESULT = "no saved result"
RECALCULATED = "a saved result that Excel replaces when the workbook opens"


# A row hidden (or filtered out by an autofilter, which hides it the same way) or of no height; a
# hidden column range.
_HIDDEN = r"""<(?:\w+:)?(?:row|col)\b[^>]*\b(?:hidden\s*=\s*["'](?:1|true)["']|ht\s*=\s*["']0(?:\.0*)?["'])"""
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_COL_TAG = re.compile(rb"<(?:\w+:)?col\b([^>]*?)/?>")


def _is_hidden(attrs: dict) -> bool:
    return attrs.get(b"hidden") in (b"1", b"true") or re.fullmatch(rb"0(\.0*)?", attrs.get(b"ht", b"1")) is not None


def _hidden(buf: bytes) -> tuple[set[int], set[int]]:
    """(0-based rows, 0-based columns) the piece hides."""
    rows, cols = set(), set()
    for m in _ROW_TAG.finditer(buf):
        attrs = dict(_ATTR.findall(m[1]))
        if _is_hidden(attrs) and attrs.get(b"r", b"").isdigit():
            rows.add(int(attrs[b"r"]) - 1)
    for m in _COL_TAG.finditer(buf):
        attrs = dict(_ATTR.findall(m[1]))
        if _is_hidden(attrs) and attrs.get(b"min", b"").isdigit() and attrs.get(b"max", b"").isdigit():
            low, high = int(attrs[b"min"]), min(int(attrs[b"max"]), 16_384)
            cols.update(range(low - 1, high))
    return rows, cols


def _cell_texts(arr: pa.Array) -> pa.Array:
    """Each cell of the piece as the text after its <c: its attributes, then its content."""
    return pc.list_flatten(pc.split_pattern_regex(arr, _CELL_START))


def _formulas_without_result(arr: pa.Array, every: bool = False) -> dict[tuple[int, int], tuple[str, str]]:
    """{(row, column): ('=formula', why)} of the piece's formula cells that have no saved result
    (with `every`, of all its formula cells: the workbook replaces their results when it opens)."""
    found = pc.extract_regex(_cell_texts(arr), _FORMULA_CELL)
    out = {}
    for hit in found.filter(pc.is_valid(found)).to_pylist():
        attrs = dict(_ATTR.findall(hit["attrs"]))
        saved = bool(hit["val"] and hit["val"].strip())
        if not saved and attrs.get(b"t") == b"str" and hit["v"] and not every:
            continue  # a text result that is empty: Excel shows an empty cell too
        if saved and not every:
            continue
        ref = _REF.match(attrs.get(b"r", b""))
        if ref:
            formula = "=" + _text(hit["f"]) if hit["f"] else Msg("ingest_shared_formula")
            out[(int(ref[2]) - 1, column_index(ref[1]))] = (formula, RECALCULATED if saved else NO_RESULT)
    return out


def _percent_cell(styles: set[int] | frozenset) -> str | None:
    """A pattern for a cell's attributes naming one of `styles` (the text after its <c)."""
    if not styles:
        return None
    ids = "|".join(str(i) for i in sorted(styles))
    return rf"""^[^>]*\bs="(?:{ids})"[^>]*>"""


def _cells_styled(arr: pa.Array, pattern: str) -> list[tuple[int, int]]:
    """(row, column) of the piece's number cells (no t=, or t="n") whose attributes match `pattern`."""
    cells = _cell_texts(arr)
    out = []
    for text in cells.filter(pc.match_substring_regex(cells, pattern)).to_pylist():
        attrs = dict(_ATTR.findall(text.split(b">", 1)[0]))
        if attrs.get(b"t", b"n") != b"n":
            continue
        ref = _REF.match(attrs.get(b"r", b""))
        if ref:
            out.append((int(ref[2]) - 1, column_index(ref[1])))
    return out












