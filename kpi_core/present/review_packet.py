"""A person's or unit's review packet (SPEC §10) as an Excel workbook and a PDF: the cycle, the
KPI scorecard (frozen figures once closed, a restatement beside them), the ratings as the reader
may see them (peers and reports only as averages), the overall result and the grades. Built from
services.review_results.packet's plain data; Chinese in the PDF with an embedded CJK font."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font

from kpi_core.model import display as fmt
from kpi_core.model.config import cjk_font
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.safe_export import neutralise


def _t(code: str, lang: str, **kw) -> str:
    return Msg(code, **kw).render(lang)


def summary_lines(p: dict, lang: str) -> list[tuple[str, str]]:
    """(label, value) lines at the top of a packet."""
    c = p["cycle"]
    dash = fmt.DASH
    state = _t(f"review_state_{c['state']}", lang)
    lines = [(_t("review_packet_cycle", lang), f"{c['name']} · {c['period']} · {state}"),
             (_t("review_col_org", lang), f"{p['subject']} {p['name']}"),
             (_t("review_col_score", lang), f"{fmt.score(p['score'])} ({p['grade'] or dash})")]
    if p["person"]:
        lines += [(_t("review_col_ratings", lang), fmt.score(p["ratings"]))]
    lines += [(_t("review_col_overall", lang), f"{fmt.score(p['overall'])} ({p['overall_grade'] or dash})"),
              (_t("review_col_final_grade", lang), p["final_grade"] or dash)]
    if p["potential"]:
        lines.append((_t("review_col_potential", lang), _t(f"review_potential_{p['potential']}", lang)))
    if p["incentive"] is not None:
        lines.append((_t("review_col_incentive", lang), f"{p['incentive']:g}"))
    if p["calibration_reason"]:
        lines.append((_t("review_packet_reason", lang), p["calibration_reason"]))
    if p["frozen"]:
        lines.append((_t("review_packet_batches", lang), ", ".join(map(str, p["batches"])) or dash))
    return lines


def kpi_rows(p: dict, lang: str) -> list[list[str]]:
    """The scorecard's lines: metric, weight, actual, target, score, status (and now, if restated)."""
    out = []
    for it in p["items"]:
        now = it.get("now")
        out.append([it["name"], f"{it['weight']:g}", fmt.value(it["actual"], it["unit"], lang),
                    fmt.value(it["target"], it["unit"], lang), fmt.score(it["score"]),
                    _t(f"alert_status_word_{it['status']}", lang),
                    _t("review_packet_restated", lang, actual=fmt.value(now["actual"], it["unit"], lang))
                    if now else ""])
    return out


def rating_rows(p: dict, lang: str) -> list[list[str]]:
    """Each kind of rating: its average and per competency, or that too few answered to show it."""
    out = []
    for k in p["kinds"]:
        kind = _t(f"review_kind_{k['kind']}", lang)
        if k["hidden"]:
            out.append([kind, _t("review_packet_too_few", lang), ""])
            continue
        if k["average"] is None:
            out.append([kind, _t("review_packet_none_yet", lang), ""])
            continue
        comps = "; ".join(f"{name} {score:.1f}" for name, score in k["by_competency"])
        out.append([kind, f"{k['average']:.2f}", comps])
    return out


def comment_rows(p: dict, lang: str) -> list[list[str]]:
    return [[_t(f"review_kind_{k['kind']}", lang), c] for k in p["kinds"] if not k["hidden"] for c in k["comments"]]


def feedback_rows(p: dict, lang: str) -> list[list[str]]:
    """The meeting notes and the improvement plan's items (title, owner, follow-up date, status)."""
    rows = [[_t("review_packet_note", lang), n] for n in p.get("notes", [])]
    for it in p.get("plan", []):
        said = _t("review_packet_plan_item", lang, title=it["title"], owner=it["owner"], due=it["due"],
                  status=_t(f"review_packet_action_{it['status']}", lang))
        rows.append([_t("review_packet_plan", lang), said + (f" — {it['note']}" if it["note"] else "")])
    return rows


KPI_HEAD = ("review_packet_metric", "review_packet_weight", "review_packet_actual", "review_packet_target",
            "review_col_score", "review_packet_status", "review_packet_since")
RATING_HEAD = ("review_packet_kind", "review_packet_average", "review_packet_by_competency")
COMMENT_HEAD = ("review_packet_kind", "review_packet_comment")
FEEDBACK_HEAD = ("review_packet_what", "review_packet_text")


def xlsx(p: dict, lang: str) -> bytes:
    """The packet as a workbook: summary, KPIs, ratings and comments, formula-safe."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _t("review_packet_summary", lang)[:31]
    ws.append([neutralise(_t("review_packet_title", lang, name=p["name"], cycle=p["cycle"]["name"]))])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in summary_lines(p, lang):
        ws.append([label, neutralise(value)])
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 18, 60
    for title, head, rows, widths in (
            ("review_packet_kpis", KPI_HEAD, kpi_rows(p, lang), (24, 8, 16, 16, 10, 10, 24)),
            ("review_packet_ratings", RATING_HEAD, rating_rows(p, lang), (12, 18, 60)),
            ("review_packet_comments", COMMENT_HEAD, comment_rows(p, lang), (12, 80)),
            ("review_packet_feedback", FEEDBACK_HEAD, feedback_rows(p, lang), (14, 90))):
        sheet = wb.create_sheet(_t(title, lang)[:31])
        sheet.append([_t(h, lang) for h in head])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([neutralise(v) for v in row])
        for i, width in enumerate(widths):
            sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pdf(p: dict, lang: str) -> bytes:
    """The packet as an A4 PDF with the CJK font embedded (subset); refused in words without one."""
    from fpdf import FPDF  # 0.3 s to import: only when a PDF is asked for
    from fpdf.fonts import FontFace

    font = cjk_font()
    if font is None:
        raise KpiError(Msg("review_pdf_no_font"))
    doc = FPDF(format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.add_font("cjk", fname=str(font[0]), collection_font_number=font[1])
    doc.set_title(_t("review_packet_title", lang, name=p["name"], cycle=p["cycle"]["name"]))
    doc.add_page()
    doc.set_font("cjk", size=16)
    doc.multi_cell(0, 10, _t("review_packet_title", lang, name=p["name"], cycle=p["cycle"]["name"]))
    doc.set_font("cjk", size=10)
    head = FontFace(fill_color=(235, 238, 243))
    with doc.table(col_widths=(40, 140), first_row_as_headings=False, text_align="LEFT") as table:
        for label, value in summary_lines(p, lang):
            table.row([label, value])
    for title, header, rows, widths in (
            ("review_packet_kpis", KPI_HEAD, kpi_rows(p, lang), (44, 14, 28, 28, 18, 16, 32)),
            ("review_packet_ratings", RATING_HEAD, rating_rows(p, lang), (26, 44, 110)),
            ("review_packet_comments", COMMENT_HEAD, comment_rows(p, lang), (26, 154)),
            ("review_packet_feedback", FEEDBACK_HEAD, feedback_rows(p, lang), (26, 154))):
        doc.ln(4)
        doc.set_font("cjk", size=12)
        doc.cell(0, 8, _t(title, lang), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("cjk", size=9)
        with doc.table(col_widths=widths, headings_style=head, text_align="LEFT") as table:
            table.row([_t(h, lang) for h in header])
            for row in rows or [[fmt.DASH] + [""] * (len(header) - 1)]:
                table.row([str(v) for v in row])
    return bytes(doc.output())
