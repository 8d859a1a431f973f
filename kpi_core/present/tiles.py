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
from kpi_core.model import display as fmt
from kpi_core.model.access import Actor
from kpi_core.model.board import Board, Tile
from kpi_core.model.messages import Msg, catalog
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import GRAINS, parse_period
from kpi_core.present import charts, forecast_tile
from kpi_core.present.cockpit import default_period
from kpi_core.present.i18n import rule_text
from kpi_core.query.api import Cell, Query, latest_month, run
from kpi_core.query.forecast import Forecast, forecast
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
    forecast: Forecast | None = None    # forecast tiles: the metric's forecast to the period's end


def place_of(board: Board, tile: Tile, tree: OrgTree, today: dt.date, cross: dict | None = None,
             actor: Actor | None = None, latest: str | None = None) -> TilePlace:
    """The tile's unit, period and grain: a cross-filter, then the tile's own, then the board's.
    A unit the viewer may not read becomes the viewer's own (a shared board shows each viewer their part)."""
    cross = cross or {}
    org = cross.get("org") or tile.org or board.filters.org or tree.root
    if actor is not None and not access.can(actor, tree, "read", org):
        org = access.home(actor, tree) or org
    grain = tile.grain or board.filters.grain
    if tile.type == "forecast" and tile.grain is None and grain == "month":
        grain = "quarter"  # a month is over once its value is in: a forecast is for the quarter in progress
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
    if tile.type == "forecast":  # kept per data version by the query API (a cold one takes 0.1–1.7 s)
        out.forecast = forecast(wh, tile.metrics[0], place.org, place.period, today=today, actor=actor)
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
    """The tile's cells as a tidy table with display texts (no None/NaN shown), and what its chart
    needs to write the numbers: each metric's unit, direction and thresholds, and the language.
    A forecast tile's frame is its forecast's path (forecast_tile.frame)."""
    if data.forecast is not None:
        return forecast_tile.frame(data.forecast, metrics[data.forecast.metric], lang)
    rows = []
    for c in data.cells:
        m = metrics[c.metric]
        unit = tree.units.get(c.org)
        rows.append({"metric": m.display_name(lang), "code": c.metric, "org": c.org,
                     "unit": unit.name if unit else c.org, "period": c.period, "actual": c.actual,
                     "target": c.target, "attainment": c.attainment, "status": c.status, "score": c.score,
                     "actual_text": fmt.value(c.actual, m.unit, lang), "target_text": fmt.value(c.target, m.unit, lang),
                     "attainment_text": fmt.attainment(c.attainment), "rule": rule_text(c.rule, lang),
                     "metric_unit": m.unit or "", "direction": m.direction, "amber": m.thresholds.amber,
                     "green": m.thresholds.green, "lang": lang})
    return pd.DataFrame(rows)


def ranking(df: pd.DataFrame, tile: Tile) -> pd.DataFrame:
    """Top (or bottom) N units by attainment, units without one last."""
    ranked = df.dropna(subset=["attainment"]).sort_values("attainment", ascending=tile.ascending)
    return ranked.head(tile.top)


SYMBOLS = {"green": "✔", "amber": "▲", "red": "✖", "no_data": "○", "no_target": "–"}


def _status_colour() -> alt.Color:
    return alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
                     legend=None)


def _word(code: str, lang: str) -> str:
    return catalog(lang)[code]


def _axis_unit(unit: str) -> str:
    """Metrics that share a value axis: the same kind of unit (any currency sign is one, ¥)."""
    u = (unit or "").strip()
    return "%" if fmt.is_percent(u) else "money" if fmt.is_money(u) else u


def _one_unit(df: pd.DataFrame) -> str | None:
    """The metrics' unit when they share one axis, else None."""
    kinds = {_axis_unit(u) for u in df["metric_unit"]}
    return df["metric_unit"].iloc[0] if len(kinds) == 1 else None


def _names(df: pd.DataFrame, key: str, name: str) -> dict[str, str]:
    return dict(zip(df[key].astype(str), df[name].astype(str), strict=True))


