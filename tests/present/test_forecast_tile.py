"""A forecast as a tile and a cockpit line: the path, the band, the target, words in zh and en."""

from __future__ import annotations

import altair as alt
import pytest

from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.present import forecast_tile
from kpi_core.query.forecast import Forecast

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
