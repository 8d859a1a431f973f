"""Read exactly, or refuse (SPEC §5): files whose cells are not what they look like.

Each case was a way to load a wrong number without a word. Each test asserts exactly what was
written: the facts that loaded, or that no table of the warehouse changed.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from kpi_core.cli.main import main
from kpi_core.ingest.datasets import import_file
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.files import FileRefused
from kpi_core.ingest.org_file import import_org
from kpi_core.model.errors import ValidationFailed
from kpi_core.query.api import Query, run
from tests.conftest import write_xlsx
from tests.system.test_hostile import H, state


def facts(wh, view: str = "actual") -> list[tuple]:
    with wh.connect() as con:
        return con.execute(f"SELECT metric, org, period, value FROM {view} ORDER BY ALL").fetchall()


def refused_whole(wh, path, kind="actuals", **kw):
    """Import `path`; assert nothing was written; return the problems as (row, column, value, message)."""
    before = state(wh)
    r = import_facts(wh, kind, path, **kw)
    assert r.batch is None and state(wh) == before
    return [(e.row, e.column, e.value, e.message) for e in r.errors]


def rewrite(path: Path, member: str, change) -> Path:
    """The workbook with one of its XML parts rewritten, as Excel or a script would have saved it."""
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts[member] = change(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    return path


# --- formula cells --------------------------------------------------------------------------------

def formulas_file(tmp_path) -> Path:
    """Three rows, two of them formulas written by openpyxl: no saved result, as scripts write them."""
    return write_xlsx(tmp_path / "formulas.xlsx", [H, ["revenue", "EAST", "2025-01", 100],
                                                   ["revenue", "SOUTH", "2025-01", "=D2*2"],
                                                   ["revenue", "SVC", "2025-01", "=SUM(D2:D3)"]])


def test_a_formula_without_a_saved_result_is_an_error_naming_its_cell(wh, tmp_path):
    problems = refused_whole(wh, formulas_file(tmp_path))
    assert [p[:3] for p in problems] == [(3, "actual", "=D2*2"), (4, "actual", "=SUM(D2:D3)")]
    assert problems[0][3].startswith("cell D3 holds the formula =D2*2 with no saved result")


def test_partial_loads_the_plain_row_and_reports_the_formulas_rejected(wh, tmp_path):
    r = import_facts(wh, "actuals", formulas_file(tmp_path), partial=True)
    assert (r.loaded, r.rejected, len(r.errors)) == (1, 2, 2)
    assert facts(wh) == [("revenue", "EAST", "2025-01", 100.0)]


def saved_by_excel(path: Path) -> Path:
    """The workbook as Excel saves it: results kept, no request to recalculate on opening."""
    return rewrite(path, "xl/workbook.xml", lambda x: re.sub(r' fullCalcOnLoad="1"', "", x))


def test_a_formula_with_its_saved_result_is_read_as_that_result(wh, tmp_path):
    """What Excel writes: <f>D2*2</f><v>200</v>; the result is what its author sees."""
    path = rewrite(formulas_file(tmp_path), "xl/worksheets/sheet1.xml",
                   lambda x: x.replace("<f>D2*2</f><v />", "<f>D2*2</f><v>200</v>")
                               .replace("<f>SUM(D2:D3)</f><v />", "<f>SUM(D2:D3)</f><v>300</v>"))
    r = import_facts(wh, "actuals", saved_by_excel(path))
    assert r.batch and not r.errors
    assert facts(wh) == [("revenue", "EAST", "2025-01", 100.0), ("revenue", "SOUTH", "2025-01", 200.0),
                         ("revenue", "SVC", "2025-01", 300.0)]


def test_results_a_workbook_recalculates_on_opening_are_not_trusted(wh, tmp_path):
    """XlsxWriter and the like save 0 as every formula's result and ask Excel to recalculate
    when it opens the file: the 0 is not what its author sees."""
    path = rewrite(formulas_file(tmp_path), "xl/worksheets/sheet1.xml",
                   lambda x: x.replace("<f>D2*2</f><v />", "<f>D2*2</f><v>0</v>")
                               .replace("<f>SUM(D2:D3)</f><v />", "<f>SUM(D2:D3)</f><v>0</v>"))
    problems = refused_whole(wh, path)
    assert [p[:3] for p in problems] == [(3, "actual", "=D2*2"), (4, "actual", "=SUM(D2:D3)")]
    assert problems[0][3].startswith("cell D3 holds the formula =D2*2 with a saved result that Excel replaces "
                                     "when the workbook opens")


def test_an_old_xls_formula_without_a_result_is_named(wh, tmp_path):
    """xlwt (and other writers of .xls) save an empty text as a formula's result."""
    import xlwt

    book = xlwt.Workbook()
    sh = book.add_sheet("S")
    rows = [H, ["revenue", "EAST", "2025-01", 5], ["revenue", "SOUTH", "2025-01", xlwt.Formula("D2*2")]]
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            sh.write(r, c, v)
    book.save(str(tmp_path / "old.xls"))
    problems = refused_whole(wh, tmp_path / "old.xls")
    assert [p[:3] for p in problems] == [(3, "actual", "(formula)")]
    assert problems[0][3].startswith("cell D3 holds the formula (formula) with no saved result")


