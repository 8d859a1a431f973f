"""Board tile charts a person can read (kpi_core/present/tiles.py, charts.py): numbers on the axes
in the viewer's words (万/亿 in Chinese, K/M/B in English, % for rates, never d3's `~s`), no
rotated axis title, every name shown and wrapped to its room, a scale per unit. Every tile type's
spec validates against the Vega-Lite schema, in both languages, with long Chinese names."""

import html
import json
import re

import altair as alt
import pandas as pd
import pytest

from kpi_core.model import display as fmt
from kpi_core.model.board import TILE_TYPES, Tile
from kpi_core.model.metric import Metric
from kpi_core.model.org import build_tree
from kpi_core.present import charts, tiles
from kpi_core.query.api import Cell
from kpi_core.query.forecast import Forecast

UNITS = {"EAST": "华东区域智能制造装备销售事业部", "SOUTH": "华南区域新能源汽车零部件事业部", "HQF": "集团职能中心",
         "NW": "西北大区客户服务与仓储物流部", "D5": "新能源装备事业部", "D6": "精密部件事业部", "D7": "智能装备事业部"}
TREE = build_tree([("HQ", "华锐智能制造集团", None), *((c, n, "HQ") for c, n in UNITS.items())])
METRICS = {m.code: m for m in (
    Metric(code="revenue", name="主营业务销售收入（含税口径）", name_en="Main business sales revenue (tax included)",
           unit="CNY", source="manual"),
    Metric(code="margin", name="综合毛利率（扣除返利后）", name_en="Gross margin after rebates", unit="%",
           source="manual"),
    Metric(code="orders", name="订单数", name_en="Orders", unit="count", source="manual"),
    Metric(code="defects", name="不良率", name_en="Defect rate", unit="%", direction="lower_is_better",
           source="manual"),
    Metric(code="days", name="库存周转天数", name_en="Inventory days", unit="days", source="manual"))}
VALUES = {"revenue": (2.3e8, 2.0e8), "margin": (0.352, 0.36), "orders": (5335, 5290), "defects": (0.006, 0.007),
          "days": (41.5, 40.0)}
LABELS = {"zh": {"unit": "组织单元", "metric": "指标", "period": "期间", "actual": "实际", "target": "目标",
                 "attainment": "达成率"},
          "en": {"unit": "Org unit", "metric": "Metric", "period": "Period", "actual": "Actual", "target": "Target",
                 "attainment": "Attainment"}}
PCT = "format(datum.value, '~%')"
STATUS = ("green", "amber", "red", "no_data", "no_target")


def _cells(metrics: list[str], orgs: list[str], periods: list[str]) -> list[Cell]:
    out = []
    for i, (m, o, p) in enumerate((m, o, p) for m in metrics for o in orgs for p in periods):
        actual, target = VALUES[m]
        actual *= 1 + ((i * 7) % 11 - 5) / 100
        status = STATUS[i % 5]
        out.append(Cell(m, o, p, actual=None if status == "no_data" else actual,
                        target=None if status == "no_target" else target,
                        attainment=None if status in ("no_data", "no_target") else actual / target, status=status))
    return out


PERIODS = [f"2026-{m:02d}" for m in range(1, 13)]
TILES = {  # every tile type, with the metrics that make it hard
    "kpi_card": (["revenue"], ["HQ"], ["2026-10"]),
    "trend": (["revenue", "margin"], ["HQ"], PERIODS),
    "bar_by_org": (["revenue", "orders"], list(UNITS), ["2026-10"]),
    "ranking": (["revenue"], list(UNITS), ["2026-10"]),
    "heatmap": (["revenue", "margin", "orders", "defects", "days"], list(UNITS), ["2026-10"]),
    "bullet": (["revenue", "margin", "orders", "defects", "days"], ["HQ"], ["2026-10"]),
    "gauge": (["margin"], ["HQ"], ["2026-10"]),
    "table": (["revenue", "margin"], list(UNITS), ["2026-10"]),
    "text": ([], [], []),
    "scorecard": ([], [], []),
    "forecast": (["revenue"], [], []),  # drawn from its forecast's path, not from cells
}
FORECAST = Forecast("revenue", "HQ", "2026-Q4", method="ets", value=6.9e8, low=6.5e8, high=7.3e8, target=6.6e8,
                    path=[{"period": "2026-10", "value": 2.3e8, "low": None, "high": None, "kind": "actual"},
                          {"period": "2026-11", "value": 4.6e8, "low": None, "high": None, "kind": "actual"},
                          {"period": "2026-12", "value": 6.9e8, "low": 6.5e8, "high": 7.3e8, "kind": "forecast"}])


