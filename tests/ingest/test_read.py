"""Reading upload files (SPEC §5): Excel and CSV, title rows, blank rows, merged and stacked headers,
encodings, and the files refused before parsing — each refusal naming the file."""

import zipfile
from datetime import date

import openpyxl
import pandas as pd
import pytest
import xlwt
from msoffcrypto.format.ooxml import OOXMLFile

from kpi_core.ingest.files import FileRefused, check_file
from kpi_core.ingest.headers import FACT_ROLES, ORG_FILE_ROLES, header_finder, map_roles, normalise, role_of
from kpi_core.ingest.read import read_grid
from kpi_core.ingest.sheets import SeveralSheets
from kpi_core.model.periods import parse_period

FACTS_HEADER = header_finder(FACT_ROLES, need=3)  # what the actuals/targets import uses
MONTHS = [f"{m}月" for m in range(1, 13)]


def read(path, **kw):
    return read_grid(path, find_header=FACTS_HEADER, **kw)


def values(grid):
    return [c.to_pylist() for c in grid.columns]


# --- Excel layout ------------------------------------------------------------------------------

def test_title_row_and_blank_rows_are_skipped_keeping_sheet_row_numbers(xlsx):
    path = xlsx([
        ["2025年3月 各部门实际值"],
        [],
        ["metric", "org", "period", "actual"],
        ["revenue", "EAST", "2025-03", 100],
        [],
        [None, "  ", None, None],
        ["cost", "SOUTH", "2025-03", 50.5],
    ])
    g = read(path)
    assert g.header == ["metric", "org", "period", "actual"]
    assert g.header_row == 3
    assert g.rows.to_pylist() == [4, 7]  # the row numbers Excel shows
    assert g.n_rows == 2
    assert values(g) == [["revenue", "cost"], ["EAST", "SOUTH"], ["2025-03", "2025-03"], [100.0, 50.5]]
    assert g.sheet == "Sheet1" and g.context[:2] == ["Sheet1", "2025年3月 各部门实际值"]


