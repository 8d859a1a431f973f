"""Boards: the model and its checks (each problem with the path of the bad field), versions per
save, sharing, boards as code (YAML round trip, CLI), tile places, chart specs and exports."""

import datetime as dt
import io
import json

import openpyxl
import pytest
from pydantic import ValidationError

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.access import Actor
from kpi_core.model.board import Board, Tile
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.present import board_export, tiles
from kpi_core.store import boards, dictionary, org
from tests.cli.test_commands import cli
from tests.engine.test_phasing import table

TODAY = dt.date(2025, 4, 15)
LABELS = {k: k for k in ("unit", "metric", "period", "actual", "target", "attainment")}


def board(**kw) -> Board:
    base = {"code": "b1", "title": "Board", "tiles": [
        {"id": "card", "type": "kpi_card", "metrics": ["revenue"], "place": {"row": 0, "order": 0, "width": 4}},
        {"id": "trend", "type": "trend", "metrics": ["revenue", "cost"], "place": {"row": 0, "order": 1}},
        {"id": "bars", "type": "bar_by_org", "metrics": ["revenue"], "place": {"row": 1, "order": 0}},
        {"id": "note", "type": "text", "text": "<b>not html</b>", "place": {"row": 2, "order": 0, "width": 12}}]}
    return Board.model_validate({**base, **kw})


@pytest.fixture
def data(wh):
    import_table(wh, "actuals", table([("revenue", u, f"2025-0{m}", v * m) for u, v in (("EAST", 100), ("SOUTH", 50))
                                       for m in (1, 2, 3)] + [("cost", "EAST", "2025-03", 90)]), source="t")
    import_table(wh, "targets", table([("revenue", "EAST", "2025", 1200), ("revenue", "SOUTH", "2025", 2400)]),
                 source="t")
    return wh


@pytest.mark.parametrize("raw, message", [
    ({"code": "Bad Code", "title": "x"}, "code: String should match pattern"),
    ({"code": "b", "title": "x", "colour": "red"}, "colour: unknown field"),
    ({"code": "b", "title": "x", "tiles": [{"type": "pie", "metrics": ["revenue"]}]}, "tiles[0].type"),
    ({"code": "b", "title": "x", "tiles": [{"type": "kpi_card", "metrics": []}]},
     "a kpi_card tile takes 1 metric, not 0"),
    ({"code": "b", "title": "x", "tiles": [{"type": "text"}]}, "a text tile needs its text"),
    ({"code": "b", "title": "x", "tiles": [{"type": "trend", "metrics": ["revenue"], "place": {"width": 13}}]},
     "tiles[0].place.width"),
    ({"code": "b", "title": "x", "share": "org"}, "share: org needs share_org"),
    ({"code": "b", "title": "x", "tiles": [{"id": "a", "type": "text", "text": "x"},
                                           {"id": "a", "type": "text", "text": "y"}]}, "same id"),
])
def test_the_model_names_the_bad_field(raw, message):
    with pytest.raises(ValidationFailed) as exc:
        boards.parse(raw)
    assert any(message in p for p in exc.value.problems), exc.value.problems


def test_references_are_checked(wh):
    b = board(tiles=[{"type": "kpi_card", "metrics": ["nope"]}], filters={"org": "MARS", "period": "2025-13"})
    problems = boards.check_references(wh, b)
    assert "tiles[0].metrics[0]: no metric 'nope'" in problems
    assert "filters.org: no org unit 'MARS'" in problems
    assert any(p.startswith("filters.period:") for p in problems)
    with pytest.raises(ValidationFailed):
        boards.save(wh, b)
    assert boards.all_boards(wh) == []


def test_saving_makes_versions_and_unchanged_makes_none(wh):
    assert boards.save(wh, board(), reason="first") == 1
    assert boards.save(wh, board()) == 1  # the same definition: no new version
    assert boards.save(wh, board(title="Renamed")) == 2
    assert boards.get(wh, "b1").title == "Renamed"
    boards.delete(wh, "b1", reason="gone")
    with pytest.raises(NotFound):
        boards.get(wh, "b1")
    assert boards.all_boards(wh) == []


LI = Actor("li", "team_lead", ("EAST",))
WANG = Actor("wang", "employee", ("SVC",))


@pytest.mark.parametrize("share, share_org, actor, sees", [
    ("private", None, LI, False),
    ("private", None, Actor("admin", "manager", ("OPS",)), True),   # the owner
    ("private", None, Actor("root", "admin"), True),                # an admin
    ("everyone", None, WANG, True),
    ("org", "SALES", LI, True),                                     # inside the shared subtree
    ("org", "SALES", WANG, False),                                  # outside it
    ("org", "SALES", Actor("zhao", "employee"), False),             # no unit known
    ("org", "EAST", Actor("sun", "manager", ("SALES",)), True),     # above it, reading it
    ("org", "SALES", Actor("ceo", "executive"), True),              # reads everything
])
def test_sharing(wh, share, share_org, actor, sees):
    b = board(share=share, share_org=share_org)
    assert boards.can_see(b, actor, org.tree(wh)) is sees


