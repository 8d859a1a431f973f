"""How far an .xlsx sheet's cells reach (rows, columns), from its XML: a sheet that would not fit
is refused before calamine builds its grid."""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile

from kpi_core.model.messages import Msg

HUGE = 10**12  # a reference this far is beyond any grid (and int() of 5,000 digits would raise)


def ref_number(digits: bytes | str) -> int:
    return int(digits) if len(digits) <= 12 else HUGE


def column_number(letters: bytes | str) -> int:
    """1-based column of letters in either case (a reader takes 'xfd' as XFD)."""
    if len(letters) > 8:
        return HUGE
    return column_index(letters.upper().encode() if isinstance(letters, str) else letters.upper()) + 1


def member_stream(zf: zipfile.ZipFile, member: str):
    with zf.open(member) as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


def reach_of_references(zf: zipfile.ZipFile, member: str) -> tuple[int, int]:
    """(last row, last column), 1-based, over every cell reference of a plainly written sheet."""
    rows = cols = 0
    tail = b""
    for chunk in member_stream(zf, member):
        buf = tail + chunk  # a maximum does not mind the overlap seeing a reference twice
        refs = REF_BYTES.findall(buf)
        if refs:
            rows = max(rows, max(ref_number(r) for r in {r for _, r in refs}))
            cols = max(cols, max(column_number(c) for c in {c for c, _ in refs}))
        tail = buf[-256:]
    return rows, cols


def reach_parsed(zf: zipfile.ZipFile, member: str) -> tuple[int, int]:
    """(last row, last column), 1-based, placing cells as calamine does: by their reference, or
    one after the previous cell (and row) where there is none. A full XML parse, for sheets not
    written plainly; a DOCTYPE or malformed XML raises UnsafeXml."""
    rows = cols = row = col = 0

    def start(name: str, attrs: dict) -> None:
        nonlocal rows, cols, row, col
        local = name.rpartition(":")[2]
        if local == "row":
            r = attrs.get("r", "")
            row, col = (ref_number(r) if r.isdigit() else row + 1), 0
        elif local == "c":
            ref = REF_TEXT.fullmatch(attrs.get("r", ""))
            if ref:
                col, at = column_number(ref[1]), ref_number(ref[2])
            else:
                col, at = col + 1, row
            rows, cols = max(rows, at), max(cols, col)

    def doctype(*_) -> None:
        raise UnsafeXml(Msg("ingest_xml_doctype"))

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        for chunk in member_stream(zf, member):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as exc:
        raise UnsafeXml(Msg("ingest_xml_malformed", detail=str(exc))) from exc
    return rows, cols


def column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


REF_BYTES = re.compile(rb"""\br\s*=\s*["']([A-Za-z]+)([0-9]+)["']""")


REF_TEXT = re.compile(r"([A-Za-z]+)([0-9]+)")


class UnsafeXml(ValueError):
    """The sheet's XML declares a DOCTYPE or is not well-formed."""
