"""Upload templates read back as they are; the preview names every cell that changes and how
its status moves."""

import openpyxl
import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.preview import preview
from kpi_core.ingest.template import template
from tests.engine.test_phasing import table


@pytest.mark.parametrize("kind", ["actuals", "targets"])
def test_a_template_imports_unchanged(wh, tmp_path, kind):
    import_table(wh, kind, table([("revenue" if kind == "targets" else "headcount", "EAST", "2025-03", 12)]),
                 source="t")
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(template(wh, kind, "SALES", 2025))
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[3]]
    assert header[:5] == ["组织编码", "组织名称", "指标编码", "指标名称", "单位"]
    assert "2025年3月" in header and (("2025年" in header) == (kind == "targets"))
    units = {ws.cell(row=r, column=1).value for r in range(4, ws.max_row + 1)}
    assert units == {"SALES", "EAST", "SOUTH"}  # the unit and its direct children
    r = import_facts(wh, kind, path, dry_run=True)
    assert r.errors == [] and r.changes == {"new": 0, "changed": 0, "unchanged": 1}


def test_actuals_template_has_only_uploadable_metrics(wh, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(template(wh, "actuals", "EAST", 2025))
    ws = openpyxl.load_workbook(path).active
    codes = {ws.cell(row=r, column=3).value for r in range(4, ws.max_row + 1)}
    assert "orders" not in codes and "gross_margin" not in codes  # dataset and formula metrics
    assert {"revenue", "headcount"} <= codes


def test_preview_counts_changes_and_status_moves(wh, tmp_path):
    import_table(wh, "targets", table([("revenue", "EAST", "2025-01", 100), ("revenue", "SOUTH", "2025-01", 100)]),
                 source="t")
    import_table(wh, "actuals", table([("revenue", "EAST", "2025-01", 120), ("revenue", "SOUTH", "2025-01", 50)]),
                 source="t")
    path = tmp_path / "up.csv"
    path.write_text("metric,org,period,value\nrevenue,EAST,2025-01,80\nrevenue,SOUTH,2025-01,50\n"
                    "revenue,EAST,2025-02,10\n", encoding="utf-8")
    r = import_facts(wh, "actuals", path, dry_run=True)
    p = preview(wh, "actuals", r.facts)
    assert p.unchanged == 1
    moved = {(c["org"], c["period"]): (c["status_before"], c["status_after"]) for c in p.changes}
    assert moved == {("EAST", "2025-01"): ("green", "red"), ("EAST", "2025-02"): ("no_data", "no_target")}
    assert p.turned == {"red": 1, "no_target": 1}


def test_a_column_of_another_frequency_refuses_input_and_the_rest_takes_numbers(wh, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(template(wh, "actuals", "EAST", 2025))
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[3]]
    grain = {i + 1: ("quarter" if "Q" in h else "month") for i, h in enumerate(header) if h.startswith("2025年")}
    freq = {r: ws.cell(row=r, column=3).value for r in range(4, ws.max_row + 1)}
    quarterly = {"nps"}  # the one quarterly metric of the test dictionary (tests/conftest.py)
    assert quarterly <= set(freq.values()) and "quarter" in grain.values()
    rule = {}  # (row, column) → the validation that covers it
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                for col in range(rng.min_col, rng.max_col + 1):
                    assert (row, col) not in rule, "two rules on one cell"
                    rule[(row, col)] = dv
    for r, metric in freq.items():
        for col, g in grain.items():
            applies = g == ("quarter" if metric in quarterly else "month")
            dv = rule[(r, col)]
            assert (dv.type, dv.showErrorMessage) == (("decimal", False) if applies else ("textLength", True)), (
                r, col, metric)
            assert (ws.cell(row=r, column=col).fill.fgColor.rgb == "00EEEEEE") == (not applies)


def test_the_org_template_reads_back_as_the_tree_it_shows(wh, tmp_path):
    from kpi_core.ingest.org_file import import_org
    from kpi_core.ingest.template import org_template
    from kpi_core.store.org import tree

    tr = tree(wh)
    for lang in ("zh", "en"):
        path = tmp_path / f"org_{lang}.xlsx"
        path.write_bytes(org_template(tr, lang))
        result = import_org(wh, path, dry_run=True)
        assert result.errors == [] and result.loaded == len(tr.units), lang
    ws = openpyxl.load_workbook(tmp_path / "org_zh.xlsx").active
    assert [c.value for c in ws[2]] == ["编码", "名称", "上级编码"]
    assert [ws.cell(row=r, column=1).value for r in range(3, 3 + len(tr.units))] == tr.subtree(tr.root)
