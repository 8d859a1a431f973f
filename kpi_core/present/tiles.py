"""What a board tile shows: its place (unit, period, grain) under the board's filters and any
cross-filter, its cells from the engine, and its chart as an Altair (Vega-Lite) spec.

Charts get tens to hundreds of aggregated rows, never raw data. Status colours are the
Okabe–Ito palette, so they read for colour-blind viewers; labels come in the caller's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.board import Board, Tile
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import GRAINS, parse_period
from kpi_core.present import format as fmt
from kpi_core.present.cockpit import default_period
from kpi_core.present.i18n import rule_text
from kpi_core.query.api import Cell, Query, latest_month, run
from kpi_core.query.scorecard import Scorecard, unit_scorecard
from kpi_core.store.warehouse import Warehouse

STATUS_COLOURS = {"green": "#009E73", "amber": "#E69F00", "red": "#D55E00", "no_data": "#999999",
                  "no_target": "#56B4E9"}


@dataclass(frozen=True)
class TilePlace:
    org: str
    period: str   # at the tile's grain
    grain: str
    scope: str


@dataclass
class TileData:
    place: TilePlace
    cells: list[Cell] = field(default_factory=list)
    previous: list[Cell] = field(default_factory=list)  # kpi cards: the period before
    scorecard: Scorecard | None = None  # scorecard tiles: the unit's scorecard, scored


def place_of(board: Board, tile: Tile, tree: OrgTree, today: dt.date, cross: dict | None = None,
             actor: Actor | None = None, latest: str | None = None) -> TilePlace:
    """The tile's unit, period and grain: a cross-filter, then the tile's own, then the board's.
    A unit the viewer may not read becomes the viewer's own (a shared board shows each viewer their part)."""
    cross = cross or {}
    org = cross.get("org") or tile.org or board.filters.org or tree.root
    if actor is not None and not access.can(actor, tree, "read", org):
        org = access.home(actor, tree) or org
    grain = tile.grain or board.filters.grain
    period = parse_period(cross.get("period") or board.filters.period or default_period(today, latest))
    if GRAINS.index(grain) >= GRAINS.index(period.grain):
        period = period.to(grain)
    else:  # a finer grain than the board's period: its last period at that grain
        period = period.months()[-1].to(grain)
    return TilePlace(org, period.label, grain, tile.effective_scope())


def tile_data(wh: Warehouse, board: Board, tile: Tile, tree: OrgTree, today: dt.date,
              cross: dict | None = None, actor: Actor | None = None) -> TileData:
    """The engine's cells for the tile, within what `actor` may read."""
    place = place_of(board, tile, tree, today, cross, actor, latest_month(wh, today))
    out = TileData(place)
    if tile.type == "scorecard":  # the unit's own (or inherited) scorecard and its cells
        out.scorecard = unit_scorecard(wh, tree, place.org, place.period, actor=actor, today=today)
        if out.scorecard.codes:
            out.cells = run(wh, Query(tuple(out.scorecard.codes), place.org, "self", place.grain, place.period,
                                      place.period), today=today, actor=actor).cells
        return out
    if tile.type == "text" or not tile.metrics:
        return out
    p = parse_period(place.period)
    first = p.shift(-(tile.periods - 1)) if tile.type == "trend" else p
    out.cells = run(wh, Query(tuple(tile.metrics), place.org, place.scope, place.grain, first.label, p.label),
                    today=today, actor=actor).cells
    if tile.type == "kpi_card":
        prev = p.shift(-1).label
        out.previous = run(wh, Query(tuple(tile.metrics), place.org, place.scope, place.grain, prev, prev),
                           today=today, actor=actor).cells
    return out


def frame(data: TileData, metrics: dict[str, Metric], tree: OrgTree, lang: str = "zh") -> pd.DataFrame:
    """The tile's cells as a tidy table with display texts (no None/NaN shown)."""
    rows = []
    for c in data.cells:
        m = metrics[c.metric]
        unit = tree.units.get(c.org)
        rows.append({"metric": m.display_name(lang), "code": c.metric, "org": c.org,
                     "unit": unit.name if unit else c.org, "period": c.period, "actual": c.actual,
                     "target": c.target, "attainment": c.attainment, "status": c.status, "score": c.score,
                     "actual_text": fmt.value(c.actual, m.unit, lang), "target_text": fmt.value(c.target, m.unit, lang),
                     "attainment_text": fmt.attainment(c.attainment), "rule": rule_text(c.rule, lang)})
    return pd.DataFrame(rows)


def ranking(df: pd.DataFrame, tile: Tile) -> pd.DataFrame:
    """Top (or bottom) N units by attainment, units without one last."""
    ranked = df.dropna(subset=["attainment"]).sort_values("attainment", ascending=tile.ascending)
    return ranked.head(tile.top)


def _status_colour() -> alt.Color:
    return alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
                     legend=None)