def test_an_outsider_cannot_open_a_private_board(wh):
    boards.save(wh, board(owner="li"))
    assert boards.open_for(wh, "b1", LI).title == "Board"
    with pytest.raises(NotFound, match="no board 'b1'"):
        boards.open_for(wh, "b1", WANG)
    assert [b.code for b in boards.visible(wh, WANG)] == []
    assert [b.code for b in boards.visible(wh, Actor("root", "admin"))] == ["b1"]


@pytest.mark.parametrize("actor, change, refused", [
    (Actor("li", "manager", ("SALES",)), {}, None),                                   # the owner
    (Actor("li", "manager", ("SALES",)), {"share": "org", "share_org": "EAST"}, None),
    (Actor("li", "manager", ("SALES",)), {"share": "org", "share_org": "OPS"}, "may not share boards with"),
    (Actor("li", "manager", ("SALES",)), {"share": "everyone"}, "not with everyone"),
    (Actor("sun", "manager", ("SALES",)), {}, "belongs to li"),                       # not the owner
    (Actor("li", "team_lead", ("EAST",)), {},  # the role builds none
     "may not change boards: that needs the admin, executive or manager role"),
    (Actor("ceo", "executive"), {"share": "everyone"}, "belongs to li"),
    (Actor("root", "admin"), {"share": "everyone"}, None),
])
def test_who_may_save_a_board(wh, actor, change, refused):
    boards.save(wh, board(owner="li"))
    changed = boards.Board.model_validate({**board(owner="li").definition(), "title": "New", **change})
    if refused is None:
        assert boards.save(wh, changed, user=actor) == 2
        return
    with pytest.raises(AccessDenied, match=refused):
        boards.save(wh, changed, user=actor)
    assert boards.get(wh, "b1").title == "Board"


def test_yaml_round_trip_and_paths_of_bad_fields(wh):
    boards.save(wh, board(share="everyone"))
    text = boards.export(wh)
    assert boards.load_yaml(text)[0] == boards.get(wh, "b1")
    assert boards.apply(wh, text) == {"b1": 1}  # re-applying changes nothing
    bad = text.replace("type: bar_by_org", "type: pie").replace("width: 4", "width: 40")
    with pytest.raises(ValidationFailed) as exc:
        boards.apply(wh, bad)
    assert any(p.startswith("boards[0].tiles[2].type") for p in exc.value.problems), exc.value.problems
    assert any(p.startswith("boards[0].tiles[0].place.width") for p in exc.value.problems)
    with pytest.raises(ValidationFailed, match="not valid YAML"):
        boards.apply(wh, "boards: [")


def test_cli_export_and_apply(wh_path, tmp_path):
    from kpi_core.store.warehouse import open_warehouse

    boards.save(open_warehouse(wh_path), board())
    out = tmp_path / "boards.yaml"
    assert cli(wh_path, "boards", "export", "--out", out).returncode == 0
    out.write_text(out.read_text(encoding="utf-8").replace("title: Board", "title: 新标题"), encoding="utf-8")
    r = cli(wh_path, "--format", "json", "boards", "apply", out, "--reason", "retitle")
    assert r.returncode == 0 and json.loads(r.stdout) == {"b1": 2}
    out.write_text("boards:\n- code: b1\n  title: x\n  tiles:\n  - type: gauge\n", encoding="utf-8")
    bad = cli(wh_path, "boards", "apply", out)
    assert bad.returncode == 1 and "boards[0].tiles[0]" in bad.stderr
    assert "新标题" in cli(wh_path, "boards", "list").stdout


@pytest.mark.parametrize("tile, cross, board_filters, expected", [
    ({"type": "kpi_card", "metrics": ["revenue"]}, None, {}, ("HQ", "2025-03", "month", "self")),
    ({"type": "bar_by_org", "metrics": ["revenue"]}, None, {"org": "SALES"}, ("SALES", "2025-03", "month", "children")),
    ({"type": "trend", "metrics": ["revenue"], "grain": "quarter"}, None, {}, ("HQ", "2025-Q1", "quarter", "self")),
    ({"type": "trend", "metrics": ["revenue"], "grain": "month"}, None, {"period": "2025", "grain": "year"},
     ("HQ", "2025-12", "month", "self")),
    ({"type": "kpi_card", "metrics": ["revenue"], "org": "OPS"}, {"org": "EAST"}, {}, ("EAST", "2025-03", "month",
                                                                                        "self")),
    ({"type": "bar_by_org", "metrics": ["revenue"]}, {"period": "2025-02"}, {"org": "SALES"},
     ("SALES", "2025-02", "month", "children")),
])
def test_tile_place(wh, tile, cross, board_filters, expected):
    b = board(filters=board_filters)
    place = tiles.place_of(b, Tile.model_validate(tile), org.tree(wh), TODAY, cross)
    assert (place.org, place.period, place.grain, place.scope) == expected


