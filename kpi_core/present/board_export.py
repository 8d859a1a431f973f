"""A board exported: a formatted Excel workbook (one sheet per tile, status colours) and each
chart as PNG or SVG (vl-convert renders Vega-Lite without a browser; CJK fonts come from the
system)."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

from kpi_core.model.access import Actor
from kpi_core.model.board import Board, Tile
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.safe_export import neutralise
from kpi_core.present import forecast_tile
from kpi_core.present.i18n import t
from kpi_core.present.tiles import chart, frame, ranking, tile_data
from kpi_core.store.warehouse import Warehouse

FILLS = {"green": "D5F0E7", "amber": "FBEBC7", "red": "F8D9C9", "no_data": "EEEEEE", "no_target": "DCEFFA"}
HEAD = ("org_unit", "metric", "period", "actual", "target", "attainment", "status", "rule")  # ui_* texts


def _sheet_name(tile: Tile, i: int, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", tile.title or f"{i + 1} {tile.type}")[:28].strip() or f"tile {i + 1}"
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]} {n}", n + 1
    used.add(name)
    return name


def workbook(wh: Warehouse, board: Board, tree: OrgTree, metrics: dict[str, Metric], today: dt.date,
             lang: str = "zh", actor: Actor | None = None) -> bytes:
    """The board as an xlsx: a cover sheet, then one sheet per tile (what `actor` may read)."""
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "board"
    cover["A1"] = neutralise(board.title)
    cover["A1"].font = Font(bold=True, size=14)
    cover["A2"] = f"{board.code} · {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    used = {"board"}
    for i, tile in enumerate(board.ordered_tiles()):
        ws = wb.create_sheet(_sheet_name(tile, i, used))
        ws["A1"] = neutralise(tile.title or tile.type)
        ws["A1"].font = Font(bold=True)
        if tile.type == "text":
            ws["A3"] = neutralise(tile.text or "")
            ws["A3"].alignment = Alignment(wrap_text=True, vertical="top")
            ws.column_dimensions["A"].width = 100
            continue
        data = tile_data(wh, board, tile, tree, today, actor=actor)
        if data.forecast is not None:  # the forecast's fields, then its path period by period
            f, m = data.forecast, metrics[data.forecast.metric]
            unit = tree.units[f.org].name if f.org in tree.units else f.org
            fields = forecast_tile.fields(f, m, unit, lang)
            for r, (label, v, form) in enumerate(fields, start=3):
                ws.cell(row=r, column=1, value=neutralise(label)).font = Font(bold=True)
                cell = ws.cell(row=r, column=2, value=neutralise(v))
                if form and isinstance(v, float):
                    cell.number_format = form
            top = 3 + len(fields) + 1  # a blank row between
            for j, k in enumerate(("period", "fc_kind", "fc_value", "fc_low", "fc_high"), start=1):
                ws.cell(row=top, column=j, value=t(k, lang)).font = Font(bold=True)
            for r, step in enumerate(forecast_tile.frame(f, m, lang).itertuples(index=False), start=top + 1):
                for j, v in enumerate((step.period, step.kind, step.value, step.low, step.high), start=1):
                    ws.cell(row=r, column=j, value=neutralise(None if v != v else v))  # NaN -> empty
            for col, width in zip("ABCDE", (24, 40, 16, 16, 16), strict=True):
                ws.column_dimensions[col].width = width
            continue
        df = frame(data, metrics, tree, lang)
        if tile.type == "ranking" and not df.empty:
            df = ranking(df, tile)
        for j, text in enumerate((t(k, lang) for k in HEAD), start=1):
            cell = ws.cell(row=3, column=j, value=text)
            cell.font = Font(bold=True)
        for r, row in enumerate(df.itertuples(index=False), start=4):
            values = [row.unit, row.metric, row.period, row.actual, row.target, row.attainment,
                      t(f"status_{row.status}", lang), row.rule]
            for j, v in enumerate(values, start=1):
                cell = ws.cell(row=r, column=j, value=neutralise(None if v != v else v))  # NaN -> empty
                if j == 6 and isinstance(v, float):
                    cell.number_format = "0.0%"
            ws.cell(row=r, column=7).fill = PatternFill("solid", fgColor=FILLS[row.status])
        for col, width in zip("ABCDEFGH", (22, 22, 10, 16, 16, 11, 10, 48), strict=True):
            ws.column_dimensions[col].width = width
        ws.freeze_panes = "A4"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def chart_image(wh: Warehouse, board: Board, tile: Tile, tree: OrgTree, metrics: dict[str, Metric],
                today: dt.date, kind: str = "svg", lang: str = "zh", actor: Actor | None = None) -> bytes | None:
    """The tile's chart as SVG or PNG bytes; None for tiles without a chart."""
    import vl_convert as vlc

    df = frame(tile_data(wh, board, tile, tree, today, actor=actor), metrics, tree, lang)
    if tile.type == "ranking" and not df.empty:
        df = ranking(df, tile)
    words = {k: t("org_unit" if k == "unit" else k, lang)
             for k in ("unit", "metric", "period", "actual", "target", "attainment")}
    spec = chart(tile, df, words)
    if spec is None:
        return None
    spec = spec.properties(title=tile.title or "", width=520)
    if kind == "png":
        return vlc.vegalite_to_png(spec.to_json(), scale=2)
    return vlc.vegalite_to_svg(spec.to_json()).encode("utf-8")


def board_image(wh: Warehouse, board: Board, tree: OrgTree, metrics: dict[str, Metric], today: dt.date,
                lang: str = "zh", actor: Actor | None = None) -> bytes | None:
    """The board's charts, one under another, as one PNG (None for a board without charts). Each
    chart is drawn on its own (tile specs carry their own sizing) and the images are stacked."""
    import altair as alt
    import vl_convert as vlc
    from PIL import Image

    words = {k: t("org_unit" if k == "unit" else k, lang)
             for k in ("unit", "metric", "period", "actual", "target", "attainment")}
    images = []
    for tile in board.ordered_tiles():
        if tile.type in ("text", "table", "scorecard"):
            continue
        df = frame(tile_data(wh, board, tile, tree, today, actor=actor), metrics, tree, lang)
        if tile.type == "ranking" and not df.empty:
            df = ranking(df, tile)
        c = chart(tile, df, words, lang)
        if c is None:
            continue
        with alt.utils.schemapi.debug_mode(False):
            spec = c.properties(title=tile.title or "", width=520).to_dict(validate=False)
        images.append(Image.open(io.BytesIO(vlc.vegalite_to_png(spec, scale=1))).convert("RGB"))
    if not images:
        return None
    sheet = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    y = 0
    for img in images:
        sheet.paste(img, (0, y))
        y += img.height
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=True)
    return out.getvalue()