def test_a_row_of_nothing_but_formulas_is_not_skipped_as_blank(wh, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [H, ["revenue", "EAST", "2025-01", 1],
                                            ['=A2', '=B2', '=C2', '=D2']])
    problems = refused_whole(wh, path)
    assert {(p[0], p[1]) for p in problems} == {(3, "metric"), (3, "org"), (3, "period"), (3, "actual")}


def test_a_shared_formula_and_a_wide_file_name_their_cells(wh, tmp_path):
    path = write_xlsx(tmp_path / "wide.xlsx", [["metric", "org", "2025-01", "2025-02"],
                                               ["revenue", "EAST", 5, "=C2"]])
    path = rewrite(path, "xl/worksheets/sheet1.xml",
                   lambda x: x.replace("<f>C2</f><v />", '<f t="shared" si="0"/>'))
    assert refused_whole(wh, path) == [(2, "2025-02", "(shared formula)",
                                        "cell D2 holds the formula (shared formula) with no saved result: the file "
                                        "was written by a program that does not calculate formulas. Open it in "
                                        "Excel (or LibreOffice), save it, and upload it again; or paste the values")]


def test_an_empty_text_result_is_an_empty_cell(wh, tmp_path):
    """A formula whose saved result is empty text shows an empty cell in Excel: nothing to load."""
    path = write_xlsx(tmp_path / "f.xlsx", [H, ["revenue", "EAST", "2025-01", 1],
                                            ["revenue", "SOUTH", "2025-01", "=X"]])
    path = rewrite(path, "xl/worksheets/sheet1.xml",
                   lambda x: x.replace('<c r="D3"><f>X</f><v /></c>', '<c r="D3" t="str"><f>X</f><v></v></c>'))
    r = import_facts(wh, "actuals", saved_by_excel(path))
    assert r.batch and r.loaded == 1 and facts(wh) == [("revenue", "EAST", "2025-01", 1.0)]


def test_a_header_formula_without_a_result_refuses_the_file(wh, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["metric", "org", "period", '="act"&"ual"'],
                                            ["revenue", "EAST", "2025-01", 1]])
    with pytest.raises(FileRefused, match=r"\(sheet 'Sheet1'\): header cell D1 holds the formula =\"act\"&\"ual\" "
                                          "with no saved result"):
        import_facts(wh, "actuals", path)
    assert facts(wh) == []


@pytest.mark.parametrize("importer", ["dataset", "org"])
def test_datasets_and_org_files_refuse_formulas_without_results(wh, tmp_path, importer):

    before = state(wh)
    if importer == "dataset":
        path = write_xlsx(tmp_path / "d.xlsx", [["order_date", "dept", "amount"], ["2025-01-05", "EAST", 10],
                                                ["2025-01-06", "EAST", "=C2*3"]])
        with pytest.raises(FileRefused, match=r"1 formula cell\(s\) have no saved result: C3 \(=C2\*3\)"):
            import_file(wh, "sales_orders", path)
    else:
        path = write_xlsx(tmp_path / "o.xlsx", [["code", "name", "parent"], ["X1", '=UPPER("x")', "HQ"]])
        with pytest.raises(FileRefused, match=r"B2 \(=UPPER\(\"x\"\)\)"):
            import_org(wh, path)
    assert state(wh) == before


