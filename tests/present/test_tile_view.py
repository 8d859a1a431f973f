"""A board tile's view is built once per data version, place and language and shared by every
viewer who may read that place; a viewer who may not is never handed it."""

import pytest

from kpi_core.model.access import Actor
from kpi_core.present import tile_view
from kpi_core.store import boards, dictionary, org
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.slow
ADMIN = Actor("root", "admin", ())
EXEC = Actor("ceo", "executive", ("HQ",))
MANAGER = Actor("mgr_d1", "manager", ("D1",))


@pytest.fixture(scope="module")
def demo(demo_template):
    wh = open_warehouse(demo_template)
    board = boards.get(wh, "sales")
    tile = next(t for t in board.tiles if t.type == "bar_by_org")
    return wh, board, tile, org.tree(wh), dictionary.current(wh)


def test_viewers_of_one_place_share_one_build(demo):
    wh, board, tile, tree, ms = demo
    tile_view.VIEWS.clear()
    first = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", actor=ADMIN)
    again = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", actor=EXEC)
    assert again is first and len(tile_view.VIEWS) == 1
    english = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "en", actor=EXEC)
    assert english is not first and len(tile_view.VIEWS) == 2
    assert first[2] is not None and english[1]["metric"].tolist() != first[1]["metric"].tolist()


def test_the_board_with_its_default_filters_written_out_shares_the_entry(demo):
    wh, board, tile, tree, ms = demo
    tile_view.VIEWS.clear()
    stored = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh")
    place = stored[0].place
    shown = board.model_copy(update={"filters": board.filters.model_copy(update={"org": place.org,
                                                                                 "period": place.period})})
    assert tile_view.view(wh, shown, tile, tree, ms, DEMO_TODAY, "zh") is stored


def test_a_manager_asking_for_the_company_gets_their_own_unit(demo):
    wh, board, tile, tree, ms = demo
    tile_view.VIEWS.clear()
    company = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", cross={"org": "HQ"}, actor=ADMIN)
    mine = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", cross={"org": "HQ"}, actor=MANAGER)
    assert company[0].place.org == "HQ" and mine[0].place.org == "D1" and mine is not company
    assert {c.org for c in mine[0].cells} <= set(tree.subtree("D1"))


def test_a_tile_pinned_to_a_unit_the_viewer_may_not_read_shows_their_own(demo):
    wh, board, tile, tree, ms = demo
    person = next(c for c in tree.subtree("D1") if tree.unit(c).depth == 4)
    pinned = tile.model_copy(update={"org": "D2"})
    board2 = board.model_copy(update={"tiles": [pinned]})
    theirs = tile_view.view(wh, board2, pinned, tree, ms, DEMO_TODAY, "zh", actor=Actor("p", "employee", (person,)))
    assert theirs[0].place.org == person
    assert {c.org for c in theirs[0].cells} <= {person}


def test_a_tile_is_kept_across_an_upload_of_other_metrics_and_made_anew_after_one_of_its_own(demo_path):
    import pyarrow as pa

    from kpi_core.ingest.facts.from_arrow import import_table

    wh = open_warehouse(demo_path)
    board = boards.get(wh, "sales")
    tile = next(t for t in board.tiles if t.type == "bar_by_org")
    tree, ms = org.tree(wh), dictionary.current(wh)

    def upload(kind, metric, unit, period, value):
        import_table(wh, kind, pa.table({"metric": [metric], "org": [unit], "period": [period], "value": [value]}),
                     source="test")

    first = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", actor=ADMIN)
    assert "min_cash_balance" not in tile.metrics
    upload("actuals", "min_cash_balance", "D1", first[0].place.period, 7.5e7)
    assert tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", actor=ADMIN) is first
    cell = next(c for c in first[0].cells if c.target is not None)
    upload("targets", cell.metric, cell.org, cell.period, cell.target + 1000)
    again = tile_view.view(wh, board, tile, tree, ms, DEMO_TODAY, "zh", actor=ADMIN)
    assert again is not first
    assert next(c.target for c in again[0].cells if (c.metric, c.org, c.period) == (cell.metric, cell.org, cell.period)
                ) == cell.target + 1000