def chart(tile: Tile, df: pd.DataFrame, labels: dict[str, str], lang: str | None = None) -> alt.Chart | None:
    """The tile's Vega-Lite chart, or None for tiles drawn as widgets (cards, tables, text).

    `labels` holds the axis and tooltip words in the viewer's language; numbers on the axes follow
    `lang` (the frame's language when not given): 万/亿 in Chinese, K/M/B in English, % for rates."""
    if df.empty or tile.type in ("kpi_card", "table", "text", "scorecard"):
        return None
    lang = lang or (str(df["lang"].iloc[0]) if "lang" in df else "zh")
    fit = alt.AutoSizeParams(type="fit-x", contains="padding")
    if tile.type == "forecast":  # the path to the period end in its band, and the target
        built = forecast_tile.chart(df, str(df["metric_unit"].iloc[0]), lang)
        return None if built is None else built.properties(autosize=fit)
    df = df.assign(metric_unit=df["metric_unit"] if "metric_unit" in df else "",
                   symbol=df["status"].map(SYMBOLS).fillna(""))
    tip = [alt.Tooltip("unit:N", title=labels["unit"]), alt.Tooltip("metric:N", title=labels["metric"]),
           alt.Tooltip("period:N", title=labels["period"]), alt.Tooltip("actual_text:N", title=labels["actual"]),
           alt.Tooltip("target_text:N", title=labels["target"]),
           alt.Tooltip("attainment_text:N", title=labels["attainment"])]
    build = {"trend": _trend, "bar_by_org": _bars, "ranking": _ranking, "heatmap": _heat, "bullet": _bullet,
             "gauge": _gauge}.get(tile.type)
    if build is None:
        return None
    # As wide as the tile, as tall as its rows need: Streamlit's default ("fit") would squeeze the
    # plot into a fixed height with the legends and labels inside it.
    return build(df, labels, lang, tip).properties(autosize=fit)


def _legend(**more) -> alt.Legend:
    return alt.Legend(orient="top", direction="horizontal", title=None, labelLimit=280, symbolStrokeWidth=2, **more)


def _trend(df: pd.DataFrame, labels: dict, lang: str, tip: list) -> alt.LayerChart:
    """Lines over the periods, the target dashed. Metrics of two kinds of unit get an axis each (left
    and right); of more kinds, every line is its attainment on one % axis."""
    kinds = list(dict.fromkeys(_axis_unit(u) for u in df["metric_unit"]))
    series = [labels["actual"], labels["target"]]
    long = pd.concat([df.assign(series=series[0], value=df["actual"]), df.assign(series=series[1], value=df["target"])])
    by_attainment = len(kinds) > 2
    if by_attainment:  # one % axis: each metric against its own target
        long = pd.concat([df.assign(series=series[0], value=df["attainment"]),
                          df.assign(series=series[1], value=df["target"].where(df["target"].isna(), 1.0))])
        long["metric_unit"], kinds = "%", ["%"]
    names = list(dict.fromkeys(df["metric"]))
    colour_of = dict(zip(names, charts.PALETTE * 10, strict=False))
    colour = alt.Color("metric:N", scale=alt.Scale(domain=names, range=charts.PALETTE),
                       legend=_legend(columns=1) if len(names) > 1 else None)  # a line a name: fits a phone
    dash = alt.StrokeDash("series:N", scale=alt.Scale(domain=series, range=[[1, 0], [5, 4]]),
                          legend=alt.Legend(orient="bottom", direction="horizontal", title=None, symbolType="stroke"))
    x = alt.X("period:N", title=None, sort=None, axis=alt.Axis(labelAngle=0, labelOverlap="greedy", labelFlush=False))
    pick = alt.selection_point(fields=["period"], name="period", nearest=True, on="click")
    layers = []
    for i, kind in enumerate(kinds):
        part = long[long["metric_unit"].map(_axis_unit) == kind]
        unit = part["metric_unit"].iloc[0]
        word = labels["attainment"] if by_attainment else charts.titled(labels["actual"], unit, lang)
        own = list(dict.fromkeys(part["metric"]))  # one metric on an axis of two: the axis in its colour
        tint = {"labelColor": colour_of[own[0]], "titleColor": colour_of[own[0]]} if len(kinds) > 1 and len(own) == 1 \
            else {}
        # From near the values, not from zero: the line against its target is the story (1,020 vs 1,031 people)
        y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False, nice=True),
                  axis=charts.value_axis(unit, lang, word, orient="left" if i == 0 else "right", **tint))
        base = alt.Chart(part).encode(x=x, y=y, color=colour)
        lines = base.mark_line(strokeWidth=2).encode(strokeDash=dash, detail="metric:N")
        points = base.transform_filter(alt.datum.series == series[0]).mark_point(filled=True, size=45).encode(
            tooltip=tip)
        if i == 0:
            points = points.add_params(pick)
        layers.append(lines + points)
    chart = alt.layer(*layers)
    if len(layers) > 1:
        chart = chart.resolve_scale(y="independent")
    return chart.properties(height=260)