# --- which sheet ----------------------------------------------------------------------------------

def book(tmp_path, sheets: list[tuple[str, str, float]], active: int = 0) -> Path:
    """A workbook of (title, state, EAST's revenue for 2025-01) sheets."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, visibility, value in sheets:
        ws = wb.create_sheet(title)
        for row in (H, ["revenue", "EAST", "2025-01", value]):
            ws.append(row)
        ws.sheet_state = visibility
    wb.active = active
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("hidden", ["hidden", "veryHidden"])
def test_a_hidden_sheet_of_old_figures_is_never_read_in_place_of_the_visible_one(wh, tmp_path, hidden):
    path = book(tmp_path, [("2024 old", hidden, 999.0), ("2025", "visible", 100.0)], active=1)
    r = import_facts(wh, "actuals", path)
    assert r.sheet == "2025" and facts(wh) == [("revenue", "EAST", "2025-01", 100.0)]


def test_a_hidden_sheet_named_is_read(wh, tmp_path):
    path = book(tmp_path, [("old", "hidden", 999.0), ("new", "visible", 100.0)], active=1)
    assert import_facts(wh, "actuals", path, sheet="old").batch
    assert facts(wh) == [("revenue", "EAST", "2025-01", 999.0)]


def test_data_only_on_a_hidden_sheet_is_refused_naming_it(wh, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["请在隐藏页填写"])
    ws = wb.create_sheet("数据")
    ws.append(H)
    ws.append(["revenue", "EAST", "2025-01", 1])
    ws.sheet_state = "hidden"
    wb.save(tmp_path / "b.xlsx")
    with pytest.raises(FileRefused, match="the data is on the hidden sheet '数据'"):
        import_facts(wh, "actuals", tmp_path / "b.xlsx")
    assert facts(wh) == []


def test_several_data_sheets_the_workbook_does_not_open_on_are_not_guessed(wh, tmp_path):
    wb = openpyxl.load_workbook(book(tmp_path, [("1月", "visible", 1.0), ("2月", "visible", 2.0)]))
    wb.create_sheet("说明", 0).append(["填报说明"])
    wb.active = 0
    wb.save(tmp_path / "book.xlsx")
    with pytest.raises(FileRefused, match=r"has data on 2 sheets \(1月, 2月\); choose the one to read"):
        import_facts(wh, "actuals", tmp_path / "book.xlsx")
    assert facts(wh) == []


def test_the_sheet_the_workbook_opens_on_is_read_and_the_others_are_named(wh_path, tmp_path):
    path = book(tmp_path, [("1月", "visible", 1.0), ("2月", "visible", 2.0)], active=1)
    out = CliRunner().invoke(main, ["--warehouse", str(wh_path), "import", "actuals", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert (data["loaded"], data["sheet"], data["other_sheets"]) == (1, "2月", ["1月"])


# --- values that are not what they look like -------------------------------------------------------

@pytest.mark.parametrize("cell, fragment", [
    ("10²", "SUPERSCRIPT TWO"),
    ('"(-1,200)"', "sign inside accounting brackets"),
    ("1e999", "not a finite number"),
    ("inf", "is not a number"),
    ("٣٤", "ARABIC-INDIC DIGIT THREE"),
    ("1\u200b00", "invisible character (\\u200b"),
])
def test_a_number_that_is_not_what_it_looks_like_is_refused_by_cell(wh, tmp_path, cell, fragment):
    path = tmp_path / "v.csv"
    path.write_text(f"metric,org,period,actual\nrevenue,EAST,2025-01,5\nrevenue,SOUTH,2025-01,{cell}\n",
                    encoding="utf-8")
    [(row, column, value, message)] = refused_whole(wh, path)
    assert (row, column) == (3, "actual") and fragment in message
    assert "\u200b" not in value + message


@pytest.mark.parametrize("metric, header, cell, number_format, expected", [
    ("on_time_rate", "actual", "95%", None, 0.95),           # a % metric takes a percentage
    ("on_time_rate", "actual", 0.95, "0%", 0.95),            # a number shown as 95%
    ("on_time_rate", "实际值(%)", 95, None, 0.95),           # a % header: the numbers are percentages
    ("revenue", "actual", "12%", None, "12% is a percentage, but revenue is measured in CNY"),
    ("revenue", "actual", 0.12, "0.0%", "12% is a percentage, but revenue is measured in CNY"),
    ("revenue", "实际值(%)", 12, None, "12 is a percentage, but revenue is measured in CNY"),
    ("headcount", "actual", "5‰", None, "5‰ is a percentage, but headcount is measured in count"),
    ("revenue", "actual", 0.12, "#,##0.00", 0.12),           # a plain number format is a plain number
])
def test_a_percentage_only_counts_for_a_metric_measured_in_percent(wh, tmp_path, metric, header, cell,
                                                                   number_format, expected):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["metric", "org", "period", header])
    ws.append([metric, "EAST", "2025-01", cell])
    if number_format:
        ws["D2"].number_format = number_format
    wb.save(tmp_path / "p.xlsx")
    if isinstance(expected, float):
        assert import_facts(wh, "actuals", tmp_path / "p.xlsx").batch
        assert facts(wh) == [(metric, "EAST", "2025-01", expected)]
    else:
        [(row, _column, _value, message)] = refused_whole(wh, tmp_path / "p.xlsx")
        assert row == 2 and message.startswith(expected)


@pytest.mark.parametrize("cell", ["2026-02-30", "2025-02-29", "2025/4/31", "2025年2月30日"])
def test_a_day_that_is_not_on_the_calendar_is_not_read_as_its_month(wh, tmp_path, cell):
    path = tmp_path / "d.csv"
    path.write_text(f"metric,org,period,actual\nrevenue,EAST,{cell},5\n", encoding="utf-8")
    [(row, column, value, message)] = refused_whole(wh, path)
    assert (row, column, value) == (2, "period", cell) and "is not a day on the calendar" in message


def test_an_infinity_never_reaches_a_total_and_json_stays_json(wh_path, tmp_path):
    """The text 'inf' made parent totals NaN and --format json print NaN, which is not JSON."""
    path = tmp_path / "inf.csv"
    path.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,5\nrevenue,SOUTH,2025-01,1e999\n", "utf-8")
    cli = CliRunner()
    out = cli.invoke(main, ["--warehouse", str(wh_path), "import", "actuals", str(path), "--partial",
                            "--format", "json"])
    assert json.loads(out.stdout)["loaded"] == 1
    out = cli.invoke(main, ["--warehouse", str(wh_path), "query", "--metric", "revenue", "--org", "SALES",
                            "--grain", "month", "--from", "2025-01", "--to", "2025-01", "--format", "json"])

    def no_constants(name):
        raise AssertionError(f"{name} in JSON output")

    [row] = json.loads(out.stdout, parse_constant=no_constants)
    assert (row["org"], row["actual"]) == ("SALES", 5.0)


@pytest.mark.parametrize("text, problem", [
    ("order_date,dept,amount\n2025-01-05,EAST,10\n2025-01-06,EAST,inf\n", (3, "amount", "inf")),
    ("order_date,dept,amount\n2025-01-05,EAST,10\n2025-01-06,EAST,1e999\n", (3, "amount", "inf")),
    ("order_date,dept,amount\n2025-01-05,EAST,10\n2025-01-06,EAST,NaN\n", (3, "amount", "nan")),
    ("order_date,dept,amount\n2025-01-05,EAST,10\n2026-02-30,EAST,4\n", (3, "order_date", "2026-02-30")),
])
def test_a_dataset_refuses_infinities_and_impossible_days_by_row(wh, tmp_path, text, problem):
    before = state(wh)
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        import_file(wh, "sales_orders", path)
    assert [(p.row, p.column, p.value) for p in refused.value.problems] == [problem]
    assert state(wh) == before
    assert run(wh, Query(("orders",), "EAST", "self", "month", "2025-01", "2025-01")).cells[0].actual == 1.0


def test_full_width_and_spaced_numbers_still_load_exactly(wh, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,１２３\nrevenue,SOUTH,2025-01,\"1 234 567\"\n"
                    "revenue,SVC,2025-01,\"(¥1,200)\"\n", encoding="utf-8")
    assert import_facts(wh, "actuals", path).batch
    assert facts(wh) == [("revenue", "EAST", "2025-01", 123.0), ("revenue", "SOUTH", "2025-01", 1234567.0),
                         ("revenue", "SVC", "2025-01", -1200.0)]


def test_messages_never_carry_a_raw_control_character(wh_path, tmp_path):
    path = tmp_path / "esc.csv"
    path.write_text("metric,org,period,actual\nrevenue,\x1b[2J\x1b[31mEAST,2025-01,5\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["--warehouse", str(wh_path), "import", "actuals", str(path)])
    assert out.exit_code == 1
    assert "\x1b" not in out.output and re.search(r"\\x1b\[2J\\x1b\[31mEAST", out.output), out.output


# --- what the sheet hides from its author, or shows once for many cells ------------------------------

def sheet(tmp_path, rows, change) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    change(ws)
    path = tmp_path / "s.xlsx"
    wb.save(path)
    return path


WIDE = [["metric", "org", "2025-01", "2025-02", "2025-03"], ["revenue", "EAST", 1, 2, 3],
        ["revenue", "SOUTH", 4, 5, 6], ["revenue", "SVC", 7, 8, 9]]


def hide_row(ws):
    ws.row_dimensions[3].hidden = True


def filter_out(ws):  # an autofilter hides the rows it filters out the same way
    ws.auto_filter.ref = "A1:E4"
    ws.row_dimensions[4].hidden = True


def hide_col(ws):
    ws.column_dimensions["D"].hidden = True


def merge_down(ws):
    ws.merge_cells("E2:E3")


def merge_across(ws):
    ws.merge_cells("C4:E4")


@pytest.mark.parametrize("change, expected", [
    (hide_row, [(3, "", "", "row 3 is hidden (or filtered out) in the sheet, so its author does not see it: "
                 "unhide it or delete it, and upload again")]),
    (filter_out, [(4, "", "", "row 4 is hidden (or filtered out) in the sheet, so its author does not see it: "
                   "unhide it or delete it, and upload again")]),
    (hide_col, [(1, "2025-02", "", "column '2025-02' is hidden in the sheet, so its author does not see it: "
                 "unhide it or delete it")]),
    (merge_down, [(2, "2025-03", "", "cells E2:E3 are merged: the one value shown would count for each of them; "
                   "unmerge them and give each cell its value")]),
    (merge_across, [(4, "2025-01", "", "cells C4:E4 are merged: the one value shown would count for each of "
                     "them; unmerge them and give each cell its value")]),
], ids=["hidden row", "filtered out", "hidden column", "merged down", "merged across"])
def test_a_value_the_author_does_not_see_or_sees_once_for_many_cells_is_refused(wh, tmp_path, change, expected):
    assert refused_whole(wh, sheet(tmp_path, WIDE, change)) == expected


def test_partial_loads_what_the_author_sees(wh, tmp_path):
    r = import_facts(wh, "actuals", sheet(tmp_path, WIDE, hide_row), partial=True)
    assert (r.loaded, r.rejected) == (6, 3)
    assert [f[1] for f in facts(wh)] == ["EAST"] * 3 + ["SVC"] * 3


def test_a_merged_label_still_covers_its_rows(wh, tmp_path):
    """A unit merged down over the rows of its metrics is each row's unit (labels, not values)."""
    rows = [["org", "metric", "2025-01"], ["EAST", "revenue", 5], [None, "cost", 3]]
    assert import_facts(wh, "actuals", sheet(tmp_path, rows, lambda ws: ws.merge_cells("A2:A3"))).batch
    assert facts(wh) == [("cost", "EAST", "2025-01", 3.0), ("revenue", "EAST", "2025-01", 5.0)]