def _frame(kind: str, lang: str, metrics=None, orgs=None, periods=None) -> tuple[Tile, pd.DataFrame]:
    m, o, p = TILES[kind]
    tile = Tile(type=kind, metrics=metrics or m, **({"text": "说明"} if kind == "text" else {}))
    data = tiles.TileData(tiles.TilePlace("HQ", "2026-10", "month", "children"),
                          _cells(metrics or m, orgs or o, periods or p),
                          forecast=FORECAST if kind == "forecast" else None)
    df = tiles.frame(data, METRICS, TREE, lang)
    return tile, (tiles.ranking(df, tile) if kind == "ranking" and not df.empty else df)


def _axes(spec: dict) -> list[dict]:
    """Every axis definition in a spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("axis"), dict):
                found.append(node["axis"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    return found


# --- numbers on an axis -----------------------------------------------------------------------

@pytest.mark.parametrize("unit, lang", [("CNY", "zh"), ("CNY", "en"), ("%", "zh"), ("count", "en")])
def test_vega_writes_the_same_axis_numbers_as_the_python_rule(unit, lang):
    """The label rule is a Vega expression: rendered (vl-convert, the same Vega), it says what
    axis_number says."""
    import vl_convert as vlc

    values = {"%": [0, 0.25, 0.985, 1.2, -0.05]}.get(unit, [0, 999, 1000, 12345, 50_000_000, 150_000_000,
                                                            -200_000_000, 2.5e9])
    chart = alt.Chart(pd.DataFrame({"v": values})).mark_tick().encode(
        x=alt.X("v:Q", axis=alt.Axis(values=values, labelOverlap=False, labelAngle=0, **fmt.axis_labels(unit, lang)),
                scale=alt.Scale(type="symlog")))
    svg = vlc.vegalite_to_svg(chart.to_json())
    group = re.search(r'role-axis-label.*?</g>', svg, re.S).group(0)
    shown = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", group)]
    assert sorted(shown) == sorted(fmt.axis_number(v, unit, lang) for v in values)


# --- names on a category axis ------------------------------------------------------------------

@pytest.mark.parametrize("text, width, most, expected", [
    ("华东销售事业部", 200, 3, ["华东销售事业部"]),
    ("华东销售事业部", 56, 3, ["华东销售", "事业部"]),           # balanced, not 华东销售事 / 业部
    ("华东销售事业部", 22, 4, ["华东", "销售", "事业", "部"]),
    ("华东销售事业部", 11, 10, list("华东销售事业部")),            # a character a line, as Chinese may be set
    ("新能源装备事业部", 22, 3, ["新能", "源装", "备…"]),           # too long: … on the last line
    ("Peak capacity utilization", 150, 2, ["Peak capacity", "utilization"]),  # words break at spaces
    ("Customer satisfaction", 150, 2, ["Customer satisfaction"]),
    ("Customer satisfaction", 100, 2, ["Customer", "satisfaction"]),
    ("a\nb\u2028c", 200, 2, ["a b c"]),                             # no control characters reach Vega
])
def test_a_name_wraps_to_its_room(text, width, most, expected):
    assert charts.wrap(text, width, most=most) == expected


@pytest.mark.parametrize("name", [*UNITS.values(), "Main business sales revenue (tax included)", "x" * 40])
def test_every_wrapped_line_fits_its_width(name):
    for w in charts.BAND_WIDTHS[1:]:
        assert all(charts.text_width(line) <= w for line in charts.wrap(name, w, most=4)), (name, w)


def test_column_labels_pick_their_wrapping_by_the_room_the_band_gets():
    axis = charts.column_axis({"EAST": "华东销售事业部", "HQF": "集团职能中心"})
    assert axis["labelAngle"] == 0 and axis["labelOverlap"] is False and axis["labelLimit"] == 0
    expr = axis["labelExpr"]
    assert expr.startswith("(bandwidth('x') - 6 >= ") and "datum.value" in expr
    assert '"EAST": ["华东销售事业部"]' in expr                       # the widest case: one line
    assert '"EAST": ["华东销售", "事业部"]' in expr                   # two lines where that fits
    assert '"EAST": ["华", "东", "销", "售", "事", "业", "部"]' in expr  # a phone with many columns
    assert "bandwidth('x')" in axis["labelPadding"]["expr"]          # lifted over the cells by its lines


@pytest.mark.parametrize("n_cols, n_rows, across", [(6, 8, True), (12, 3, True), (13, 3, False), (20, 25, True)])
def test_a_heat_map_turns_round_only_when_many_units_meet_few_metrics(n_cols, n_rows, across):
    assert charts.across(n_cols, n_rows) is across


# --- every tile type ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", TILE_TYPES)
def test_every_tile_type_makes_a_valid_readable_spec(kind, lang):
    tile, df = _frame(kind, lang)
    built = tiles.chart(tile, df, LABELS[lang])
    if kind in ("kpi_card", "table", "text", "scorecard"):
        assert built is None  # drawn as widgets
        return
    spec = built.to_dict()  # validates against the Vega-Lite schema
    assert tiles.spec(tile, df, LABELS[lang]) == spec
    text = json.dumps(spec, ensure_ascii=False)
    assert "~s" not in text
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    for axis in _axes(spec):
        assert axis.get("titleAngle", 0) == 0 and axis.get("labelAngle", 0) == 0  # nothing rotated
    if lang == "zh":
        assert not re.search(r"'[KMB]'", text)
    if kind in ("bar_by_org", "ranking", "heatmap"):
        assert '"name": "org"' in text and '"fields": ["org"]' in text  # the cross-filter's pick
    if kind == "trend":
        assert '"name": "period"' in text and '"fields": ["period"]' in text
    if kind in ("bar_by_org", "ranking", "heatmap", "bullet"):  # every unit or metric name on the axis
        names = set(df["unit"]) if kind != "bullet" else set(df["metric"])
        if kind == "heatmap":
            names |= set(df["metric"])
        shown = "".join(re.findall(r"[\u4e00-\u9fff]", text))
        assert all(n[:2] in text for n in names), names
        assert shown


def test_a_trend_of_two_units_has_an_axis_each_and_of_three_one_percent_axis():
    tile, df = _frame("trend", "zh")
    spec = tiles.chart(tile, df, LABELS["zh"]).to_dict()
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    axes = _axes(spec)
    money = [a for a in axes if "亿" in a.get("labelExpr", "")]
    rate = [a for a in axes if a.get("labelExpr") == PCT]
    assert money and money[0]["orient"] == "left" and money[0]["title"] == "实际（元）"
    assert rate and rate[0]["orient"] == "right" and rate[0]["title"] == "实际（%）"
    tile, df = _frame("trend", "en", metrics=["revenue", "margin", "orders"])
    spec = tiles.chart(tile, df, LABELS["en"]).to_dict()
    assert "resolve" not in spec and {a["title"] for a in _axes(spec) if a.get("labelExpr") == PCT} == {"Attainment"}


@pytest.mark.parametrize("metrics, lang, axis", [
    (["margin"], "zh", {"labelExpr": PCT}),                          # a rate: a % axis, never 0–1
    (["revenue"], "zh", fmt.axis_labels("CNY", "zh")),
    (["orders"], "en", fmt.axis_labels("count", "en")),
])
def test_a_trend_of_one_unit_has_its_axis(metrics, lang, axis):
    tile, df = _frame("trend", lang, metrics=metrics)
    spec = tiles.chart(tile, df, LABELS[lang]).to_dict()
    y = [a for a in _axes(spec) if a.get("orient") == "left"]
    assert y and all(y[0][k] == v for k, v in axis.items())
    assert y[0]["titleAngle"] == 0 and y[0]["titleY"] < 0  # level, over the axis


def test_a_bullet_puts_each_metric_on_its_own_target_scale():
    tile, df = _frame("bullet", "zh")
    spec = tiles.chart(tile, df, LABELS["zh"]).to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    x = [a for a in _axes(spec) if a.get("labelExpr") == PCT]
    assert x and x[0]["title"] == "实际占目标"  # one scale: the share of each metric's target
    assert "labelExpr\": \"abs" not in text  # no axis of amounts: no 200,000,000 ticks
    assert {lyr["encoding"]["x"].get("field") for lyr in spec["layer"] if "field" in lyr["encoding"].get("x", {})} \
        <= {"ratio", "amber_lo", "green_lo", "goal"}
    rows = [a for a in _axes(spec) if "datum.value" in a.get("labelExpr", "") and "/" in a["labelExpr"]]
    for r in df.itertuples():  # each row says its actual / target in its own unit: ¥2.3亿 / ¥2亿, 35.2% / 36.0%
        assert f"{r.actual_text} / {r.target_text}" in rows[0]["labelExpr"]
    values = pd.DataFrame(spec["datasets"][next(iter(spec["datasets"]))])
    assert values["ratio"].dropna().between(0, 2).all()


def test_a_bar_chart_of_mixed_units_compares_attainment():
    tile, df = _frame("bar_by_org", "zh", metrics=["revenue", "margin"])
    spec = tiles.chart(tile, df, LABELS["zh"]).to_dict()
    assert [a["title"] for a in _axes(spec) if a.get("labelExpr") == PCT] == ["达成率"]
    tile, df = _frame("bar_by_org", "zh", metrics=["revenue"])
    spec = tiles.chart(tile, df, LABELS["zh"]).to_dict()
    assert [a["title"] for a in _axes(spec) if "亿" in a.get("labelExpr", "")] == ["实际（元）"]


def test_a_heat_map_of_many_units_and_few_metrics_turns_round():
    orgs = [f"U{i:02d}" for i in range(15)]
    tree = build_tree([("HQ", "集团", None), *((c, f"第{c}号区域销售服务中心", "HQ") for c in orgs)])
    tile = Tile(type="heatmap", metrics=["revenue", "margin"])
    data = tiles.TileData(tiles.TilePlace("HQ", "2026-10", "month", "children"),
                          _cells(["revenue", "margin"], orgs, ["2026-10"]))
    spec = tiles.chart(tile, tiles.frame(data, METRICS, tree, "zh"), LABELS["zh"]).to_dict()
    layer = spec["layer"][0]["encoding"]
    assert (layer["x"]["field"], layer["y"]["field"]) == ("code", "org")  # metrics across, units down


def test_the_ranking_shows_every_unit_with_its_figure():
    tile, df = _frame("ranking", "zh")
    tile = tile.model_copy(update={"top": 10})
    spec = tiles.chart(tile, df, LABELS["zh"]).to_dict()
    y = spec["layer"][1]["encoding"]["y"]
    assert y["axis"]["labelOverlap"] is False and y["axis"]["labelLimit"] == 0
    assert set(y["sort"]) == set(df["org"])
    assert spec["height"] == {"step": 34}  # a row a unit, whatever their number (names in two lines)
    texts = [lyr for lyr in spec["layer"] if lyr["mark"]["type"] == "text"]
    assert len(texts) == 2 and all(t["encoding"]["text"]["field"] == "label" for t in texts)
