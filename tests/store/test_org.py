"""Org tree import: any depth, Chinese headers, and refusals that name the row."""

import openpyxl
import pytest

from kpi_core.ingest.org_file import import_org
from kpi_core.model.errors import ValidationFailed
from kpi_core.services.revert import revert
from kpi_core.store import batches, org
from kpi_core.store.warehouse import open_warehouse


@pytest.fixture
def wh(tmp_path):
    return open_warehouse(tmp_path / "w.duckdb")


def _csv(tmp_path, text, name="org.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


GOOD = "编码,名称,上级\nHQ,集团,\nD1,华东事业部,HQ\nD2,华南事业部,HQ\nT1,一组,D1\nP1,张三,T1\n"


def test_import_chinese_headers_any_depth(wh, tmp_path):
    r = import_org(wh, _csv(tmp_path, GOOD))
    assert r.batch and r.loaded == 5 and not r.errors
    t = org.tree(wh)
    assert t.root == "HQ"
    assert t.unit("P1").path == ("HQ", "D1", "T1", "P1") and t.unit("P1").depth == 3
    assert t.subtree("D1") == ["D1", "T1", "P1"]
    assert t.children["HQ"] == ["D1", "D2"]


def test_excel_with_title_row_english_headers_parent_by_name(wh, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Org chart 2026"])
    ws.append([])
    ws.append(["Parent", " Code ", "NAME"])
    ws.append([None, "HQ", "Group"])
    ws.append(["Group", "D1", "East"])
    ws.append(["D1", 1001, "Team 1001"])
    p = tmp_path / "org.xlsx"
    wb.save(p)
    r = import_org(wh, p)
    assert not r.errors, r.errors
    t = org.tree(wh)
    assert t.unit("D1").parent == "HQ" and t.unit("1001").parent == "D1"


BAD = [
    ("duplicate", "code,name,parent\nHQ,G,\nD1,A,HQ\nD1,B,HQ\n", (4, "code", "D1", "duplicate code (also on row 3)")),
    ("unknown parent", "code,name,parent\nHQ,G,\nD1,A,HX\n", (3, "parent", "HX", "parent 'HX' is not an org unit")),
    ("cycle", "code,name,parent\nHQ,G,\nA,A,B\nB,B,A\n", (3, "parent", "B", "cycle")),
    ("two roots", "code,name,parent\nHQ,G,\nX,Other,\n", (3, "parent", "", "more than one root")),
    ("empty code", "code,name,parent\nHQ,G,\n,A,HQ\n", (3, "code", "", "code is empty")),
    ("no name", "code,name,parent\nHQ,G,\nD1,,HQ\n", (3, "name", "", "has no name")),
]


@pytest.mark.parametrize("case, text, expected", BAD, ids=[b[0] for b in BAD])
def test_refusals_name_the_row_and_write_nothing(wh, tmp_path, case, text, expected):
    r = import_org(wh, _csv(tmp_path, text))
    assert r.batch is None
    row, col, value, fragment = expected
    assert any(e.row == row and e.column == col and e.value == value and fragment in e.message for e in r.errors), \
        r.errors
    assert len(org.tree(wh)) == 0 and batches.list_batches(wh) == []


def test_update_moves_unit_and_revert_restores(wh, tmp_path):
    import_org(wh, _csv(tmp_path, GOOD))
    r = import_org(wh, _csv(tmp_path, "code,name,parent\nT1,一组(调整),D2\n", "move.csv"))
    assert r.batch
    assert org.tree(wh).unit("T1").parent == "D2" and org.tree(wh).unit("T1").name == "一组(调整)"
    revert(wh, r.batch, reason="wrong file")
    assert org.tree(wh).unit("T1").parent == "D1"


def test_revert_that_breaks_the_tree_is_refused(wh, tmp_path):
    first = import_org(wh, _csv(tmp_path, GOOD)).batch
    import_org(wh, _csv(tmp_path, "code,name,parent\nT9,新组,D2\n", "add.csv"))
    with pytest.raises(ValidationFailed, match="break the org tree"):
        revert(wh, first, reason="wrong file")  # T9's parent D2 would vanish
    assert "D2" in org.tree(wh)


def test_gbk_csv(wh, tmp_path):
    r = import_org(wh, _csv(tmp_path, GOOD, encoding="gbk"))
    assert r.loaded == 5 and org.tree(wh).unit("D1").name == "华东事业部"


@pytest.mark.parametrize("code", ["=EVIL", "+1", "-X", "@SUM"])
def test_codes_that_a_spreadsheet_would_run_are_refused(wh, tmp_path, code):
    from kpi_core.ingest.org_file import import_org

    f = tmp_path / "org.csv"
    f.write_text(f"code,name,parent\n{code},坏单元,HQ\n", encoding="utf-8")
    res = import_org(wh, f)
    assert res.batch is None and res.errors[0].row == 2 and res.errors[0].value == code
    assert "may not start with" in res.errors[0].message