@pytest.mark.parametrize("importer", ["dataset", "org"])
def test_datasets_and_org_files_refuse_hidden_rows(wh, tmp_path, importer):

    before = state(wh)
    if importer == "dataset":
        path = sheet(tmp_path, [["order_date", "dept", "amount"], ["2025-01-05", "EAST", 10],
                                ["2025-01-06", "EAST", 999]], lambda ws: setattr(ws.row_dimensions[3], "hidden", True))
        with pytest.raises(FileRefused, match="row 3 is hidden"):
            import_file(wh, "sales_orders", path)
    else:
        path = sheet(tmp_path, [["code", "name", "parent"], ["X1", "甲", "HQ"], ["X2", "乙", "HQ"]],
                     lambda ws: setattr(ws.column_dimensions["B"], "hidden", True))
        with pytest.raises(FileRefused, match="column\\(s\\) 'name' are hidden"):
            import_org(wh, path)
    assert state(wh) == before


def test_a_workbook_on_the_1904_date_system_reads_its_dates(wh, tmp_path):
    """Excel for Mac's 1904 dates: read with the 1900 epoch, a 2025-01 header was 2020-12."""
    import datetime as dt

    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.active.append(["metric", "org", dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)])
    wb.active.append(["revenue", "EAST", 1, 2])
    wb.save(tmp_path / "mac.xlsx")
    assert import_facts(wh, "actuals", tmp_path / "mac.xlsx").batch
    assert facts(wh) == [("revenue", "EAST", "2025-01", 1.0), ("revenue", "EAST", "2025-02", 2.0)]


