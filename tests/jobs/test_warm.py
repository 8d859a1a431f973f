"""Warm-on-write: after an import, the cockpit's default places and the boards' tiles are worked
out once, so a viewer who opens them next computes no number."""

import datetime as dt
import shutil

import pyarrow as pa
import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.jobs import schedule, warm
from kpi_core.model.access import Actor
from kpi_core.present import cockpit, tile_view
from kpi_core.query import cache
from kpi_core.query.api import latest_month
from kpi_core.store import boards, dictionary, org
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.slow
EXEC = Actor("exec_a", "executive", ("HQ",))


@pytest.fixture
def demo(demo_template, tmp_path):
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    wh = open_warehouse(path)
    import_table(wh, "actuals", pa.table({"metric": ["min_cash_balance"], "org": ["D1"], "period": ["2026-11"],
                                          "value": [40_000_000.0]}), source="late.csv")
    for c in (cache.VALUES, cache.FACTS, cache.SQL_TEXT, tile_view.VIEWS):
        c.clear()
    return wh


def computed_by_viewer(wh) -> set:
    """The values a viewer's cockpit (company and each division) and boards (tables and chart
    specs, in both languages) compute that were not kept."""
    before = set(cache.VALUES._items) | set(tile_view.VIEWS._items)
    tree = org.tree(wh)
    period = latest_month(wh, DEMO_TODAY)
    for unit, p in warm.cockpit_places(tree, period):
        cockpit.build(wh, tree, unit, p, today=DEMO_TODAY, actor=EXEC)
    for board in boards.all_boards(wh):
        for tile in board.tiles:
            if tile.type not in warm.SKIPPED_TILES:
                for lang in ("zh", "en"):
                    tile_view.view(wh, board, tile, tree, dictionary.current(wh), DEMO_TODAY, lang, actor=EXEC)
    return (set(cache.VALUES._items) | set(tile_view.VIEWS._items)) - before


def test_a_viewer_after_warming_computes_nothing_and_without_it_does(demo):
    with demo.connect():
        assert computed_by_viewer(demo)  # cold: the viewer waits for the engine
    for c in (cache.VALUES, cache.FACTS, cache.SQL_TEXT, tile_view.VIEWS):
        c.clear()
    done = warm.warm(demo, DEMO_TODAY)
    assert (done.places, done.stale) == (1 + len(org.tree(demo).children["HQ"]), False)
    assert done.tiles >= 10
    assert done.version == demo.data_version()
    with demo.connect():
        assert computed_by_viewer(demo) == set()


def test_warming_stops_when_newer_data_comes_in(demo, monkeypatch):
    versions = iter([1, 1, 2])
    monkeypatch.setattr(type(demo), "data_version", lambda self: next(versions, 2))
    done = warm.warm(demo, DEMO_TODAY)
    assert done.stale and done.places == 1
    assert "newer data" in done.summary()


def test_the_import_job_warms_the_pages(demo, monkeypatch):
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())  # the job's today, as the app's
    summary = schedule.after_imports(demo, dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
    places = 1 + len(org.tree(demo).children["HQ"])
    assert f"warmed {places} cockpit places" in summary
    with demo.connect():
        assert computed_by_viewer(demo) == set()
