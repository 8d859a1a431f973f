"""Chart pieces a person can read at any width, shared by the board tiles and the cockpit: names on
category axes wrapped to the room they get (never overlapping, never dropped, never rotated), value
axes in the viewer's number words (format.axis_labels), and the status heat map.

Streamlit draws a chart as wide as its container (390 px phones to 1,400 px screens), so the width
is known only in the browser. A column label therefore carries its wrapping for several widths, and
the Vega expression picks the one that fits the band it gets: 华东销售事业部 on a wide screen,
华东销售 / 事业部 on a narrow one, one character a line (vertical, as Chinese may be written) on a
phone with many columns. The full name is always in the tooltip.
"""

from __future__ import annotations

import json
import unicodedata

import altair as alt
import pandas as pd

from kpi_core.model import display as fmt

FONT = 11          # px, axis labels
LINE = 13          # px, a label line
ELLIPSIS = "…"
# The widths (px) a column label is wrapped for; the chart uses the widest that fits its band.
BAND_WIDTHS = (11, 22, 33, 44, 56, 68, 84, 104, 130, 160, 200)
SIDE_WIDTH = 150   # px a row label (left axis) may take, in at most two lines
# A vertical value axis's title: level, over the axis's top end, never rotated (left and right axis).
AXIS_TITLE = {"left": {"titleAngle": 0, "titleAnchor": "end", "titleAlign": "right", "titleBaseline": "bottom",
                       "titleX": 0, "titleY": -12},
              "right": {"titleAngle": 0, "titleAnchor": "end", "titleAlign": "left", "titleBaseline": "bottom",
                        "titleX": 0, "titleY": -12}}
PALETTE = ["#0072B2", "#CC79A7", "#444444", "#7B5EA7"]  # lines of metrics: clear of the status colours


def text_width(text: str, font: float = FONT) -> float:
    """A text's width in px, as a sans-serif font sets it: CJK and full-width characters are square,
    the rest about 0.6 of the font size (a little more than most Latin letters)."""
    return sum(font if unicodedata.east_asian_width(ch) in "WF" else font * 0.62 for ch in text)


def clean(text: object) -> str:
    """A name fit for a label and an expression literal: no control or line-separator characters."""
    return "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in str(text)).strip()


def _tokens(text: str) -> list[str]:
    """Where a line may break: after any CJK character, and between words (a word keeps its space)."""
    out: list[str] = []
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in "WF"
        if ch == " ":
            if out:
                out[-1] += ch
        elif wide or not out or out[-1].endswith(" ") or unicodedata.east_asian_width(out[-1][-1]) in "WF":
            out.append(ch)
        else:
            out[-1] += ch
    return out


