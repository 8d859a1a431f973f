"""Forecasts in the app (AppTest on the demo, SPEC §9): a board's forecast tile with its caption in
Chinese and English, and the cockpit's headline cards, whose forecast line shows only once the
forecast is kept (the page never makes cold ones by itself: the button does, or the import job)."""

import pytest

from kpi_core.model.board import Board
from kpi_core.model.messages import Msg
from kpi_core.present import cockpit, forecast_tile
from kpi_core.query.forecast import forecast, kept_forecast
from kpi_core.store import boards, dictionary, org
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY
from tests.system.test_app_pages import (  # noqa: F401
    app,
    app_warehouse,
    no_english_sentence,
    no_raw_keys_or_nan,
    rendered,
)

pytestmark = pytest.mark.slow

BOARD = Board(code="fc_board", title="预测看板", owner="admin", share="everyone",
              filters={"org": "HQ", "grain": "month"},
              tiles=[{"id": "fc", "type": "forecast", "metrics": ["revenue"], "place": {"width": 12}}])


def captions(at) -> list[str]:
    return [rendered(c.value) for c in at.caption]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_boards_forecast_tile_says_its_forecast(app, app_warehouse, lang):  # noqa: F811
    wh = open_warehouse(app_warehouse)
    boards.save(wh, BOARD)
    app.query_params.update({"board": BOARD.code, "lang": lang})
    app.run()
    app.switch_page("pages/boards.py").run()
    assert not app.exception
    f = forecast(wh, "revenue", "HQ", "2026-Q4", today=DEMO_TODAY)  # a month board: its quarter in progress
    assert f.reason is None and f.months_left == 1
    expected = forecast_tile.caption(f, dictionary.current(wh)["revenue"], lang)
    assert expected in captions(app)
    assert forecast_tile.method_name(f.method, lang) in expected and f"{f.mase:.2f}" in expected
    shown = [rendered(m.value) for m in app.markdown]
    assert any(Msg("ui_tile_forecast").render(lang) in s for s in shown)  # its title says what it is
    no_raw_keys_or_nan(app)
    if lang == "zh":
        no_english_sentence(app)


PLACE = {"org": "D1", "period": "2026-Q4"}  # a quarter in progress (December to come)
LINE = ("预测 ", "无预测")  # how a card's forecast line begins (ui_fc_line, ui_fc_none)


def test_the_cockpit_shows_kept_forecasts_and_makes_them_on_request(app, app_warehouse):  # noqa: F811
    wh = open_warehouse(app_warehouse)
    data = cockpit.build(wh, org.tree(wh), PLACE["org"], PLACE["period"], today=DEMO_TODAY)
    assert any(data.cards[c].cell.in_progress for c in data.headline)
    assert all(kept_forecast(wh, c, PLACE["org"], PLACE["period"], DEMO_TODAY) is None for c in data.headline)
    app.query_params.update(PLACE)
    app.run()
    assert not app.exception
    assert not [c for c in captions(app) if c.startswith(LINE)]  # none kept: no line yet
    assert all(kept_forecast(wh, c, PLACE["org"], PLACE["period"], DEMO_TODAY) is None for c in data.headline)
    app.button(key="fc_show").click().run()  # makes them, then reruns
    assert not app.exception
    made = {c: kept_forecast(wh, c, PLACE["org"], PLACE["period"], DEMO_TODAY) for c in data.headline}
    assert all(f is not None for f in made.values())
    assert any(f.value is not None for f in made.values())
    shown = captions(app)
    for code, f in made.items():  # each card's line, as the query's forecast says it
        assert forecast_tile.line(f, data.metrics[code], "zh") in shown, code
    assert not [b for b in app.button if b.key == "fc_show"]  # all kept: nothing left to make
    no_raw_keys_or_nan(app)
    no_english_sentence(app)


def test_kept_forecasts_show_in_english_without_a_button(app, app_warehouse):  # noqa: F811
    wh = open_warehouse(app_warehouse)
    place = {"org": "D2", "period": "2026"}  # a year in progress, made ahead as the import job would
    data = cockpit.build(wh, org.tree(wh), place["org"], place["period"], today=DEMO_TODAY)
    made = {c: forecast(wh, c, place["org"], place["period"], today=DEMO_TODAY) for c in data.headline}
    app.query_params.update({**place, "lang": "en"})
    app.run()
    assert not app.exception
    shown = captions(app)
    assert [c for c, f in made.items() if forecast_tile.line(f, data.metrics[c], "en") not in shown] == []
    assert not [b for b in app.button if b.key == "fc_show"]
    no_raw_keys_or_nan(app)


def test_a_month_in_the_cockpit_has_no_forecast(app):  # noqa: F811
    app.query_params.update({"org": "D1", "period": "2026-10"})
    app.run()
    assert not app.exception
    assert not [b for b in app.button if b.key == "fc_show"]
    assert not [c for c in captions(app) if c.startswith(LINE)]
