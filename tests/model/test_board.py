"""Board layout in kpi_core.model.board: adding, moving, resizing, duplicating and deleting tiles
on the 12-column grid, each a pure function from board to board, refusing what cannot be."""

import pytest

from kpi_core.model.access import Actor
from kpi_core.model.board import (
    GRID,
    Board,
    add_tile,
    default_width,
    delete_tile,
    duplicate_tile,
    move_tile,
    new_tile,
    relaid,
    resize_tile,
    share_choices,
)
from kpi_core.model.errors import KpiError, NotFound, ValidationFailed


def board() -> Board:
    """a (6) b (6) on row 0; c (12) on row 1; d (4) e (4) on row 2."""
    tiles = [("a", "kpi_card", 6), ("b", "gauge", 6), ("c", "table", 12), ("d", "kpi_card", 4), ("e", "kpi_card", 4)]
    return relaid(Board.model_validate({"code": "b1", "title": "B", "tiles": [
        {"id": i, "type": k, "metrics": ["revenue"], "place": {"width": w}} for i, k, w in tiles]}), list("abcde"))


def layout(b: Board) -> list[tuple[str, int, int]]:
    """(id, row, width) in reading order."""
    return [(t.id, t.place.row, t.place.width) for t in b.ordered_tiles()]


def test_relaid_fills_rows_up_to_twelve_columns():
    assert layout(board()) == [("a", 0, 6), ("b", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]
    assert [t.place.order for t in board().ordered_tiles()] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("order, message", [
    (list("abcd"), "leaves out e"),
    (list("abcdez"), "names z, not on the board"),
    (list("abcdd"), "leaves out e"),
    (list("abcdea"), "names a tile twice"),
])
def test_relaid_needs_every_tile_once(order, message):
    with pytest.raises(ValidationFailed, match=message):
        relaid(board(), order)


@pytest.mark.parametrize("tile, step, expected", [
    ("b", -1, [("b", 0, 6), ("a", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]),
    ("c", -1, [("a", 0, 6), ("c", 1, 12), ("b", 2, 6), ("d", 2, 4), ("e", 3, 4)]),
    ("a", 1, [("b", 0, 6), ("a", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]),
    ("a", -1, [("a", 0, 6), ("b", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]),   # first stays first
    ("e", 1, [("a", 0, 6), ("b", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]),    # last stays last
    ("e", -99, [("e", 0, 4), ("a", 0, 6), ("b", 1, 6), ("c", 2, 12), ("d", 3, 4)]),  # to the front
])
def test_move_tile(tile, step, expected):
    assert layout(move_tile(board(), tile, step)) == expected


@pytest.mark.parametrize("tile, width, expected", [
    ("a", 12, [("a", 0, 12), ("b", 1, 6), ("c", 2, 12), ("d", 3, 4), ("e", 3, 4)]),
    ("a", 4, [("a", 0, 4), ("b", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]),
    ("c", 4, [("a", 0, 6), ("b", 0, 6), ("c", 1, 4), ("d", 1, 4), ("e", 1, 4)]),
    ("e", 1, [("a", 0, 6), ("b", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 1)]),
    ("a", 0, "1 to 12 grid columns wide, not 0"),
    ("a", 13, "1 to 12 grid columns wide, not 13"),
    ("a", True, "not True"),
    ("zz", 6, "no tile 'zz' on board 'b1'"),
])
def test_resize_tile(tile, width, expected):
    if isinstance(expected, str):
        with pytest.raises(KpiError, match=expected):
            resize_tile(board(), tile, width)
    else:
        assert layout(resize_tile(board(), tile, width)) == expected


@pytest.mark.parametrize("tile, expected", [
    ("a", ["a", "a*", "b", "c", "d", "e"]),
    ("c", ["a", "b", "c", "c*", "d", "e"]),
    ("e", ["a", "b", "c", "d", "e", "e*"]),
])
def test_duplicate_tile_goes_right_after_it_with_its_own_id(tile, expected):
    b = duplicate_tile(board(), tile)
    ids = [t.id for t in b.ordered_tiles()]
    copy = next(i for i in ids if i not in "abcde")
    assert [i if i != copy else f"{tile}*" for i in ids] == expected
    src, dup = (next(t for t in b.tiles if t.id == i) for i in (tile, copy))
    assert dup.model_dump(exclude={"id", "place"}) == src.model_dump(exclude={"id", "place"})
    assert dup.place.width == src.place.width


@pytest.mark.parametrize("tile, expected", [
    ("a", [("b", 0, 6), ("c", 1, 12), ("d", 2, 4), ("e", 2, 4)]),
    ("c", [("a", 0, 6), ("b", 0, 6), ("d", 1, 4), ("e", 1, 4)]),
    ("e", [("a", 0, 6), ("b", 0, 6), ("c", 1, 12), ("d", 2, 4)]),
])
def test_delete_tile_closes_up(tile, expected):
    b = delete_tile(board(), tile)
    assert layout(b) == expected
    assert [t.place.order for t in b.ordered_tiles()] == list(range(len(expected)))


@pytest.mark.parametrize("op", [
    lambda b: move_tile(b, "nope", 1), lambda b: duplicate_tile(b, "nope"), lambda b: delete_tile(b, "nope")])
def test_an_unknown_tile_is_not_found(op):
    with pytest.raises(NotFound, match="no tile 'nope' on board 'b1'"):
        op(board())


@pytest.mark.parametrize("kind, width", [
    ("kpi_card", 6), ("trend", 6), ("gauge", 6), ("ranking", 6), ("heatmap", GRID), ("table", GRID), ("text", GRID)])
def test_add_tile_appends_with_its_types_width(kind, width):
    tile = new_tile(kind, [] if kind == "text" else ["revenue"], text="note" if kind == "text" else None)
    assert default_width(kind) == width
    b = add_tile(board(), tile)
    assert b.ordered_tiles()[-1].id == tile.id and b.ordered_tiles()[-1].place.width == width
    assert layout(b)[:5] == layout(board())


def test_add_tile_refuses_an_id_already_on_the_board():
    with pytest.raises(ValidationFailed, match="has a tile 'a' already"):
        add_tile(board(), new_tile("kpi_card", ["revenue"], id="a"))


@pytest.mark.parametrize("kind, metrics, kw, message", [
    ("gauge", [], {}, "^a gauge tile takes 1 metric, not 0$"),
    ("trend", ["a", "b", "c", "d", "e"], {}, "^a trend tile takes 1 to 4 metrics, not 5$"),
    ("text", [], {"text": "  "}, "^a text tile needs its text$"),
    ("kpi_card", ["revenue"], {"title": "x" * 121}, "^title: String should have at most 120 characters$"),
    ("pie", ["revenue"], {}, "no tile type 'pie'"),
])
def test_new_tile_names_the_problem(kind, metrics, kw, message):
    with pytest.raises(KpiError, match=message):
        new_tile(kind, metrics, **kw)


def test_a_forecast_tile_takes_exactly_one_metric():
    tile = new_tile("forecast", ["revenue"], grain="quarter")
    assert (tile.type, tile.metrics, tile.grain, tile.place.width) == ("forecast", ["revenue"], "quarter", GRID // 2)
    for metrics in ([], ["revenue", "gross_margin"]):
        with pytest.raises(KpiError, match=f"^a forecast tile takes 1 metric, not {len(metrics)}$"):
            new_tile("forecast", metrics)
    b = add_tile(board(), tile)
    assert Board.model_validate(b.definition()).ordered_tiles()[-1] == b.ordered_tiles()[-1]  # read back as saved


@pytest.mark.parametrize("actor, expected", [
    (Actor("root", "admin"), ("private", "org", "everyone")),
    (Actor("ceo", "executive", ("HQ",)), ("private", "org", "everyone")),
    (Actor("sun", "manager", ("SALES",)), ("private", "org")),
    (Actor("li", "team_lead", ("EAST",)), ("private", "org")),
])
def test_share_choices(actor, expected):
    assert share_choices(actor) == expected