def test_a_sheet_whose_used_area_starts_below_and_right_of_a1(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for col, text in zip("CDEF", ["metric", "org", "period", "actual"], strict=True):
        ws[f"{col}3"] = text
    for row, cells in ((5, ["revenue", "EAST", "2025-01", 1]), (7, ["revenue", "EAST", "2025-02", "x"])):
        for j, v in enumerate(cells):
            ws.cell(row=row, column=3 + j, value=v)
    wb.save(tmp_path / "offset.xlsx")
    g = read(tmp_path / "offset.xlsx")
    assert g.header == ["metric", "org", "period", "actual"]
    assert g.header_row == 3
    assert g.rows.to_pylist() == [5, 7]
    # A mostly-numbers column is read as numbers; its text cell comes back in cell_errors.
    assert values(g) == [["revenue"] * 2, ["EAST"] * 2, ["2025-01", "2025-02"], [1.0, None]]
    assert g.cell_errors == {(7, 3): "x"}


def test_merged_header_cells_year_over_months_and_dept_down_two_rows(xlsx):
    path = xlsx([
        ["2025年各部门收入"],
        ["部门", "指标", "2025年"] + [None] * 11,
        [None, None] + MONTHS,
        ["EAST", "revenue"] + list(range(1, 13)),
        ["SOUTH", "revenue", 5],
    ], merges=("A2:A3", "B2:B3", "C2:N2"))
    g = read(path)
    assert g.header == ["部门", "指标"] + [f"2025年 {m}" for m in MONTHS]
    assert g.header_row == 3  # the last header line
    assert g.rows.to_pylist() == [4, 5]
    assert [parse_period(h).label for h in g.header[2:]] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert values(g)[:3] == [["EAST", "SOUTH"], ["revenue", "revenue"], [1.0, 5.0]]


def test_merged_header_cells_with_a_number_year_and_date_headers(xlsx):
    # Excel turns a typed 2025 into a number and a typed 2025-03 into a date cell.
    path = xlsx([
        ["部门", "指标", 2025, None, date(2025, 3, 1), 202504],
        [None, None, "1月", "2月"],
        ["EAST", "revenue", 1, 2, 3, 4],
    ], merges=("A1:A2", "B1:B2", "C1:D1"))
    g = read(path)
    assert [parse_period(h).label for h in g.header[2:]] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert g.header_row == 2 and g.rows.to_pylist() == [3]


def test_wide_header_of_date_cells_is_found(xlsx):
    path = xlsx([["部门", "指标", date(2025, 1, 1), date(2025, 2, 1)], ["EAST", "revenue", 1, 2]])
    g = read(path)
    assert [parse_period(h).label for h in g.header[2:]] == ["2025-01", "2025-02"]
    assert g.rows.to_pylist() == [2]


def test_header_not_found_is_refused_naming_file_and_sheet(xlsx):
    path = xlsx([["just", "some"], ["text", "here"]], name="notes.xlsx", title="Notes")
    with pytest.raises(FileRefused, match=r"notes\.xlsx \(sheet 'Notes'\) has no header row"):
        read(path)


def test_sheet_choice(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"  # an empty first sheet is passed over
    a = wb.create_sheet("2024")
    a.append(["metric", "org", "period", "actual"])
    a.append(["revenue", "EAST", "2024-01", 1])
    b = wb.create_sheet("2025")
    b.append(["metric", "org", "period", "actual"])
    b.append(["revenue", "EAST", "2025-01", 2])
    wb.save(tmp_path / "book.xlsx")
    # Two sheets with data and the workbook opens on neither: which one is meant is not guessed.
    with pytest.raises(SeveralSheets, match=r"book\.xlsx has data on 2 sheets \(2024, 2025\)") as refused:
        read(tmp_path / "book.xlsx")
    assert refused.value.sheets == ["2024", "2025"]
    wb.active = 2  # saved while looking at 2025: that is the sheet its author sees
    wb.save(tmp_path / "book.xlsx")
    g = read(tmp_path / "book.xlsx")
    assert g.sheet == "2025" and g.other_sheets == ["2024"]
    g = read(tmp_path / "book.xlsx", sheet="2024")
    assert g.sheet == "2024" and values(g)[2] == ["2024-01"]
    g = read(tmp_path / "book.xlsx", sheet="2025")
    assert g.sheet == "2025" and values(g)[2] == ["2025-01"]
    with pytest.raises(FileRefused, match=r"book\.xlsx has no sheet '2026'; its sheets are: 说明, 2024, 2025"):
        read(tmp_path / "book.xlsx", sheet="2026")


def test_old_xls_ods_and_xlsm_workbooks(tmp_path):
    rows = [["部门", "指标", "1月", "2月"], ["EAST", "revenue", 1, 2.5]]
    book = xlwt.Workbook()
    sheet = book.add_sheet("2025年")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            sheet.write(i, j, v)
    book.save(str(tmp_path / "old.xls"))
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(tmp_path / "calc.ods", index=False, engine="odf")
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(tmp_path / "macro.xlsm")
    for name in ("old.xls", "calc.ods", "macro.xlsm"):
        g = read(tmp_path / name)
        assert g.header == rows[0], name
        assert g.rows.to_pylist() == [2], name
        got = values(g)
        assert got[:2] == [["EAST"], ["revenue"]] and [float(v) for v in (got[2][0], got[3][0])] == [1.0, 2.5], name
    assert read(tmp_path / "old.xls").context[0] == "2025年"


def test_excel_error_cells_are_kept_as_their_text(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for col, text in zip("BCDE", ["metric", "org", "period", "actual"], strict=True):
        ws[f"{col}2"] = text
    ws.append([None, "revenue", "EAST", "2025-01", "#DIV/0!"])
    ws.append([None, "#REF!", "EAST", "2025-02", 2])
    wb.save(tmp_path / "errors.xlsx")
    g = read(tmp_path / "errors.xlsx")
    assert values(g) == [["revenue", None], ["EAST", "EAST"], ["2025-01", "2025-02"], [None, 2.0]]
    assert g.cell_errors == {(3, 3): "#DIV/0!", (4, 0): "#REF!"}  # (sheet row, column in the grid)


def test_a_name_error_cell_refuses_the_file_with_a_clear_message(xlsx):
    path = xlsx([["metric", "org", "period", "actual"], ["revenue", "EAST", "2025-01", "#NAME?"]], name="f.xlsx")
    with pytest.raises(FileRefused, match=r"^f\.xlsx: a cell holds an Excel error \(calamine cell error: #NAME\?\)"):
        read(path)


# --- headers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("header, role", [
    ("metric", "metric"), (" Metric ", "metric"), ("METRIC_CODE", "metric"), ("Metric-Code", "metric"),
    ("ｍｅｔｒｉｃ", "metric"), ("KPI", "metric"), ("指标", "metric"), ("指标编码", "metric"), ("指 标", "metric"),
    ("metric name", "metric_name"), ("指标名称", "metric_name"),
    ("org", "org"), ("Org Code", "org"), ("ORG_UNIT", "org"), ("部门", "org"), ("组织", "org"),
    ("组织编码", "org"), ("部门名称", "org_name"), ("组织名称", "org_name"),
    ("period", "period"), ("Period ", "period"), ("期间", "period"), ("月份", "period"),
    ("actual", "actual"), ("Actual Value", "actual"), ("实际值", "actual"), ("完成值", "actual"),
    ("实际", "actual"), ("实际值(万元)", "actual"), ("实际值（元）", "actual"), ("*实际值:", "actual"),
    ("target", "target"), ("目标值", "target"), ("目标", "target"), ("Target Value", "target"),
    ("value", "value"), ("数值", "value"),
    ("备注", None), ("", None), (None, None), ("2025-01", None),
])
def test_fact_header_aliases(header, role):
    assert role_of(header, FACT_ROLES) == role


@pytest.mark.parametrize("header, role", [
    ("code", "code"), ("编码", "code"), ("组织编码", "code"), ("name", "name"), ("名称", "name"),
    ("组织名称", "name"), ("parent", "parent"), ("上级", "parent"), ("上级组织", "parent"), ("上级编码", "parent"),
])
def test_org_file_header_aliases(header, role):
    assert role_of(header, ORG_FILE_ROLES) == role


def test_headers_in_any_order_case_and_spacing(xlsx):
    path = xlsx([["备注", " ACTUAL ", "Period", "org code", " 指标 "], ["x", 1, "2025-01", "EAST", "revenue"]])
    g = read(path)
    roles, problems = map_roles(g.header, FACT_ROLES)
    assert problems == []
    assert roles == {"actual": 1, "period": 2, "org": 3, "metric": 4}
    assert g.header == ["备注", "ACTUAL", "Period", "org code", "指标"]  # trimmed, as written


def test_a_role_named_twice_is_a_problem():
    _, problems = map_roles(["期间", "月份", "指标", "部门", "实际值"], FACT_ROLES)
    assert [p.message for p in problems] == ["two columns mean 'period': '期间' and '月份'"]


def test_normalise():
    assert normalise(" Org_Code ") == normalise("org-code") == normalise("ＯＲＧ ＣＯＤＥ") == "orgcode"
    assert normalise("实际值（万元）") == "实际值"


# --- CSV ---------------------------------------------------------------------------------------

CSV_TEXT = "指标,部门,期间,实际值\n销售收入,华东组,2025年3月,\"1,234.5\"\n成本,华南组,2025-03,12\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings(tmp_path, encoding):
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    g = read(path)
    assert g.header == ["指标", "部门", "期间", "实际值"]
    assert values(g) == [["销售收入", "成本"], ["华东组", "华南组"], ["2025年3月", "2025-03"], ["1,234.5", "12"]]
    assert g.rows.to_pylist() == [2, 3]


def test_gb18030_characters_outside_gbk(tmp_path):
    path = tmp_path / "rare.csv"
    path.write_bytes("指标,部门,期间,实际值\nrevenue,䶮𠀀组,2025-01,1\n".encode("gb18030"))
    assert values(read(path))[1] == ["䶮𠀀组"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_separators(tmp_path, sep):
    path = tmp_path / "sep.csv"
    path.write_text(sep.join(["metric", "org", "period", "actual"]) + "\n"
                    + sep.join(["revenue", "EAST", "2025-01", '"1,234.5"']) + "\n", encoding="utf-8")
    g = read(path)
    assert g.header == ["metric", "org", "period", "actual"]
    assert values(g) == [["revenue"], ["EAST"], ["2025-01"], ["1,234.5"]]


def test_csv_line_numbers_with_title_blank_lines_and_a_multiline_cell(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        "2025年3月实际值\n"                            # 1 title
        "\n"                                            # 2
        "metric,org,period,actual,note\n"               # 3 header
        "revenue,EAST,2025-03,1,\n"                     # 4
        ",,,,\n"                                        # 5 blank row
        'revenue,SOUTH,2025-03,2,"two\nlines"\n'        # 6-7
        "cost,EAST,2025-03,3,\n",                       # 8
        encoding="utf-8")
    g = read(path)
    assert g.header_row == 3
    assert g.rows.to_pylist() == [4, 6, 8]
    assert values(g)[3] == ["1", "2", "3"] and values(g)[4] == [None, "two\nlines", None]
    assert g.context == ["2025年3月实际值", ""]


def test_csv_short_and_long_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("metric,org,period,actual\nrevenue,EAST\nrevenue,EAST,2025-01,1,extra\n", encoding="utf-8")
    g = read(path)
    assert g.header == ["metric", "org", "period", "actual", ""]
    assert values(g) == [["revenue"] * 2, ["EAST"] * 2, [None, "2025-01"], [None, "1"], [None, "extra"]]


# --- refusals ----------------------------------------------------------------------------------

def _good_xlsx(path, n_rows=3, title=False):
    wb = openpyxl.Workbook()
    if title:
        wb.active.append(["2025年实际值"])
    wb.active.append(["metric", "org", "period", "actual"])
    for i in range(n_rows):
        wb.active.append(["revenue", "EAST", f"2025-{i % 12 + 1:02d}", i])
    wb.save(path)
    return path


def _empty(p):
    p.write_bytes(b"")


def _csv_text_named_xlsx(p):
    p.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,1\n", encoding="utf-8")


def _pdf_named_xlsx(p):
    p.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")


def _html_named_xlsx(p):
    p.write_text("<html><body><table><tr><td>metric</td></tr></table></body></html>", encoding="utf-8")


def _password_protected(p):
    plain = _good_xlsx(p.with_name("plain.xlsx"))
    with plain.open("rb") as src, p.open("wb") as out:
        OOXMLFile(src).encrypt("secret", out)


def _xls_named_xlsx(p):
    book = xlwt.Workbook()
    book.add_sheet("s").write(0, 0, "metric")
    book.save(str(p))


def _text_named_xls(p):
    p.write_text("metric\torg\n", encoding="utf-8")


def _zip_not_workbook(p):
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "hello")


def _damaged_zip(p):
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 200)