def test_tile_data_and_chart_specs(data):
    tr, ms = org.tree(data), dictionary.current(data)
    b = board(filters={"org": "SALES", "period": "2025-03"})
    kinds = {}
    for tile in [*b.tiles, Tile(type="heatmap", metrics=["revenue", "cost"]), Tile(type="bullet", metrics=["revenue"]),
                 Tile(type="gauge", metrics=["revenue"]), Tile(type="ranking", metrics=["revenue"], top=1)]:
        d = tiles.tile_data(data, b, tile, tr, TODAY)
        df = tiles.frame(d, ms, tr)
        if tile.type == "ranking":
            df = tiles.ranking(df, tile)
            assert list(df["org"]) == ["EAST"]  # EAST 300 / 100 beats SOUTH 150 / 200
        spec = tiles.chart(tile, df, LABELS)
        kinds[tile.type] = (len(d.cells), json.dumps(spec.to_dict()) if spec is not None else None)
    assert kinds["kpi_card"][0] == 1 and kinds["kpi_card"][1] is None
    assert kinds["trend"][0] == 24 and '"line"' in kinds["trend"][1]  # 2 metrics × 12 months
    assert kinds["bar_by_org"][0] == 2 and '"bar"' in kinds["bar_by_org"][1]
    assert kinds["heatmap"][0] == 4 and '"rect"' in kinds["heatmap"][1]
    assert '"arc"' in kinds["gauge"][1] and '"tick"' in kinds["bullet"][1]
    assert kinds["text"] == (0, None)


def test_a_scorecard_tile_shows_the_units_scorecard(data):
    from kpi_core.model.scorecard import ScorecardDef
    from kpi_core.store import scorecards

    scorecards.apply(data, [ScorecardDef.model_validate({"org": "SALES", "metrics": [
        {"metric": "cost", "weight": 1}, {"metric": "revenue", "weight": 3}]})], reason="test")
    tr, ms = org.tree(data), dictionary.current(data)
    b = board(filters={"org": "EAST", "period": "2025-03"})
    d = tiles.tile_data(data, b, Tile(type="scorecard"), tr, TODAY)
    assert (d.scorecard.origin, d.scorecard.source) == ("inherited", "SALES")  # EAST inherits, kept to its data
    assert [c.metric for c in d.cells] == d.scorecard.codes and d.scorecard.codes
    assert tiles.chart(Tile(type="scorecard"), tiles.frame(d, ms, tr), LABELS) is None  # a table, not a chart
    with pytest.raises(ValidationError):
        Tile(type="scorecard", metrics=["revenue"])  # its metrics come from the scorecard


def test_excel_export_has_a_sheet_per_tile_with_status_colours(data):
    tr, ms = org.tree(data), dictionary.current(data)
    b = board(filters={"org": "SALES", "period": "2025-03"},
              tiles=[{"type": "bar_by_org", "metrics": ["revenue"], "title": "=cmd|' /C calc'!A0"},
                     {"type": "text", "text": "@SUM(1)"}])
    wb = openpyxl.load_workbook(io.BytesIO(board_export.workbook(data, b, tr, ms, TODAY)))
    assert len(wb.sheetnames) == 3
    ws = wb.worksheets[1]
    assert ws["A1"].value.startswith("'=")  # a title that looks like a formula stays text
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, ws.max_row + 1)}
    east = rows["华东组"]
    assert ws.cell(row=east, column=7).value == "达标" and ws.cell(row=east, column=7).fill.fgColor.rgb.endswith(
        "D5F0E7")
    assert wb.worksheets[2]["A3"].value == "'@SUM(1)"


def test_chart_image_renders_chinese(data):
    pytest.importorskip("vl_convert")
    tr, ms = org.tree(data), dictionary.current(data)
    b = board(filters={"org": "SALES", "period": "2025-03"})
    tile = Tile(type="bar_by_org", metrics=["revenue"], title="各单位收入")
    svg = board_export.chart_image(data, b, tile, tr, ms, TODAY, "svg").decode()
    assert "<svg" in svg and "各单位收入" in svg and "华东组" in svg
    png = board_export.chart_image(data, b, tile, tr, ms, TODAY, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert board_export.chart_image(data, b, b.tiles[0], tr, ms, TODAY) is None  # a card has no chart


def test_freshness():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    assert tiles.freshness((now - dt.timedelta(minutes=3)).isoformat(), now, "en") == "updated 3 min ago"
    assert tiles.freshness((now - dt.timedelta(hours=2)).isoformat(), now, "zh") == "2 小时前更新"
    assert tiles.freshness(None, now) == "—"


def test_the_demo_ships_three_boards(demo_template):
    from kpi_core.store.warehouse import open_warehouse

    got = {b.code: b for b in boards.all_boards(open_warehouse(demo_template))}
    assert set(got) == {"executive_bsc", "sales", "quality_ops"}
    assert {t.type for b in got.values() for t in b.tiles} >= {"kpi_card", "trend", "heatmap", "bar_by_org",
                                                                "ranking", "bullet", "gauge", "table", "text"}
