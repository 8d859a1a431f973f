"""A forecast as a tile and a cockpit line: the path, the band, the target, words in zh and en."""

from __future__ import annotations

import io
import json
import re

import altair as alt
import openpyxl
import pytest

from kpi_core.model.board import Board, Tile
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import build_tree
from kpi_core.present import board_export, forecast_tile, tiles
from kpi_core.query.api import context
from kpi_core.query.forecast import Forecast, forecast
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

REVENUE = Metric(code="revenue", name="销售收入", name_en="Revenue", unit="CNY", source="manual")


def made() -> Forecast:
    return Forecast("revenue", "D1", "2026-Q4", method="seasonal", value=4.2e8, low=4.0e8, high=4.4e8,
                    actual_to_date=2.6e8, months_done=2, months_left=1, target=3.9e8, projected_attainment=1.077,
                    projected_status="green", run_rate_needed=1.3e8, mase=0.37, mape=0.046,
                    path=[{"period": "2026-10", "value": 1.3e8, "low": None, "high": None, "kind": "actual"},
                          {"period": "2026-11", "value": 2.6e8, "low": None, "high": None, "kind": "actual"},
                          {"period": "2026-12", "value": 4.2e8, "low": 4.0e8, "high": 4.4e8, "kind": "forecast"}])


@pytest.mark.parametrize(("lang", "words"), [
    ("zh", ["预测 ¥4.20亿", "¥4.00亿", "¥4.40亿", "107.7%", "剩余每月需 ¥1.30亿", "去年季节形态", "MASE 0.37"]),
    ("en", ["Forecast", "107.7%", "last year's seasonal shape", "MASE 0.37", "needed"]),
])
def test_caption_in_the_viewers_words(lang, words):
    text = forecast_tile.caption(made(), REVENUE, lang)
    for w in words:
        assert w in text, text
    assert "None" not in text and "nan" not in text


def test_no_forecast_says_why():
    f = Forecast("revenue", "D1", "2026-10", reason=Msg("forecast_period_over", period="2026-10"))
    assert forecast_tile.line(f, REVENUE, "zh") == "无预测：2026-10 已结束：其中各期都已有实际值"
    assert forecast_tile.spec(f, REVENUE, "zh") is None


def test_the_chart_has_the_path_the_band_and_the_target():
    spec = forecast_tile.spec(made(), REVENUE, "en")
    alt.LayerChart.from_dict(spec)  # checks the spec against the Vega-Lite schema
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["area", "line", "rule"]
    rows = list(spec["datasets"].values())[0]
    assert [r["kind"] for r in rows] == ["actual to date", "actual to date", "forecast"]
    assert rows[-1]["low"] == 4.0e8 and rows[-1]["high"] == 4.4e8
    target = [v for v in spec["datasets"].values() if v and "target" in v[0] and len(v[0]) == 1]
    assert target == [[{"target": 3.9e8}]]


# --- as a board tile -------------------------------------------------------------------------------

def test_a_forecast_tile_draws_through_the_tile_code():
    tile = Tile(type="forecast", metrics=["revenue"])
    data = tiles.TileData(tiles.TilePlace("D1", "2026-Q4", "quarter", "self"), forecast=made())
    for lang in ("zh", "en"):
        df = tiles.frame(data, {"revenue": REVENUE}, build_tree([("D1", "一部", None)]), lang)
        spec = tiles.chart(tile, df, {}, lang).to_dict()  # validates against the Vega-Lite schema
        assert tiles.spec(tile, df, {}, lang) == spec
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
        assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area", "line", "rule"]
        assert {k: v for k, v in spec.items() if k != "autosize"} == forecast_tile.spec(made(), REVENUE, lang)
        text = json.dumps(spec, ensure_ascii=False)
        assert ("亿" in text and not re.search(r"'[KMB]'", text)) if lang == "zh" else "'B'" in text