def _greedy(text: str, width: float, font: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for tok in _tokens(text):
        if line and text_width((line + tok).rstrip(), font) > width:
            lines.append(line.rstrip())
            line = ""
        line += tok
        while text_width(line.rstrip(), font) > width and len(line.rstrip()) > 1:  # a word wider than a line
            cut = len(line.rstrip())
            while cut > 1 and text_width(line[:cut], font) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def wrap(text: str, width: float, font: float = FONT, most: int = 3) -> list[str]:
    """`text` in lines at most `width` px wide, balanced (华东销售 / 事业部, not 华东销售事 / 业部), at
    most `most` lines, the last ending in … when the text does not fit."""
    text = clean(text)
    lines = _greedy(text, width, font)
    if 1 < len(lines) <= most and " " not in text:  # CJK: the narrowest width needing no more lines
        lo = max(text_width(ch, font) for ch in text)
        hi = width
        while hi - lo > 1:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if len(_greedy(text, mid, font)) <= len(lines) else (mid, hi)
        lines = _greedy(text, hi, font)
    if len(lines) > most:
        last = lines[most - 1]
        while last and text_width(last + ELLIPSIS, font) > width:
            last = last[:-1]
        lines = [*lines[:most - 1], last.rstrip() + ELLIPSIS]
    return lines


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def column_axis(names: dict[str, str], font: float = FONT) -> dict:
    """Axis properties for category labels across the top of a heat map (`names`: the field's value
    -> the name shown). Each width in BAND_WIDTHS has its own wrapping; the expression takes the
    widest that fits the band. Lines go down from where Vega puts a label, so every label of a
    width gets the same number of lines (blank ones first) and the padding lifts them over the
    cells. Nothing is rotated, dropped or allowed to overlap."""
    text = pad = ""
    last = None
    for w in BAND_WIDTHS:  # from the narrowest: each wider case wraps the ones before it
        lines = {k: wrap(v, w, font, 3 if w >= 44 else 5 if w >= 22 else 10) for k, v in names.items()}
        if lines == last:
            continue  # the same lines as a narrower width: its case covers this one
        last = lines
        n = max((len(v) for v in lines.values()), default=1)
        padded = {k: [""] * (n - len(v)) + v for k, v in lines.items()}
        this_text, this_pad = f"({_literal(padded)}[datum.value] || [datum.label])", str(3 + (n - 1) * LINE)
        fits = f"(bandwidth('x') - 6 >= {w})"
        text = f"{fits} ? {this_text} : {text}" if text else this_text
        pad = f"{fits} ? {this_pad} : {pad}" if pad else this_pad
    return {"orient": "top", "labelAngle": 0, "labelExpr": text, "labelPadding": {"expr": pad},
            "labelOverlap": False, "labelLimit": 0, "labelFlush": False, "labelFontSize": font,
            "labelLineHeight": LINE, "labelBaseline": "bottom", "ticks": False, "domain": False}


def row_axis(names: dict[str, str], width: float = SIDE_WIDTH, font: float = FONT,
             second: dict[str, str] | None = None) -> dict:
    """Axis properties for category labels down the left (`names`: value -> name): every label
    shown, wrapped to two lines of `width` px (… after), a two-line label centred on its row.
    `second` adds a line under a name (a bullet's actual / target)."""
    lines = {k: wrap(v, width, font, 2) for k, v in names.items()}
    if second:
        lines = {k: [*v, clean(second.get(k, ""))] for k, v in lines.items()}
    table = _literal(lines)
    axis = {"labelExpr": f"{table}[datum.value] || datum.label", "labelOverlap": False, "labelLimit": 0,
            "labelFontSize": font, "labelLineHeight": LINE, "ticks": False}
    tall = sorted({len(v) for v in lines.values()} - {1})
    if tall:  # Vega sets a label's lines downward from its row: lift the taller ones by half their height
        axis["labelOffset"] = {"condition": [{"test": f"length({table}[datum.value] || []) == {n}",
                                              "value": -(n - 1) * LINE / 2} for n in tall], "value": 0}
    return axis


def row_step(names: dict[str, str], one: int = 28, two: int = 34) -> int:
    """The height of a row (px): more where a name takes two lines."""
    return two if any(len(wrap(v, SIDE_WIDTH, FONT, 2)) > 1 for v in names.values()) else one


def value_axis(unit: str | None, lang: str, title: str | None, **more) -> alt.Axis:
    """A value axis in the viewer's number words, its title level at the top (never rotated)."""
    props = {**fmt.axis_labels(unit, lang), "title": title, "labelOverlap": True, **more}
    if title and props.get("orient", "left") in AXIS_TITLE:
        props.update(AXIS_TITLE[props.get("orient", "left")])
    return alt.Axis(**props)


def titled(word: str, unit: str | None, lang: str) -> str:
    """'实际（元）' / 'Actual (CNY)': an axis title with the unit, or the word alone."""
    u = fmt.unit_word(unit, lang)
    if not u:
        return word
    return f"{word}（{u}）" if lang == "zh" else f"{word} ({u})"


def heat(df: pd.DataFrame, *, col: str, row: str, col_names: dict[str, str], row_names: dict[str, str],
         colour: alt.Color, tooltip: list, pick: alt.Parameter, symbol: str = "symbol") -> alt.LayerChart:
    """A status heat map: a cell per (col, row) in its status colour with its status symbol (so
    colour is never the only cue), names wrapped to fit across the top and down the left, a row
    24 px high whatever the width."""
    base = alt.Chart(df).encode(
        x=alt.X(f"{col}:N", sort=list(col_names), title=None, axis=alt.Axis(**column_axis(col_names))),
        y=alt.Y(f"{row}:N", sort=list(row_names), title=None, axis=alt.Axis(**row_axis(row_names))))
    rect = base.mark_rect(stroke="white", strokeWidth=1.5).encode(color=colour, tooltip=tooltip).add_params(pick)
    text = base.mark_text(fontSize=12).encode(text=f"{symbol}:N")  # no tooltip: clicks go through to the cell
    return (rect + text).properties(height=alt.Step(row_step(row_names, 24, 30)))


def across(n_cols: int, n_rows: int) -> bool:
    """Whether a heat map keeps its first dimension across: yes, unless it has more than twelve
    items and the other fewer (a phone has room for about twelve narrow columns)."""
    return n_cols <= 12 or n_rows >= n_cols