def _bars(df: pd.DataFrame, labels: dict, lang: str, tip: list) -> alt.LayerChart:
    """A bar per unit (and metric), names down the left so each reads whole; the target a tick.
    Metrics of different units are compared by attainment (% of target) on one axis."""
    unit = _one_unit(df)
    several = df["code"].nunique() > 1
    if unit is None:
        d = df.assign(value=df["attainment"], mark=1.0, shown=df["attainment_text"])
        axis = charts.value_axis("%", lang, labels["attainment"], orient="top")
    else:
        d = df.assign(value=df["actual"], mark=df["target"], shown=df["actual_text"])
        axis = charts.value_axis(unit, lang, charts.titled(labels["actual"], unit, lang), orient="top")
    d = d.assign(label=(d["metric"] + " " if several else "") + d["symbol"] + " " + d["shown"],
                 text_at=d[["value", "mark"]].max(axis=1).fillna(0))  # after the target's tick, not through it
    units = _names(d, "org", "unit")
    pick = alt.selection_point(fields=["org"], name="org")
    y = alt.Y("org:N", sort=list(units), title=None, axis=alt.Axis(**charts.row_axis(units)))
    offset = {"yOffset": alt.YOffset("metric:N", sort=list(dict.fromkeys(d["metric"])))} if several else {}
    base = alt.Chart(d).encode(y=y, **offset)
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.8} if several else {"band": 0.7}).encode(
        x=alt.X("value:Q", title=None, axis=axis), color=_status_colour(),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)), tooltip=tip).add_params(pick)
    ticks = base.mark_tick(color="#333", thickness=2).encode(x="mark:Q", tooltip=tip)
    text = base.mark_text(align="left", dx=5, fontSize=11).encode(x="text_at:Q", text="label:N")
    # A row a unit (28 px), or with several metrics a sub-row a metric (18 px) in each unit's row.
    return (bars + ticks + text).properties(height=alt.Step(18) if several else alt.Step(charts.row_step(units)))


def _ranking(df: pd.DataFrame, labels: dict, lang: str, tip: list) -> alt.LayerChart:
    """Units by attainment, every name shown whole on the left, the value at the bar's end, 100 % marked."""
    d = df.assign(shown=df["attainment"].clip(lower=0), label=df["symbol"] + " " + df["attainment_text"])
    top = float(max(1.2, d["shown"].max() * 1.1))
    units = _names(d, "org", "unit")
    pick = alt.selection_point(fields=["org"], name="org")
    y = alt.Y("org:N", sort=list(units), title=None, axis=alt.Axis(**charts.row_axis(units)))
    x = alt.X("shown:Q", title=None, scale=alt.Scale(domain=[0, top], nice=False),
              axis=charts.value_axis("%", lang, labels["attainment"], orient="top"))
    base = alt.Chart(d).encode(y=y)
    bars = base.mark_bar(cornerRadiusEnd=2, height={"band": 0.7}).encode(
        x=x, color=_status_colour(), opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
        tooltip=tip).add_params(pick)
    long = alt.datum.shown >= 0.3 * top  # the figure inside a long bar's end, after a short one
    inside = base.transform_filter(long).mark_text(align="right", dx=-5, fontSize=11, color="#111").encode(
        x="shown:Q", text="label:N")  # no tooltip: a click goes through to the bar
    outside = base.transform_filter(~long).mark_text(align="left", dx=5, fontSize=11).encode(
        x="shown:Q", text="label:N")  # no tooltip: a click goes through to the bar
    goal = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color="#555").encode(x="x:Q")
    return (goal + bars + inside + outside).properties(height=alt.Step(charts.row_step(units)))


def _heat(df: pd.DataFrame, labels: dict, lang: str, tip: list) -> alt.LayerChart:
    """Units across and metrics down (turned round when there are many units and few metrics)."""
    units, metrics = _names(df, "org", "unit"), _names(df, "code", "metric")
    pick = alt.selection_point(fields=["org"], name="org")
    cols, rows = ("org", "code") if charts.across(len(units), len(metrics)) else ("code", "org")
    names = {"org": units, "code": metrics}
    return charts.heat(df, col=cols, row=rows, col_names=names[cols], row_names=names[rows],
                       colour=_status_colour(), tooltip=tip, pick=pick)