def chart(tile: Tile, df: pd.DataFrame, labels: dict[str, str]) -> alt.Chart | None:
    """The tile's Vega-Lite chart, or None for tiles drawn as widgets (cards, tables, text).

    `labels` holds the axis and tooltip words in the viewer's language."""
    if df.empty or tile.type in ("kpi_card", "table", "text", "scorecard"):
        return None
    tip = [alt.Tooltip("unit:N", title=labels["unit"]), alt.Tooltip("metric:N", title=labels["metric"]),
           alt.Tooltip("period:N", title=labels["period"]), alt.Tooltip("actual_text:N", title=labels["actual"]),
           alt.Tooltip("target_text:N", title=labels["target"]),
           alt.Tooltip("attainment_text:N", title=labels["attainment"])]
    if tile.type == "trend":
        pick = alt.selection_point(fields=["period"], name="period")
        base = alt.Chart(df).encode(x=alt.X("period:N", title=None, sort=None))
        actual = base.mark_line(point=True).encode(
            y=alt.Y("actual:Q", title=labels["actual"], axis=alt.Axis(format="~s")),
            color=alt.Color("metric:N", title=None), tooltip=tip).add_params(pick)
        target = base.mark_line(strokeDash=[6, 4], opacity=0.7).encode(
            y="target:Q", color=alt.Color("metric:N", title=None), tooltip=tip)
        return (actual + target).properties(height=240)
    if tile.type == "bar_by_org":
        pick = alt.selection_point(fields=["org"], name="org")
        bars = alt.Chart(df).mark_bar().encode(
            x=alt.X("unit:N", title=None, sort=None, axis=alt.Axis(labelAngle=-30, labelLimit=120, labelOverlap=False)),
            y=alt.Y("actual:Q", title=labels["actual"], axis=alt.Axis(format="~s")), xOffset="metric:N",
            color=_status_colour(),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)), tooltip=tip).add_params(pick)
        ticks = alt.Chart(df).mark_tick(color="#333", thickness=2).encode(
            x=alt.X("unit:N", sort=None), xOffset="metric:N", y="target:Q", tooltip=tip)
        return (bars + ticks).properties(height=240)
    if tile.type == "ranking":
        pick = alt.selection_point(fields=["org"], name="org")
        return alt.Chart(df).mark_bar().encode(
            y=alt.Y("unit:N", title=None, sort=None), x=alt.X("attainment:Q", title=labels["attainment"],
                                                              axis=alt.Axis(format="%")),
            color=_status_colour(), tooltip=tip).add_params(pick).properties(height=max(120, 26 * len(df)))
    if tile.type == "heatmap":
        pick = alt.selection_point(fields=["org"], name="org")
        sym = {"green": "✔", "amber": "▲", "red": "✖", "no_data": "○", "no_target": "–"}
        df = df.assign(symbol=df["status"].map(sym))
        base = alt.Chart(df).encode(x=alt.X("unit:N", title=None, sort=None, axis=alt.Axis(orient="top", labelAngle=0,
                                                                                          labelLimit=100)),
                                    y=alt.Y("metric:N", title=None, sort=None))
        rect = base.mark_rect(stroke="white").encode(color=_status_colour(), tooltip=tip).add_params(pick)
        return (rect + base.mark_text(fontSize=11).encode(text="symbol:N")).properties(
            height=24 * df["metric"].nunique() + 40)
    if tile.type == "bullet":
        # Bands: the target's amber zone (90–100 %) and beyond; the bar is the actual, the tick the target.
        d = df.assign(amber_from=df["target"] * 0.9)
        base = alt.Chart(d).encode(y=alt.Y("metric:N", title=None, sort=None))
        band = base.mark_bar(color="#e8e8e8", size=22).encode(x=alt.X("target:Q", title=None))
        amber = base.mark_bar(color="#f6e3b4", size=22).encode(x="amber_from:Q", x2="target:Q")
        bar = base.mark_bar(size=9).encode(x="actual:Q", color=_status_colour(), tooltip=tip)
        tick = base.mark_tick(color="#222", thickness=2, size=22).encode(x="target:Q", tooltip=tip)
        return (band + amber + bar + tick).properties(height=34 * len(d) + 20)
    if tile.type == "gauge":
        row = df.iloc[-1]
        share = min(max(float(row["attainment"]) if pd.notna(row["attainment"]) else 0.0, 0.0), 1.2) / 1.2
        arc = pd.DataFrame({"part": ["done", "rest"], "value": [share, 1 - share],
                            "status": [row["status"], "no_data"]})
        ring = alt.Chart(arc).mark_arc(innerRadius=60, outerRadius=90).encode(
            theta=alt.Theta("value:Q", stack=True), color=_status_colour(), order="part:N")
        text = alt.Chart(pd.DataFrame({"t": [row["attainment_text"]]})).mark_text(fontSize=22).encode(text="t:N")
        return (ring + text).properties(height=200)
    return None


def spec(tile: Tile, df: pd.DataFrame, labels: dict[str, str]) -> dict | None:
    """The chart as a Vega-Lite dict, built without Altair's schema validation (about 70 ms a
    chart; the tests validate every tile type's spec instead)."""
    with alt.utils.schemapi.debug_mode(False):
        built = chart(tile, df, labels)
        return None if built is None else built.to_dict(validate=False)


def last_loaded(wh: Warehouse) -> tuple[str | None, str | None]:
    """(the newest batch time, the latest period with actuals): the tiles' freshness line."""
    with wh.connect() as con:
        at = con.execute("SELECT max(created_at) FROM batch WHERE status = 'loaded'").fetchall()[0][0]
        latest = con.execute("SELECT max(period) FROM actual WHERE regexp_full_match(period, '\\d{4}-\\d{2}')"
                             ).fetchall()[0][0]
    return (at.isoformat() if at else None), latest


def freshness(at_iso: str | None, now: dt.datetime, lang: str = "zh") -> str:
    """'3 分钟前更新' / 'updated 3 min ago'."""
    if not at_iso:
        return "—"
    at = dt.datetime.fromisoformat(at_iso)
    secs = max(0, int((now - at).total_seconds()))
    for size, code in ((86400, "present_updated_days_ago"), (3600, "present_updated_hours_ago"),
                       (60, "present_updated_minutes_ago")):
        if secs >= size:
            return Msg(code, n=secs // size).render(lang)
    return Msg("present_updated_just_now").render(lang)

