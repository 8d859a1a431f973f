"""Identities that cannot be confused (SPEC §5, §7): codes folded once, everywhere; collisions
refused when a code is made; what a cell holds shown escaped, never raw.

Before: codes that differed only by width, case or an invisible character could be created
side by side, and an upload naming one landed on the other, in another division.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kpi_core.auth import users
from kpi_core.cli.main import main
from kpi_core.ingest.datasets import import_file
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.org_file import import_org
from kpi_core.model import text
from kpi_core.model.access import Actor
from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.query.api import Query, run
from kpi_core.store import org
from tests.system.test_hostile import state
from tests.system.test_read_exactly import facts


@pytest.mark.parametrize("raw, folded, key", [
    ("EAST", "EAST", "east"),
    ("ＥＡＳＴ", "EAST", "east"),             # full width
    (" EAST\u200b ", "EAST", "east"),         # a zero-width space and spaces
    ("E\u00adAST", "EAST", "east"),           # a soft hyphen
    ("\ufeffEAST", "EAST", "east"),           # a BOM
    ("D1\u2060-T1", "D1-T1", "d1-t1"),        # a word joiner
    ("华东\u3000组", "华东 组", "华东 组"),      # an ideographic space is a space
    (1001.0, "1001", "1001"),                 # a code Excel read as a number
])
def test_fold_and_key(raw, folded, key):
    assert text.fold(raw) == folded and text.key(raw) == key


@pytest.mark.parametrize("raw, shown", [
    ("a\u200bb", "a\\u200bb"), ("\x1b[31m", "\\x1b[31m"), ("x\u202ey", "x\\u202ey"), ("ok 中文", "ok 中文"),
    ("tab\there", "tab\\x09here"), ("\U000e0041", "\\U000e0041"), ("\u3164", "\\u3164"),
])
def test_visible(raw, shown):
    assert text.visible(raw) == shown


@pytest.fixture
def tree_file(tmp_path):
    def make(lines: str):
        p = tmp_path / f"org{abs(hash(lines))}.csv"
        p.write_text("code,name,parent\n" + lines, encoding="utf-8")
        return p
    return make


@pytest.mark.parametrize("code, other", [
    ("ＥＡＳＴ", None), ("east", "EAST"), ("EAST\u200b", None), ("E\u00adAST", None), ("East", "EAST"),
    ("ｅａｓｔ", "EAST"),
])
def test_a_code_that_folds_onto_an_existing_one_is_refused_at_creation(wh, tree_file, code, other):
    """EAST exists. A unit whose code folds onto it is refused (an exact repeat of EAST after
    folding is an update of EAST, not a new unit: its name and parent change)."""
    before = state(wh)
    r = import_org(wh, tree_file(f"{code},新东区,OPS\n"))
    if other is None:  # full width or invisible characters only: it IS EAST, moved under OPS, renamed
        assert r.batch and org.tree(wh).unit("EAST").parent == "OPS"
        assert [c for c in org.tree(wh).units if text.key(c) == "east"] == ["EAST"]
        return
    assert r.batch is None and state(wh) == before
    [p] = r.errors
    assert (p.row, p.column) == (2, "code")
    assert p.message.startswith(f"code '{text.fold(code)}' is the same as '{other}' already in the org tree")


def test_codes_that_collide_within_one_file_are_refused(wh, tree_file):
    before = state(wh)
    r = import_org(wh, tree_file("N1,甲,HQ\nn1,乙,HQ\n"))
    assert r.batch is None and state(wh) == before
    assert [(p.row, p.value) for p in r.errors] == [(3, "n1")] and "on row 2" in r.errors[0].message


@pytest.mark.parametrize("cell", ["\x1bX", "X\nY", "X\x07"])
def test_control_characters_are_refused_in_codes_and_names(wh, tree_file, cell):
    r = import_org(wh, tree_file(f'"{cell}",名,HQ\nOK1,"坏{cell}",HQ\n'))
    assert r.batch is None
    second = 3 + cell.count("\n")  # a CSV record's row is the line it starts on
    assert [(p.row, p.column) for p in r.errors] == [(2, "code"), (second, "name")]
    assert all("control character" in p.message and "\x1b" not in p.message + p.value for p in r.errors)


def test_codes_are_stored_folded(wh, tree_file):
    assert import_org(wh, tree_file("Ｎ９,新组,ＳＡＬＥＳ\n")).batch
    t = org.tree(wh)
    assert t.unit("N9").parent == "SALES" and "Ｎ９" not in t


@pytest.mark.parametrize("cell", ["EAST", "east", "ＥＡＳＴ", "EAST\u200b", " East "])
def test_an_upload_lands_on_the_unit_it_names_whatever_the_width_or_case(wh, tmp_path, cell):
    path = tmp_path / "a.csv"
    path.write_text(f"metric,org,period,actual\nrevenue,{cell},2025-01,7\n", encoding="utf-8")
    assert import_facts(wh, "actuals", path).batch
    assert facts(wh) == [("revenue", "EAST", "2025-01", 7.0)]


def _collide(wh):
    """Two units that fold together, as an older warehouse may hold: created before the rule."""
    with wh.transaction() as con:
        con.execute("INSERT INTO batch VALUES (900, 'org', NULL, NULL, 'old', NULL, 'admin', now(), 1, 1, 0, "
                    "'loaded', NULL, NULL, NULL)")
        con.execute("INSERT INTO org_unit_version VALUES ('Ｅast', '旧东区', 'OPS', 99, 900)")


def test_an_upload_naming_colliding_codes_is_refused_not_guessed(wh, tmp_path):
    _collide(wh)
    before = state(wh)
    path = tmp_path / "a.csv"
    path.write_text("metric,org,period,actual\nrevenue,east,2025-01,7\n", encoding="utf-8")
    r = import_facts(wh, "actuals", path)
    assert r.batch is None and state(wh) == before
    assert r.errors[0].message == ("org code 'east' matches several units (EAST, Ｅast); "
                                   "an admin must rename all but one")


def test_a_team_lead_cannot_reach_another_unit_by_writing_its_code_differently(wh, tmp_path):
    """li leads EAST; SOUTH written in full width is still SOUTH, outside li's reach."""
    lead = Actor("li", "team_lead", ("EAST",))
    path = tmp_path / "a.csv"
    path.write_text("metric,org,period,actual\nrevenue,ＳＯＵＴＨ,2025-01,7\nrevenue,ｅａｓｔ,2025-01,3\n", "utf-8")
    before = state(wh)
    r = import_facts(wh, "actuals", path, user=lead)
    assert r.batch is None and state(wh) == before
    assert [(p.row, p.value) for p in r.errors] == [(2, "ＳＯＵＴＨ")]
    assert r.errors[0].message.startswith("SOUTH is outside the units you may load actuals for")


