"""Checking an upload before parsing it: size, real type, passwords, zip bombs."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from kpi_core.model.config import Limits
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg

EXCEL_EXTS = {".xlsx", ".xlsm", ".xls", ".ods"}
CSV_EXTS = {".csv", ".txt", ".tsv"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
MAX_PARTS = 10_000  # parts of a zip package; Excel writes a few dozen
_PROLOG = 4096  # how much of each XML part is searched for a DOCTYPE (it precedes the root)


class FileRefused(KpiError):
    """The file is not something we will read; the message says what to do."""


def said(exc: BaseException) -> str:
    """What an exception says: its message (a Msg keeps its code), else its text."""
    message = exc.args[0] if len(exc.args) == 1 else None
    return message if isinstance(message, Msg) else str(exc)


def _describe(head: bytes) -> Msg:
    if head.startswith(b"%PDF"):
        return Msg("ingest_looks_pdf")
    if head.startswith(_ZIP):
        return Msg("ingest_looks_zip")
    if head.startswith(_OLE):
        return Msg("ingest_looks_ole")
    if head[:1] in (b"<",) or head.lstrip()[:5].lower() in (b"<html", b"<?xml", b"<!doc"):
        return Msg("ingest_looks_html")
    if b"\x00" in head[:4096]:
        return Msg("ingest_looks_binary")
    return Msg("ingest_looks_text")


def _mb(n: float) -> str:
    """Bytes as MB for a message: 200 MB, 3 MB, 0.06 MB (a small limit does not show as 0 MB)."""
    x = n / 2**20
    return f"{x:.0f} MB" if x >= 100 else f"{x:.2g} MB" if x < 1 else f"{x:.3g} MB"


def check_file(path: str | Path, limits: Limits | None = None) -> str:
    """'excel' or 'csv' for a file we can read; FileRefused with the reason otherwise."""
    limits = limits or Limits.from_env()
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise FileRefused(Msg("ingest_no_such_file", name=name))
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(Msg("ingest_file_empty", name=name))
    if size > limits.max_file_bytes:
        raise FileRefused(Msg("ingest_file_too_big", name=name, size=_mb(size), limit=_mb(limits.max_file_bytes)))
    ext = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(65536)
    if ext in CSV_EXTS:
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise FileRefused(Msg("ingest_not_csv", name=name, kind=_describe(head)))
        return "csv"
    if ext not in EXCEL_EXTS:
        raise FileRefused(Msg("ingest_unsupported_type", name=name, ext=ext) if ext
                          else Msg("ingest_unsupported_no_type", name=name))
    if ext == ".xls":
        if not head.startswith(_OLE):
            raise FileRefused(Msg("ingest_not_xls", name=name, kind=_describe(head)))
        return "excel"
    if head.startswith(_OLE):
        if _ENCRYPTED in _read_all_small(path, head):
            raise FileRefused(Msg("ingest_password_protected", name=name))
        raise FileRefused(Msg("ingest_old_xls_renamed", name=name, ext=ext))
    if not head.startswith(_ZIP):
        raise FileRefused(Msg("ingest_not_workbook", name=name, kind=_describe(head)))
    _check_zip(path, ext, limits)
    return "excel"


def _declares_doctype(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """The first XML part whose prolog declares a DOCTYPE or entities, else None.

    Readers here do not expand entities, but a workbook never carries a DTD, so one is refused
    with a clear message rather than failing deep inside a reader."""
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")):
            with zf.open(info) as fh:
                head = fh.read(_PROLOG).upper()
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                return info.filename
    return None


def _read_all_small(path: Path, head: bytes) -> bytes:
    # The encryption marker sits in the OLE directory, usually near the start.
    with path.open("rb") as fh:
        return fh.read(4 * 2**20)


def _check_zip(path: Path, ext: str, limits: Limits) -> None:
    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_PARTS:
                raise FileRefused(Msg("ingest_too_many_parts", name=name, parts=f"{len(infos):,}"))
            members = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            if ext == ".ods":
                manifest = zf.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in members else b""
                if b"encryption-data" in manifest:
                    raise FileRefused(Msg("ingest_password_protected_ods", name=name))
            declared = _declares_doctype(zf, infos)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileRefused(Msg("ingest_zip_damaged", name=name, detail=str(exc))) from exc
    if declared:
        raise FileRefused(Msg("ingest_part_doctype", name=name, part=declared))
    need = "content.xml" if ext == ".ods" else "xl/workbook.xml"
    if need not in members:
        raise FileRefused(Msg("ingest_zip_not_workbook", name=name, ext=ext))
    if total > limits.max_unzipped_bytes:
        raise FileRefused(Msg("ingest_zip_bomb", name=name, size=_mb(total), limit=_mb(limits.max_unzipped_bytes)))
