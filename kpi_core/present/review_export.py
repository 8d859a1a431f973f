"""A review cycle's results as a workbook for payroll and the review meeting: one row per unit
and person the reader may see, headers in the reader's language, no cell a spreadsheet would run
as a formula. Anonymous kinds appear only as averages (None below the floor: an empty cell)."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font

from kpi_core.model.messages import Msg
from kpi_core.model.safe_export import neutralise

COLUMNS = ("org", "name", "score", "grade", "rating_self", "rating_manager", "rating_peer", "rating_report",
           "ratings", "overall", "overall_grade", "final_grade", "potential", "incentive")
WIDTHS = (14, 18, 10, 8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10)


def workbook(cycle: dict, rows: list[dict], lang: str) -> bytes:
    """The results sheet (frozen figures for a closed cycle) with the cycle named above it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = Msg("review_sheet_results").render(lang)[:31]
    ws.append([neutralise(Msg("review_sheet_title", name=cycle["name"], period=cycle["period"], org=cycle["org"],
                              state=Msg(f"review_state_{cycle['state']}")).render(lang))])
    ws.append([Msg(f"review_col_{c}").render(lang) for c in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_cell(c, r.get(c), lang) for c in COLUMNS])
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = width
    ws.freeze_panes = "C3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(column: str, value: object, lang: str) -> object:
    if value is None:
        return None
    if column == "potential":
        return Msg(f"review_potential_{value}").render(lang)
    if isinstance(value, float):
        return round(value, 2 if column == "incentive" else 1)
    return neutralise(value)
