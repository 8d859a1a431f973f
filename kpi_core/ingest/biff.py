"""How far the cells of an old .xls workbook reach, read from its BIFF records without a reader.

calamine sizes an .xls sheet by its DIMENSIONS record and builds the grid from the first to the
last cell, so one forged record (rows 4 billion, or a cell in column 65,535) asks for terabytes
and aborts the process. The workbook stream is read here from the OLE compound file (a small,
bounded reader: sector chains are followed at most once per sector) and every DIMENSIONS and
cell record is measured, before calamine opens the file.
"""

from __future__ import annotations

import struct
from pathlib import Path

from kpi_core.model.messages import Msg

_FREE_OR_END = 0xFFFFFFFA  # sector numbers from here up mark free sectors and chain ends
# BIFF5/8 records that place a cell: row and column are their first two u16 fields.
_CELLS = {0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6, 0x0406}
_MULTI = {0x00BD, 0x00BE}  # MULRK, MULBLANK: row, first column, …, last column (the last u16)
_DIMENSIONS = 0x0200
_FILEPASS = 0x002F  # the records after it are encrypted


class BadXls(ValueError):
    """The compound file or its workbook stream is damaged."""


class EncryptedXls(BadXls):
    """The workbook is password-protected: its record bodies are encrypted."""


def xls_reach(path: str | Path) -> tuple[int, int]:
    """(rows, columns) of the largest grid any sheet of the .xls claims or fills, 1-based."""
    stream = _workbook_stream(Path(path).read_bytes())
    rows = cols = 0
    at, end = 0, len(stream)
    while at + 4 <= end:
        kind, size = struct.unpack_from("<HH", stream, at)
        body = at + 4
        if kind == _FILEPASS:
            raise EncryptedXls(Msg("ingest_xls_encrypted"))
        if kind == _DIMENSIONS and size >= 14:  # BIFF8: u32 first/last+1 row, u16 first/last+1 col
            _, last_row, _, last_col = struct.unpack_from("<IIHH", stream, body)
            rows, cols = max(rows, last_row), max(cols, last_col)
        elif kind == _DIMENSIONS and size >= 10:  # BIFF5
            _, last_row, _, last_col = struct.unpack_from("<HHHH", stream, body)
            rows, cols = max(rows, last_row), max(cols, last_col)
        elif kind in _CELLS and size >= 4:
            row, col = struct.unpack_from("<HH", stream, body)
            rows, cols = max(rows, row + 1), max(cols, col + 1)
        elif kind in _MULTI and size >= 6:
            row, = struct.unpack_from("<H", stream, body)
            last, = struct.unpack_from("<H", stream, body + size - 2)
            rows, cols = max(rows, row + 1), max(cols, last + 1)
        at = body + size
    return rows, cols


_BOF, _FORMULA = 0x0809, 0x0006


def xls_formulas_without_result(path: str | Path) -> dict[int, dict[tuple[int, int], str]]:
    """{sheet index: {(0-based row, column): why}} for formula cells whose saved result is not a
    value a reader can trust: an empty text (what programs that do not calculate write, xlwt
    among them) or a formula flagged to be recalculated always or on opening, so the value
    Excel shows is not the one saved. Sheets are counted in the order of their BOF records."""
    stream = _workbook_stream(Path(path).read_bytes())
    out: dict[int, dict[tuple[int, int], str]] = {}
    sheet, at, end = -1, 0, len(stream)  # the first BOF opens the workbook globals
    while at + 4 <= end:
        kind, size = struct.unpack_from("<HH", stream, at)
        body = at + 4
        if kind == _BOF:
            sheet += 1
        elif kind == _FORMULA and size >= 16:
            row, col = struct.unpack_from("<HH", stream, body)
            result, flags = stream[body + 6:body + 14], struct.unpack_from("<H", stream, body + 14)[0]
            empty_text = result[6:8] == b"\xff\xff" and result[0] == 3
            if empty_text or flags & 0x0003:
                out.setdefault(sheet - 1, {})[(row, col)] = (
                    "no saved result" if empty_text else "a saved result that Excel replaces when the workbook opens")
        at = body + size
    return out


def _workbook_stream(data: bytes) -> bytes:
    """The 'Workbook' (or BIFF5 'Book') stream of an OLE compound file."""
    if len(data) < 512 or data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise BadXls(Msg("ingest_xls_not_ole"))
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        raise BadXls(Msg("ingest_xls_sector_size"))
    size = 1 << shift
    n_sectors = max(0, len(data) - size) // size
    (first_dir, cutoff, first_minifat, _n_minifat, first_difat, n_difat) = struct.unpack_from(
        "<I4xIIIII", data, 0x30)

    def sector(n: int) -> bytes:
        if n >= n_sectors:
            raise BadXls(Msg("ingest_xls_sector_past_end", sector=n))
        return data[(n + 1) * size:(n + 2) * size]

    # The FAT's own sectors: 109 listed in the header, the rest in a chain of DIFAT sectors.
    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < _FREE_OR_END]
    n, seen = first_difat, 0
    while n < _FREE_OR_END and seen < n_difat and seen <= n_sectors:
        ids = struct.unpack(f"<{size // 4}I", sector(n))
        fat_sectors += [x for x in ids[:-1] if x < _FREE_OR_END]
        n, seen = ids[-1], seen + 1
    fat = [x for s in fat_sectors for x in struct.unpack(f"<{size // 4}I", sector(s))]

    def chain(start: int, table: list[int]) -> list[int]:
        out, n = [], start
        while n < _FREE_OR_END:
            if n >= len(table) or len(out) > len(table):
                raise BadXls(Msg("ingest_xls_chain_broken"))
            out.append(n)
            n = table[n]
        return out

    directory = b"".join(sector(s) for s in chain(first_dir, fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise BadXls(Msg("ingest_xls_no_directory"))
    root_start, = struct.unpack_from("<I", entries[0], 0x74)
    for entry in entries:
        name_len, kind = struct.unpack_from("<HB", entry, 0x40)
        name = entry[:max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        if kind == 2 and name in ("Workbook", "Book"):
            start, length = struct.unpack_from("<IQ", entry, 0x74)
            length &= 0xFFFFFFFF if shift == 9 else (1 << 64) - 1  # v3 files use the low half only
            if length >= cutoff:
                stream = b"".join(sector(s) for s in chain(start, fat))
            else:  # a small stream lives in the mini stream, in 64-byte sectors
                mini_fat = [x for s in chain(first_minifat, fat)
                            for x in struct.unpack(f"<{size // 4}I", sector(s))]
                mini_data = b"".join(sector(s) for s in chain(root_start, fat))
                stream = b"".join(mini_data[m * 64:(m + 1) * 64] for m in chain(start, mini_fat))
            return stream[:length]
    raise BadXls(Msg("ingest_xls_no_workbook_stream"))