@pytest.mark.parametrize("typed", ["east", "ＥＡＳＴ", "EAST\u200b"])
def test_a_typed_code_is_resolved_once_for_queries_and_users(wh, typed):
    [cell] = run(wh, Query(("revenue",), typed, "self", "year", "2025", "2025")).cells
    assert cell.org == "EAST"
    u = users.add(wh, f"u{abs(hash(typed)) % 1000}", "team_lead", orgs=[typed], password="long enough pw")
    assert u.orgs == ("EAST",)


def test_a_code_that_names_no_unit_is_named_escaped(wh):
    with pytest.raises(NotFound) as missing:
        run(wh, Query(("revenue",), "NO\u200bPE\x1b", "self", "year", "2025", "2025"))
    assert str(missing.value) == "no org unit 'NO\\u200bPE\\x1b'"


def test_problems_show_invisible_characters_escaped_in_text_and_json(wh_path, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("metric,org,period,actual\nrevenue,XY\u200bZ,2025-01,7\n", encoding="utf-8")
    cli = CliRunner()
    out = cli.invoke(main, ["--warehouse", str(wh_path), "import", "actuals", str(path)])
    assert "\u200b" not in out.output and "unknown org unit 'XYZ'" in out.output  # folded, then unknown
    path.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,1\u200b2\n", encoding="utf-8")
    out = cli.invoke(main, ["--warehouse", str(wh_path), "import", "actuals", str(path), "--format", "json"])
    assert "\u200b" not in out.stdout
    [err] = json.loads(out.stdout)["errors"]
    assert err["value"] == "1\\u200b2" and "invisible character (\\u200b, ZERO WIDTH SPACE)" in err["message"]


def test_names_from_an_older_warehouse_reach_the_terminal_escaped(wh_path):
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(wh_path)
    with wh.transaction() as con:
        con.execute("INSERT INTO batch VALUES (901, 'org', NULL, NULL, 'old', NULL, 'admin', now(), 1, 1, 0, "
                    "'loaded', NULL, NULL, NULL)")
        con.execute("INSERT INTO org_unit_version VALUES ('BAD', E'\\x1b[2J清屏', 'HQ', 99, 901)")
    out = CliRunner().invoke(main, ["--warehouse", str(wh_path), "org", "list"])
    assert "\x1b" not in out.output and "\\x1b[2J清屏" in out.output
    out = CliRunner().invoke(main, ["--warehouse", str(wh_path), "org", "list", "--format", "json"])
    assert "\x1b" not in out.stdout and {"code": "BAD", "name": "\x1b[2J清屏", "parent": "HQ", "depth": 1} in \
        json.loads(out.stdout)


def test_an_older_collision_in_a_user_name_is_not_guessed(wh):
    users.add(wh, "li", "admin", password="long enough pw")
    with wh.transaction(bump=False) as con:  # as a warehouse from before the rule may hold
        con.execute("INSERT INTO app_user VALUES ('LI', NULL, 'admin', NULL, NULL, true, now())")
    assert users.get(wh, "li").name == "li" and users.get(wh, "LI").name == "LI"
    with pytest.raises(NotFound):
        users.get(wh, "Li")
    with pytest.raises(ValidationFailed, match="exists already"):
        users.add(wh, "lI", "admin", password="long enough pw")


@pytest.mark.parametrize("name, outcome", [
    ("ｓａｌｅｓ_ｏｒｄｅｒｓ", "the same dataset"), ("sales_orders\u200b", "the same dataset"),
    ("Sales_Orders", "dataset name 'Sales_Orders' differs from the dataset 'sales_orders' only by letter case or "
                     "width; use that name"),
])
def test_a_dataset_name_is_one_identity(wh, tmp_path, name, outcome):
    from kpi_core.model.errors import KpiError
    from kpi_core.store import datasets

    path = tmp_path / "orders.csv"
    path.write_text("order_date,dept,amount\n2025-01-05,EAST,10\n2025-01-06,EAST,20\n", encoding="utf-8")
    if outcome == "the same dataset":
        assert import_file(wh, name, path).batch
        assert [d["name"] for d in datasets.list_datasets(wh)] == ["sales_orders"]
        assert run(wh, Query(("orders",), "EAST", "self", "month", "2025-01", "2025-01")).cells[0].actual == 2.0
        return
    before = state(wh)
    with pytest.raises(KpiError) as refused:
        import_file(wh, name, path)
    assert str(refused.value) == outcome and state(wh) == before