def _bullet(df: pd.DataFrame, labels: dict, lang: str, tip: list) -> alt.LayerChart:
    """A row per metric, each as a share of its own target (so ¥ and counts never share a scale):
    the bar the actual, the tick the target (100 %), the bands where the status turns amber and
    green. The row says the actual and the target in the metric's own unit."""
    ok = df["target"].notna() & (df["target"] > 0) & df["actual"].notna()
    d = df.assign(ratio=(df["actual"] / df["target"]).where(ok), goal=pd.Series(1.0, index=df.index).where(ok))
    top = float(min(max(1.2, (d["ratio"].max() if d["ratio"].notna().any() else 1.0) * 1.08), 2.0))
    # attainment is the ratio (higher is better) or 2 - ratio (lower is better): where it turns amber, and green
    lower = d["direction"] == "lower_is_better"
    d = d.assign(amber_lo=(2 - d["green"]).where(lower, d["amber"]), amber_hi=(2 - d["amber"]).where(lower, d["green"]),
                 green_lo=d["green"].where(~lower, 0.0), green_hi=(2 - d["green"]).where(lower, top))
    d.loc[d["direction"] == "in_range", ["amber_lo", "amber_hi", "green_lo", "green_hi"]] = None  # no target to share
    metrics = _names(d, "code", "metric")
    second = {str(r.code): f"{r.actual_text} / {r.target_text}" for r in d.itertuples()}
    y = alt.Y("code:N", sort=list(metrics), title=None, axis=alt.Axis(**charts.row_axis(metrics, second=second)))
    x_scale = alt.Scale(domain=[0, top], clamp=True, nice=False)
    base = alt.Chart(d).encode(y=y)
    track = base.mark_bar(color="#ececec", size=20).encode(
        x=alt.X(datum=0, type="quantitative", scale=x_scale, title=None,
                axis=charts.value_axis("%", lang, _word("ui_chart_of_target", lang), orient="top")),
        x2=alt.X2(datum=top))
    amber = base.mark_bar(color="#f6e3b4", size=20).encode(x="amber_lo:Q", x2="amber_hi:Q")
    green = base.mark_bar(color="#d5efe6", size=20).encode(x="green_lo:Q", x2="green_hi:Q")
    bar = base.mark_bar(size=8).encode(x="ratio:Q", color=_status_colour(), tooltip=tip)
    tick = base.mark_tick(color="#222", thickness=2, size=24).encode(x="goal:Q", tooltip=tip)
    return (track + amber + green + bar + tick).properties(height=alt.Step(44))


def _gauge(df: pd.DataFrame, labels: dict, lang: str, tip: list) -> alt.LayerChart:
    """The attainment of one metric as a ring (full at 120 %), the figure in the middle, and the
    actual and target under it in the metric's unit."""
    row = df.iloc[-1]
    share = min(max(float(row["attainment"]) if pd.notna(row["attainment"]) else 0.0, 0.0), 1.2) / 1.2
    arc = pd.DataFrame({"part": ["done", "rest"], "value": [share, 1 - share], "status": [row["status"], "no_data"]})
    ring = alt.Chart(arc).mark_arc(innerRadius=62, outerRadius=88).encode(
        theta=alt.Theta("value:Q", stack=True), color=_status_colour(), order="part:N")
    lines = [(f"{row['symbol']} {row['attainment_text']}", -6, 22),
             (f"{labels['actual']} {row['actual_text']}", 16, 11), (f"{labels['target']} {row['target_text']}", 31, 11)]
    text = alt.layer(*(alt.Chart(pd.DataFrame({"t": [t]})).mark_text(dy=dy, fontSize=size).encode(text="t:N")
                       for t, dy, size in lines))
    return (ring + text).properties(height=200)


def spec(tile: Tile, df: pd.DataFrame, labels: dict[str, str], lang: str | None = None) -> dict | None:
    """The chart as a Vega-Lite dict, built without Altair's schema validation (about 70 ms a
    chart; the tests validate every tile type's spec instead)."""
    with alt.utils.schemapi.debug_mode(False):
        built = chart(tile, df, labels, lang)
        return None if built is None else built.to_dict(validate=False)


def last_loaded(wh: Warehouse) -> tuple[str | None, str | None]:
    """(the newest batch time, the latest period with actuals): the tiles' freshness line."""
    with wh.read() as con:
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