@pytest.mark.parametrize(("board_grain", "tile_grain", "period"), [
    ("month", None, "2026-Q4"),      # a month is over once its value is in: the quarter in progress
    ("month", "year", "2026"),
    ("month", "month", "2026-11"),   # asked for: a month it is
    ("year", None, "2026"),
])
def test_a_forecast_tile_forecasts_the_quarter_on_a_board_of_months(board_grain, tile_grain, period):
    board = Board(code="b", title="B", filters={"org": "D1", "period": "2026-11" if board_grain == "month"
                                                 else "2026", "grain": board_grain},
                  tiles=[{"id": "f", "type": "forecast", "metrics": ["revenue"], "grain": tile_grain}])
    place = tiles.place_of(board, board.tiles[0], build_tree([("D1", "一部", None)]), DEMO_TODAY)
    assert (place.org, place.period) == ("D1", period)


@pytest.fixture(scope="module")
def demo(demo_template):
    return open_warehouse(demo_template)  # read only: forecasts and exports write nothing


BOARD = Board(code="fc", title="预测", filters={"org": "HQ", "grain": "month"},
              tiles=[{"id": "f", "type": "forecast", "title": "收入预测", "metrics": ["revenue"]}])


def test_the_tile_shows_the_query_apis_forecast(demo):
    tree, metrics = context(demo)
    data = tiles.tile_data(demo, BOARD, BOARD.tiles[0], tree, DEMO_TODAY)
    assert data.forecast is forecast(demo, "revenue", "HQ", "2026-Q4", today=DEMO_TODAY)  # kept: computed once
    assert data.forecast.reason is None and data.forecast.path
    df = tiles.frame(data, metrics, tree, "zh")
    assert list(df["period"]) == [r["period"] for r in data.forecast.path] == ["2026-10", "2026-11", "2026-12"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_boards_workbook_lists_the_forecasts_fields(demo, lang):
    tree, metrics = context(demo)
    f = forecast(demo, "revenue", "HQ", "2026-Q4", today=DEMO_TODAY)
    book = openpyxl.load_workbook(io.BytesIO(board_export.workbook(demo, BOARD, tree, metrics, DEMO_TODAY, lang)))
    ws = book["收入预测"]
    rows = {r[0]: r[1] for r in ws.iter_rows(min_row=3, max_col=2, values_only=True) if r[0]}
    word = lambda code: Msg(f"ui_{code}").render(lang)  # noqa: E731
    assert rows[word("fc_f_value")] == pytest.approx(f.value)
    assert (rows[word("fc_low")], rows[word("fc_high")]) == (pytest.approx(f.low), pytest.approx(f.high))
    assert rows[word("fc_f_target")] == pytest.approx(f.target)
    assert rows[word("fc_f_to_date")] == pytest.approx(f.actual_to_date)
    assert (rows[word("fc_f_done")], rows[word("fc_f_left")]) == (2, 1)
    assert rows[word("fc_f_attainment")] == pytest.approx(f.projected_attainment)
    assert rows[word("fc_f_status")] == Msg(f"ui_status_{f.projected_status}").render(lang)
    assert rows[word("fc_f_needed")] == pytest.approx(f.run_rate_needed)
    assert rows[word("fc_f_method")] == forecast_tile.method_name(f.method, lang)
    assert rows[word("fc_f_mase")] == pytest.approx(f.mase)
    assert rows[word("metric")] == metrics["revenue"].display_name(lang) and rows[word("org_unit")] == \
        tree.units["HQ"].name
    path = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] in ("2026-10", "2026-11", "2026-12")]
    assert [(r[0], r[2]) for r in path] == [(x["period"], pytest.approx(x["value"])) for x in f.path]
    shown = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [s for s in shown if re.search(r"\b(nan|NaN|None)\b", s)]
    if lang == "zh":
        english = [s for s in shown if re.search(r"[A-Za-z]{3,}", re.sub(r"MASE|MAPE", "", s))]
        assert english == [], english  # no English words (the names of the measures of error are kept)