def _zip_bomb(p):
    _good_xlsx(p)
    with zipfile.ZipFile(p, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/padding.bin", b"\0" * (3 * 2**20))  # 3 MB that packs to a few KB


def _binary_csv(p):
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def _latin1_csv(p):
    p.write_bytes("metric,org\ncafé,Zürich\xff\n".encode("latin-1"))


def _blank_csv(p):
    p.write_text("\n\n   \n,,,\n", encoding="utf-8")


def _many_rows_xlsx(p):
    _good_xlsx(p, n_rows=6, title=True)


def _many_rows_csv(p):
    p.write_text("title\nmetric,org,period,actual\n" + "revenue,EAST,2025-01,1\n" * 6, encoding="utf-8")


def _big_file(p):
    p.write_text("metric,org,period,actual\n" + "revenue,EAST,2025-01,1\n" * 3000, encoding="utf-8")


@pytest.mark.parametrize("name, make, env, fragment", [
    ("empty.xlsx", _empty, {}, "empty.xlsx is empty (0 bytes)"),
    ("empty.csv", _empty, {}, "empty.csv is empty (0 bytes)"),
    ("blank.csv", _blank_csv, {}, "blank.csv has no header row"),
    ("really.xlsx", _csv_text_named_xlsx, {}, "really.xlsx is not an Excel workbook (it looks like a text file)"),
    ("scan.xlsx", _pdf_named_xlsx, {}, "scan.xlsx is not an Excel workbook (it looks like a PDF document)"),
    ("page.xlsx", _html_named_xlsx, {}, "page.xlsx is not an Excel workbook (it looks like an HTML/XML document)"),
    ("locked.xlsx", _password_protected, {}, "locked.xlsx is password-protected; remove the password"),
    ("legacy.xlsx", _xls_named_xlsx, {}, "legacy.xlsx is an old .xls workbook saved with a .xlsx name"),
    ("text.xls", _text_named_xls, {}, "text.xls is not an Excel .xls workbook (it looks like a text file)"),
    ("archive.xlsx", _zip_not_workbook, {}, "archive.xlsx is a zip archive but not a .xlsx workbook"),
    ("broken.xlsx", _damaged_zip, {}, "broken.xlsx is damaged"),
    ("image.csv", _binary_csv, {}, "image.csv is not a CSV text file"),
    ("latin.csv", _latin1_csv, {}, "latin.csv is neither UTF-8 nor GBK text"),
    ("report.pdf", _pdf_named_xlsx, {}, "report.pdf: unsupported file type '.pdf'"),
    ("noext", _csv_text_named_xlsx, {}, "noext: unsupported file type 'none'"),
    ("big.csv", _big_file, {"KPI_MAX_FILE_MB": "0.01"}, "big.csv is 0.066 MB; the limit is 0.01 MB (KPI_MAX_FILE_MB)"),
    ("rows.xlsx", _many_rows_xlsx, {"KPI_MAX_ROWS": "5"}, "rows.xlsx has 6 rows, over the 5-row limit (KPI_MAX_ROWS)"),
    ("rows.csv", _many_rows_csv, {"KPI_MAX_ROWS": "5"}, "rows.csv has 6 rows, over the 5-row limit (KPI_MAX_ROWS)"),
    ("bomb.xlsx", _zip_bomb, {"KPI_MAX_UNZIPPED_MB": "2"},
     "MB, over the 2 MB limit (KPI_MAX_UNZIPPED_MB); it may be a zip bomb"),
])
def test_refused_files_name_the_file(tmp_path, monkeypatch, name, make, env, fragment):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    path = tmp_path / name
    make(path)
    with pytest.raises(FileRefused) as err:
        read(path)
    assert fragment in str(err.value)
    assert str(err.value).startswith(name)  # the message names the file first


def test_missing_file(tmp_path):
    with pytest.raises(FileRefused, match=r"^nothere\.xlsx: no such file$"):
        read(tmp_path / "nothere.xlsx")


@pytest.mark.parametrize("n_rows, ok", [(5, True), (6, False)])
def test_row_limit_counts_data_rows_only(tmp_path, monkeypatch, n_rows, ok):
    monkeypatch.setenv("KPI_MAX_ROWS", "5")
    path = _good_xlsx(tmp_path / "limit.xlsx", n_rows=n_rows, title=True)
    if ok:
        assert read(path).n_rows == 5
    else:
        with pytest.raises(FileRefused, match="KPI_MAX_ROWS"):
            read(path)


def test_limits_at_their_defaults_accept_ordinary_files(tmp_path):
    path = _zip_bomb(tmp_path / "padded.xlsx") or tmp_path / "padded.xlsx"
    assert check_file(path) == "excel"
    assert read(path).n_rows == 3


def test_merged_cells_in_the_body_belong_to_every_row_they_cover(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["部门", "指标", "1月", "2月"])
    ws.append(["EAST", "revenue", 1, 2])
    ws.append([None, "cost", 3, 4])
    ws.append([None, "orders", 5, 6])
    ws.append(["SOUTH", "revenue", 7, 8])
    ws.merge_cells("A2:A4")
    path = tmp_path / "m.xlsx"
    wb.save(path)
    g = read_grid(path)
    assert g.columns[0].to_pylist() == ["EAST", "EAST", "EAST", "SOUTH"]
    assert g.rows.to_pylist() == [2, 3, 4, 5]


def test_an_instructions_sheet_before_the_data_is_passed_over(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "填报说明"
    ws.append(["请在第二个工作表填写实际值。"])
    ws.append(["百分比写成 95% 或 0.95。"])
    data = wb.create_sheet("2025年")
    data.append(["指标", "组织", "期间", "实际值"])
    data.append(["revenue", "EAST", "2025-01", 1])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    g = read_grid(path, find_header=header_finder(FACT_ROLES, need=3))
    assert g.sheet == "2025年" and g.n_rows == 1