# --- labels and units that say something of the numbers ------------------------------------------------

def test_a_unit_or_metric_whose_name_ends_like_a_total_is_loaded_not_passed_over(wh, tmp_path):
    """合计/累计 rows are totals and are passed over, but not when the label is a unit's or a
    metric's own name: those rows were lost without a word."""

    tree = tmp_path / "tree.csv"
    tree.write_text("code,name,parent\nEAST_SUM,华东合计,SALES\n", encoding="utf-8")
    assert import_org(wh, tree).batch
    path = tmp_path / "a.csv"
    path.write_text("metric,org,period,actual\nrevenue,华东合计,2025-01,5\nrevenue,合计,2025-01,99\n"
                    "revenue,EAST,2025-01,2\n", encoding="utf-8")
    r = import_facts(wh, "actuals", path)
    assert r.batch and (r.loaded, r.rejected) == (2, 0)
    assert facts(wh) == [("revenue", "EAST", "2025-01", 2.0), ("revenue", "EAST_SUM", "2025-01", 5.0)]


@pytest.mark.parametrize("header, metric, expected", [
    ("实际值(万元)", "revenue", 50000.0),                      # money in 万元: scaled
    ("实际值(万元)", "headcount", "the unit 万元 is CNY, but headcount is measured in count"),
    ("实际值(万)", "headcount", 50000.0),                       # 万 alone is a count too
    ("实际值(元)", "revenue", 5.0),
    ("实际值(千美元)", "revenue", "the unit 千美元 is USD, but revenue is measured in CNY"),
    ("实际值(USD)", "revenue", "the unit USD is USD, but revenue is measured in CNY"),
])
def test_a_money_unit_scales_only_money(wh, tmp_path, header, metric, expected):
    path = tmp_path / "u.csv"
    path.write_text(f"metric,org,period,{header}\n{metric},EAST,2025-01,5\n", encoding="utf-8")
    if isinstance(expected, float):
        assert import_facts(wh, "actuals", path).batch
        assert facts(wh) == [(metric, "EAST", "2025-01", expected)]
    else:
        [(row, _col, _val, message)] = refused_whole(wh, path)
        assert row == 2 and message.startswith(expected)


def test_a_unit_column_of_another_currency_is_refused_by_row(wh, tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("metric,org,period,单位,actual\nrevenue,EAST,2025-01,万元,5\nrevenue,SOUTH,2025-01,美元,7\n"
                    "headcount,SVC,2025-01,人,3\n", encoding="utf-8")
    [(row, _col, _val, message)] = refused_whole(wh, path)
    assert (row, message) == (3, "the unit 美元 is USD, but revenue is measured in CNY")
    assert import_facts(wh, "actuals", path, partial=True).loaded == 2
    assert facts(wh) == [("headcount", "SVC", "2025-01", 3.0), ("revenue", "EAST", "2025-01", 50000.0)]
