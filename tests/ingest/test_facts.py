"""Importing actuals and targets (SPEC §5) and `import … --format json` (SPEC §6).

Every rule is a case: the exact (row, column, value) of the problem and a fragment of its message,
the whole file refused with nothing written, and --partial loading the good facts only.
"""

import json
import subprocess
import sys
from datetime import date, datetime

import openpyxl
import pytest
from click.testing import CliRunner

from kpi_core.cli.main import main
from kpi_core.ingest.error_report import write_error_workbook
from kpi_core.ingest.facts.load import import_facts
from kpi_core.model.config import PROJECT_ROOT
from kpi_core.model.problems import Problem
from kpi_core.services.revert import revert
from kpi_core.store import batches

H = ["metric", "org", "period", "actual"]
HT = ["metric", "org", "period", "target"]
MONTHS = [f"{m}月" for m in range(1, 13)]
ISO_MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
SPEC_KEYS = ["batch", "rows", "loaded", "rejected", "errors"]


def current(wh, view="actual"):
    """The current facts of view `actual` or `target`: {(metric, org, period): value}."""
    with wh.connect() as con:
        rows = con.execute(f"SELECT metric, org, period, value FROM {view}").fetchall()
    return {(m, o, p): v for m, o, p, v in rows}


def written(wh):
    """(fact batches, actual_fact rows, target_fact rows): what any import has written."""
    with wh.connect() as con:
        return (con.execute("SELECT count(*) FROM batch WHERE kind IN ('actuals', 'targets')").fetchone()[0],
                con.execute("SELECT count(*) FROM actual_fact").fetchone()[0],
                con.execute("SELECT count(*) FROM target_fact").fetchone()[0])


def batch_row(wh, bid):
    with wh.connect() as con:
        return batches.get(con, bid)


def where(result):
    return [(e.row, e.column, e.value) for e in result.errors]


# --- long shape --------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    ["metric", "org", "period", "actual"],
    ["指标", "部门", "期间", "实际值"],
    ["指标编码", "组织编码", "月份", "完成值"],
    ["指标", "组织", "期间", "实际"],
    [" Metric ", "ORG", "Period", " Actual Value "],
])
def test_long_shape_english_and_chinese_headers(wh, xlsx, header):
    path = xlsx([header, ["revenue", "EAST", "2025-01", 100], ["cost", "SOUTH", "2025-01", 40]])
    r = import_facts(wh, "actuals", path)
    assert r.errors == [] and isinstance(r.batch, int)
    assert (r.rows, r.loaded, r.rejected) == (2, 2, 0)
    assert current(wh) == {("revenue", "EAST", "2025-01"): 100.0, ("cost", "SOUTH", "2025-01"): 40.0}


def test_long_shape_columns_in_any_order_with_extra_columns(wh, xlsx):
    path = xlsx([["备注", "实际值", "期间", "部门", "指标"], ["ok", 7, "2025-02", "EAST", "revenue"]])
    r = import_facts(wh, "actuals", path)
    assert r.ok and current(wh) == {("revenue", "EAST", "2025-02"): 7.0}


def test_values_and_periods_as_people_write_them(wh, xlsx):
    path = xlsx([H,
                 ["revenue", "EAST", "2025-01", "1,234.5"],
                 ["revenue", "EAST", "2025/2", "１２３"],
                 ["revenue", "EAST", "2025年3月", "¥1,000"],
                 ["revenue", "EAST", date(2025, 4, 1), "12万"],
                 ["revenue", "EAST", 45778, 5],             # Excel date serial of 2025-05-01
                 ["cost", "EAST", "2025-01", "(1,200)"],
                 ["on_time_rate", "EAST", "2025-01", "95%"],
                 ["nps", "EAST", "2025Q1", 40],
                 ["nps", "EAST", "2025年第2季度", 41.5],
                 ["headcount", "HQ", "2025-01", "1.5万"]])
    r = import_facts(wh, "actuals", path)
    assert r.errors == [] and r.loaded == 10
    assert current(wh) == {
        ("revenue", "EAST", "2025-01"): 1234.5, ("revenue", "EAST", "2025-02"): 123.0,
        ("revenue", "EAST", "2025-03"): 1000.0, ("revenue", "EAST", "2025-04"): 120000.0,
        ("revenue", "EAST", "2025-05"): 5.0, ("cost", "EAST", "2025-01"): -1200.0,
        ("on_time_rate", "EAST", "2025-01"): 0.95, ("nps", "EAST", "2025-Q1"): 40.0,
        ("nps", "EAST", "2025-Q2"): 41.5, ("headcount", "HQ", "2025-01"): 15000.0}


def test_rows_are_data_rows_read_and_problem_rows_are_sheet_rows(wh, xlsx):
    path = xlsx([["2025年3月 实际值"], [], H, ["revenue", "EAST", "2025-03", 1], [], [],
                 ["revenue", "NOPE", "2025-03", 2]])
    r = import_facts(wh, "actuals", path)
    assert r.rows == 2
    assert where(r) == [(7, "org", "NOPE")]


def test_an_empty_value_cell_is_no_fact(wh, xlsx):
    # A template row with its value not filled in yet holds nothing to load or reject.
    path = xlsx([H, ["revenue", "EAST", "2025-01", 1], ["revenue", "EAST", "2025-02", None],
                 ["revenue", "EAST", "2025-03", "  "]])
    r = import_facts(wh, "actuals", path)
    assert (r.rows, r.loaded, r.rejected, r.errors) == (3, 1, 0, [])


def test_a_value_for_a_parent_unit_is_taken_as_reported(wh, xlsx):
    r = import_facts(wh, "actuals", xlsx([H, ["revenue", "SALES", "2025-01", 9], ["revenue", "HQ", "2025-01", 20]]))
    assert r.ok and current(wh) == {("revenue", "SALES", "2025-01"): 9.0, ("revenue", "HQ", "2025-01"): 20.0}


def test_csv_in_gbk_with_chinese_headers_and_names(wh, tmp_path):
    path = tmp_path / "实际值.csv"
    path.write_bytes("指标,部门,期间,实际值\n销售收入,华东组,2025年3月,\"1,234\"\n成本,华南组,2025-03,12\n"
                     "销售收入,不存在,2025-03,1\n".encode("gbk"))
    r = import_facts(wh, "actuals", path)
    assert where(r) == [(4, "部门", "不存在")] and "unknown org unit '不存在'" in r.errors[0].message
    r = import_facts(wh, "actuals", path, partial=True)
    assert (r.loaded, r.rejected) == (2, 1)
    assert current(wh) == {("revenue", "EAST", "2025-03"): 1234.0, ("cost", "SOUTH", "2025-03"): 12.0}


# --- every rule of §5 --------------------------------------------------------------------------

GOOD = ["revenue", "SOUTH", "2025-01", 10]

RULES = [
    # (id, kind, the bad row (row 3), expected (column, value), message fragment)
    ("unknown metric", "actuals", ["revenuex", "EAST", "2025-01", 1], ("metric", "revenuex"),
     "unknown metric 'revenuex'"),
    ("unknown org", "actuals", ["revenue", "NOPE", "2025-01", 1], ("org", "NOPE"), "unknown org unit 'NOPE'"),
    ("empty metric", "actuals", [None, "EAST", "2025-01", 1], ("metric", ""), "metric is empty"),
    ("empty org", "actuals", ["revenue", None, "2025-01", 1], ("org", ""), "org unit is empty"),
    ("text in number cell", "actuals", ["revenue", "EAST", "2025-01", "abc"], ("actual", "abc"),
     "'abc' is not a number"),
    ("decimal comma", "actuals", ["revenue", "EAST", "2025-01", "1,5"], ("actual", "1,5"),
     "commas may only separate thousands"),
    ("Excel error cell", "actuals", ["revenue", "EAST", "2025-01", "#N/A"], ("actual", "#N/A"),
     "'#N/A' is not a number"),
    ("Excel error cell in the metric column", "actuals", ["#REF!", "EAST", "2025-01", 1], ("metric", "#REF!"),
     "unknown metric '#REF!'"),
    ("Excel error as typed text", "actuals", ["revenue", "EAST", "2025-01", "'#DIV/0!"], ("actual", "'#DIV/0!"),
     "is not a number"),
    ("date in number cell", "actuals", ["revenue", "EAST", "2025-01", datetime(2025, 1, 5)],
     ("actual", "2025-01-05 00:00:00"), "'2025-01-05 00:00:00' is not a number"),
    ("not a period", "actuals", ["revenue", "EAST", "2025-13", 1], ("period", "2025-13"), "month 13 is not 1-12"),
    ("period without a year", "actuals", ["revenue", "EAST", "3月", 1], ("period", "3月"), "'3月' has no year"),
    ("empty period", "actuals", ["revenue", "EAST", None, 1], ("period", ""), "period is empty"),
    ("quarter actual for a monthly metric", "actuals", ["revenue", "EAST", "2025Q1", 1], ("period", "2025-Q1"),
     "period 2025-Q1 is a quarter, but revenue is reported by month"),
    ("year actual for a monthly metric", "actuals", ["revenue", "EAST", "2025", 1], ("period", "2025"),
     "period 2025 is a year, but revenue is reported by month"),
    ("month actual for a quarterly metric", "actuals", ["nps", "EAST", "2025-03", 40], ("period", "2025-03"),
     "period 2025-03 is a month, but nps is reported by quarter"),
    ("actual for a formula metric", "actuals", ["gross_margin", "EAST", "2025-01", 0.3],
     ("metric", "gross_margin"), "gross_margin is computed from formula (revenue - cost) / revenue"),
    ("actual for a dataset metric", "actuals", ["orders", "EAST", "2025-01", 3], ("metric", "orders"),
     "orders is computed from dataset 'sales_orders'; its actuals cannot be uploaded"),
    ("over the allowed max", "actuals", ["on_time_rate", "EAST", "2025-01", 95], ("actual", "95"),
     "value 95 is outside what on_time_rate allows (0..1) (write 95% or 0.95 for a percentage)"),
    ("percent over the allowed max", "actuals", ["on_time_rate", "EAST", "2025-01", "120%"], ("actual", "120%"),
     "value 1.2 is outside what on_time_rate allows (0..1)"),
    ("under the allowed min", "actuals", ["headcount", "EAST", "2025-01", -1], ("actual", "-1"),
     "value -1 is outside what headcount allows (0..)"),
    ("target over the allowed max", "targets", ["on_time_rate", "EAST", "2025", 1.5], ("target", "1.5"),
     "value 1.5 is outside what on_time_rate allows (0..1)"),
    ("target for an unknown metric", "targets", ["profit", "EAST", "2025", 1], ("metric", "profit"),
     "unknown metric 'profit'"),
    ("target with text", "targets", ["revenue", "EAST", "2025", "TBD"], ("target", "TBD"), "'TBD' is not a number"),
]


@pytest.mark.parametrize("kind, bad, column_value, fragment", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule_refuses_the_whole_file_and_partial_loads_the_rest(wh, xlsx, kind, bad, column_value, fragment):
    view = "actual" if kind == "actuals" else "target"
    path = xlsx([H if kind == "actuals" else HT, GOOD, bad])
    r = import_facts(wh, kind, path)
    assert where(r) == [(3, *column_value)]
    assert fragment in r.errors[0].message
    assert (r.batch, r.rows, r.loaded, r.rejected) == (None, 2, 0, 2)
    assert written(wh) == (0, 0, 0)  # nothing at all: no batch row, no facts
    r = import_facts(wh, kind, path, partial=True)
    assert where(r) == [(3, *column_value)]
    assert isinstance(r.batch, int) and (r.loaded, r.rejected) == (1, 1)
    assert current(wh, view) == {("revenue", "SOUTH", "2025-01"): 10.0}
    b = batch_row(wh, r.batch)
    assert (b["kind"], b["rows_in"], b["rows_loaded"], b["rows_rejected"]) == (kind, 2, 1, 1)


def test_boolean_cells_are_not_numbers(wh, xlsx):
    # A column of TRUE/FALSE cells. (Where a column mixes numbers and TRUE/FALSE, fastexcel's type
    # coercion hands the import 1.0/0.0 and the booleans cannot be told apart: not tested.)
    r = import_facts(wh, "actuals", xlsx([H, ["revenue", "EAST", "2025-01", True]]))
    # The cell reaches the import as True or as the text 'true', depending on its column's type.
    assert [(e.row, e.column, e.value.lower()) for e in r.errors] == [(2, "actual", "true")]
    assert "is not a number" in r.errors[0].message


def test_excel_error_cells_in_a_wide_row(wh, xlsx):
    path = xlsx([["部门", "指标"] + ISO_MONTHS[:3], ["EAST", "revenue", 1, "#DIV/0!", 3]])
    r = import_facts(wh, "actuals", path)
    assert where(r) == [(2, "2025-02", "#DIV/0!")]
    r = import_facts(wh, "actuals", path, partial=True)
    assert (r.loaded, r.rejected) == (2, 1)


def test_every_problem_of_a_file_is_reported_in_row_order(wh, xlsx):
    path = xlsx([H, ["revenuex", "NOPE", "2025-13", "abc"], GOOD, ["gross_margin", "EAST", "2025-01", 1]])
    r = import_facts(wh, "actuals", path)
    assert where(r) == [(2, "metric", "revenuex"), (2, "org", "NOPE"), (2, "period", "2025-13"),
                        (2, "actual", "abc"), (4, "metric", "gross_margin")]
    assert (r.loaded, r.rejected) == (0, 3)


def test_targets_at_any_grain_are_accepted(wh, xlsx):
    path = xlsx([HT,
                 ["revenue", "EAST", "2025", 1200],
                 ["revenue", "EAST", "2025Q1", 300],
                 ["revenue", "EAST", "2025-01", 100],
                 ["nps", "SALES", "2025-03", 40],        # monthly target for a quarterly metric
                 ["nps", "HQ", "2025年", 45],
                 ["gross_margin", "HQ", "2025", "30%"],  # a formula metric may have an explicit target
                 ["orders", "EAST", "2025-Q2", 10]])     # so may a dataset metric
    r = import_facts(wh, "targets", path)
    assert r.errors == [] and r.loaded == 7
    assert current(wh, "target") == {
        ("revenue", "EAST", "2025"): 1200.0, ("revenue", "EAST", "2025-Q1"): 300.0,
        ("revenue", "EAST", "2025-01"): 100.0, ("nps", "SALES", "2025-03"): 40.0, ("nps", "HQ", "2025"): 45.0,
        ("gross_margin", "HQ", "2025"): 0.3, ("orders", "EAST", "2025-Q2"): 10.0}
    assert current(wh) == {}


def test_duplicate_keys_within_a_file_name_both_rows_and_load_neither(wh, xlsx):
    path = xlsx([H, ["revenue", "EAST", "2025-01", 1], GOOD, ["revenue", "华东组", "2025年1月", 2]])
    r = import_facts(wh, "actuals", path)
    assert where(r) == [(2, "actual", "1"), (4, "actual", "2")]
    assert "duplicate: revenue / EAST / 2025-01 is also on row 4" in r.errors[0].message
    assert "duplicate: revenue / EAST / 2025-01 is also on row 2" in r.errors[1].message
    assert written(wh) == (0, 0, 0)
    r = import_facts(wh, "actuals", path, partial=True)
    assert (r.loaded, r.rejected) == (1, 2)  # which copy is right is not guessed
    assert current(wh) == {("revenue", "SOUTH", "2025-01"): 10.0}


def test_a_key_three_times_lists_every_other_row(wh, xlsx):
    path = xlsx([H] + [["revenue", "EAST", "2025-01", v] for v in (1, 1, 2)])
    r = import_facts(wh, "actuals", path)
    assert [(e.row, e.message) for e in r.errors] == [
        (2, "duplicate: revenue / EAST / 2025-01 is also on row 3, 4"),
        (3, "duplicate: revenue / EAST / 2025-01 is also on row 2"),
        (4, "duplicate: revenue / EAST / 2025-01 is also on row 2")]


def test_metric_and_org_by_name(wh, xlsx):
    path = xlsx([["指标名称", "部门名称", "期间", "实际值"],
                 ["销售收入", "华东组", "2025-01", 1],
                 ["Revenue", "华南组", "2025-01", 2],
                 ["on-time rate", "客服组", "2025-01", "90%"],
                 ["revenue", "SVC", "2025-01", 3]])
    r = import_facts(wh, "actuals", path)
    assert r.errors == []
    assert current(wh) == {("revenue", "EAST", "2025-01"): 1.0, ("revenue", "SOUTH", "2025-01"): 2.0,
                           ("on_time_rate", "SVC", "2025-01"): 0.9, ("revenue", "SVC", "2025-01"): 3.0}


def test_unknown_names_are_reported_not_guessed(wh, xlsx):
    r = import_facts(wh, "actuals", xlsx([H, ["销售额", "华东", "2025-01", 1]]))
    assert [(e.row, e.column, e.value, e.message) for e in r.errors] == [
        (2, "metric", "销售额", "unknown metric '销售额'"), (2, "org", "华东", "unknown org unit '华东'")]


@pytest.mark.parametrize("rows, fragment", [
    ([["metric", "period", "actual"], ["revenue", "2025-01", 1]], "no 组织/org column; the header row (row 1) is: "
                                                                    "metric, period, actual"),
    ([["org", "period", "actual", "备注"], ["EAST", "2025-01", 1, "x"]], "no 指标/metric column"),
    ([["期间", "月份", "指标", "部门", "实际值"], ["2025-01", "2025-01", "revenue", "EAST", 1]],
     "two columns mean 'period': '期间' and '月份'"),
    ([["metric", "org", "period"], ["revenue", "EAST", "2025-01"]],
     "found neither a 期间/period and 实际值/actual column (long shape) nor period columns"),
    ([H], "upload.xlsx has no values to load below its header (row 1)"),
    ([H, ["revenue", "EAST", "2025-01", None]], "has no values to load"),
])
def test_files_without_a_usable_shape(wh, xlsx, rows, fragment):
    r = import_facts(wh, "actuals", xlsx(rows))
    assert len(r.errors) == 1 and r.errors[0].row is None and fragment in r.errors[0].message
    assert r.batch is None and written(wh) == (0, 0, 0)


def test_a_file_of_targets_is_not_read_as_actuals(wh, xlsx):
    path = xlsx([HT, ["revenue", "EAST", "2025", 1]])
    r = import_facts(wh, "actuals", path)
    assert r.batch is None and "实际值/actual" in r.errors[0].message


def test_actual_and_target_columns_in_one_file(wh, xlsx):
    path = xlsx([["指标", "部门", "期间", "实际值", "目标值"], ["revenue", "EAST", "2025-01", 90, 100]])
    assert import_facts(wh, "actuals", path).ok and import_facts(wh, "targets", path).ok
    assert current(wh) == {("revenue", "EAST", "2025-01"): 90.0}
    assert current(wh, "target") == {("revenue", "EAST", "2025-01"): 100.0}


# --- wide shape --------------------------------------------------------------------------------

def test_wide_row_of_twelve_months_is_twelve_facts(wh, xlsx):
    path = xlsx([["部门", "指标"] + ISO_MONTHS,
                 ["EAST", "revenue"] + list(range(1, 13)),
                 ["SOUTH", "cost"] + [5] * 6 + [None] * 6])
    r = import_facts(wh, "actuals", path)
    assert (r.rows, r.loaded, r.rejected, r.errors) == (2, 18, 0, [])
    facts = current(wh)
    assert len(facts) == 18
    assert facts[("revenue", "EAST", "2025-12")] == 12.0 and ("cost", "SOUTH", "2025-07") not in facts


@pytest.mark.parametrize("months", [ISO_MONTHS, [f"2025年{m}月" for m in range(1, 13)],
                                    [f"2025/{m}" for m in range(1, 13)], [f"{m}月" for m in range(1, 13)]])
def test_wide_month_headers(wh, xlsx, months):
    path = xlsx([["组织编码", "指标编码"] + months, ["EAST", "revenue"] + list(range(1, 13))], title="2025")
    r = import_facts(wh, "actuals", path)
    assert r.errors == [] and r.loaded == 12
    assert sorted(p for _, _, p in current(wh)) == ISO_MONTHS


@pytest.mark.parametrize("title_row, sheet, year, expected", [
    (None, "Sheet1", 2024, "2024"),                 # --year
    (None, "2023年", None, "2023"),                 # the sheet name
    ("2022年各部门实际值", "Sheet1", None, "2022"),   # the title row
    (None, "2023年", 2024, "2024"),                 # --year wins over the sheet name
    ("2022年各部门实际值", "FY2021", None, "2021"),   # the sheet name before the title
])
def test_wide_year_from_year_option_sheet_name_or_title(wh, xlsx, title_row, sheet, year, expected):
    rows = ([[title_row]] if title_row else []) + [["部门", "指标"] + MONTHS, ["EAST", "revenue"] + [1] * 12]
    r = import_facts(wh, "actuals", xlsx(rows, title=sheet), year=year)
    assert r.errors == [] and r.loaded == 12
    assert {p for _, _, p in current(wh)} == {f"{expected}-{m:02d}" for m in range(1, 13)}


def test_wide_without_a_year_is_refused_at_the_header(wh, xlsx):
    r = import_facts(wh, "actuals", xlsx([["部门", "指标"] + MONTHS, ["EAST", "revenue"] + [1] * 12]))
    assert where(r)[0] == (1, "1月", "1月") and len(r.errors) == 12
    assert "'1月' has no year; give the year (--year, the sheet name or the title row)" in r.errors[0].message
    assert r.batch is None and written(wh) == (0, 0, 0)


def test_wide_header_that_is_not_a_period(wh, xlsx):
    r = import_facts(wh, "actuals", xlsx([["部门", "指标", "1月", "13月"], ["EAST", "revenue", 1, 2]]), year=2025)
    assert where(r) == [(1, "13月", "13月")] and "month 13 is not 1-12" in r.errors[0].message


def test_wide_quarters(wh, xlsx):
    path = xlsx([["部门", "指标", "Q1", "Q2", "Q3", "Q4"], ["EAST", "nps", 40, 41, 42, 43],
                 ["EAST", "revenue", 1, 2, 3, 4]])
    r = import_facts(wh, "actuals", path, year=2025)
    assert where(r) == [(3, c, f"2025-{c}") for c in ("Q1", "Q2", "Q3", "Q4")]
    assert "is a quarter, but revenue is reported by month" in r.errors[0].message
    r = import_facts(wh, "targets", path, year=2025)  # targets at any grain
    assert r.errors == [] and r.loaded == 8
    assert current(wh, "target")[("nps", "EAST", "2025-Q4")] == 43.0


def test_wide_with_merged_header_cells(wh, xlsx):
    path = xlsx([["各部门收入"],
                 ["部门", "指标", "2025年"] + [None] * 11,
                 [None, None] + MONTHS,
                 ["EAST", "revenue"] + list(range(1, 13)),
                 ["SOUTH", "revenue", None, "abc"]],
                merges=("A2:A3", "B2:B3", "C2:N2"))
    r = import_facts(wh, "actuals", path)
    assert where(r) == [(5, "2025年 2月", "abc")]
    r = import_facts(wh, "actuals", path, partial=True)
    assert (r.rows, r.loaded, r.rejected) == (2, 12, 1)
    assert current(wh)[("revenue", "EAST", "2025-03")] == 3.0


def test_wide_by_names_and_partial_counts_facts_not_rows(wh, xlsx):
    path = xlsx([["部门名称", "指标名称"] + ISO_MONTHS,
                 ["华东组", "销售收入"] + list(range(1, 12)) + ["abc"],
                 ["华南组", "毛利率"] + [0.3] * 12,
                 ["客服组", "准时率"] + ["95%"] * 12])
    r = import_facts(wh, "actuals", path, partial=True)
    assert (r.rows, r.loaded, r.rejected) == (3, 23, 13)
    assert where(r)[0] == (2, "2025-12", "abc")
    assert where(r)[1] == (3, "指标名称", "毛利率")  # one problem for the row's 12 refused cells
    assert len(r.errors) == 2
    facts = current(wh)
    assert len(facts) == 23 and facts[("on_time_rate", "SVC", "2025-06")] == 0.95
    assert batch_row(wh, r.batch)["rows_loaded"] == 23


def test_wide_duplicate_rows(wh, xlsx):
    path = xlsx([["部门", "指标", "2025-01", "2025-02"], ["EAST", "revenue", 1, 2], ["EAST", "revenue", None, 3]])
    r = import_facts(wh, "actuals", path)
    assert where(r) == [(2, "2025-02", "2"), (3, "2025-02", "3")]
    r = import_facts(wh, "actuals", path, partial=True)
    assert current(wh) == {("revenue", "EAST", "2025-01"): 1.0}


# --- dry run, re-upload, revert ----------------------------------------------------------------

def test_dry_run_writes_nothing_and_reports_changes(wh, xlsx):
    first = xlsx([H, ["revenue", "EAST", "2025-01", 1], ["revenue", "EAST", "2025-02", 2]], name="first.xlsx")
    assert import_facts(wh, "actuals", first).ok
    before, counts = current(wh), written(wh)
    second = xlsx([H, ["revenue", "EAST", "2025-01", 1], ["revenue", "EAST", "2025-02", 20],
                   ["revenue", "EAST", "2025-03", 3]], name="second.xlsx")
    r = import_facts(wh, "actuals", second, dry_run=True)
    assert r.batch is None and r.errors == [] and (r.loaded, r.rejected) == (3, 0)
    assert r.changes == {"new": 1, "changed": 1, "unchanged": 1}
    assert current(wh) == before and written(wh) == counts
    bad = xlsx([H, ["revenue", "EAST", "2025-01", 5], ["revenue", "NOPE", "2025-01", 1]], name="bad.xlsx")
    r = import_facts(wh, "actuals", bad, dry_run=True, partial=True)
    assert r.batch is None and (r.loaded, r.rejected) == (1, 1) and r.changes["changed"] == 1
    assert current(wh) == before and written(wh) == counts


def test_reupload_replaces_not_doubles_and_revert_restores(wh, xlsx):
    a = xlsx([H, ["revenue", "EAST", "2025-01", 1], ["revenue", "EAST", "2025-02", 2]], name="a.xlsx")
    b = xlsx([H, ["revenue", "EAST", "2025-01", 1], ["revenue", "EAST", "2025-02", 22]], name="b.xlsx")
    r1 = import_facts(wh, "actuals", a)
    assert r1.changes == {"new": 2, "changed": 0, "unchanged": 0}
    r2 = import_facts(wh, "actuals", a)
    assert r2.changes == {"new": 0, "changed": 0, "unchanged": 2}
    assert current(wh) == {("revenue", "EAST", "2025-01"): 1.0, ("revenue", "EAST", "2025-02"): 2.0}
    r3 = import_facts(wh, "actuals", b)
    assert r3.changes == {"new": 0, "changed": 1, "unchanged": 1}
    assert current(wh)[("revenue", "EAST", "2025-02")] == 22.0  # the latest batch wins
    assert written(wh) == (3, 6, 0)  # history kept
    with wh.connect() as con:
        assert con.execute("SELECT batch_id FROM actual WHERE period = '2025-02'").fetchone()[0] == r3.batch
    revert(wh, r3.batch, reason="wrong file")
    assert current(wh)[("revenue", "EAST", "2025-02")] == 2.0
    revert(wh, r2.batch, reason="wrong file")
    assert current(wh)[("revenue", "EAST", "2025-02")] == 2.0
    revert(wh, r1.batch, reason="wrong file")
    assert current(wh) == {}


def test_batch_records_the_upload(wh, xlsx):
    path = xlsx([H, ["revenue", "EAST", "2025-01", 1]], name="东区3月.xlsx")
    r = import_facts(wh, "actuals", path, user="lead_east")
    b = batch_row(wh, r.batch)
    assert (b["source"], b["user_name"], b["status"], len(b["sha256"])) == ("东区3月.xlsx", "lead_east", "loaded", 64)
    with wh.connect() as con:
        assert con.execute("SELECT source_row FROM actual").fetchone()[0] == 2


# --- the error workbook ------------------------------------------------------------------------

def _fills(ws):
    return {(c.row, c.column): c.fill.fgColor.rgb for row in ws.iter_rows() for c in row if c.fill.fill_type}


def test_error_workbook_marks_the_bad_cell_on_the_sheet_that_was_read(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["other sheet"])
    ws = wb.create_sheet("3月")
    for r in (["2025年3月"], H, ["revenue", "EAST", "2025-03", "abc"]):
        ws.append(r)
    wb.save(tmp_path / "src.xlsx")
    problems = [Problem(3, "actual", "abc", "'abc' is not a number"), Problem(None, "", "", "file-level note")]
    out = write_error_workbook(tmp_path / "src.xlsx", problems, tmp_path / "errors.xlsx", sheet="3月")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["errors", "data"]
    assert [list(r) for r in book["errors"].iter_rows(values_only=True)] == [
        ["row", "column", "value", "message"], [3, "actual", "abc", "'abc' is not a number"],
        [None, None, None, "file-level note"]]
    data = book["data"]
    assert data["A1"].value == "2025年3月" and data["D3"].value == "abc"
    fills = _fills(data)
    assert fills[(3, 4)].endswith("FFC7CE")                     # the bad cell
    assert all(fills[(3, c)].endswith("FFF2CC") for c in (1, 2, 3))  # its row
    assert data["D3"].comment.text == "'abc' is not a number"



def test_error_workbook_in_chinese_says_every_problem_in_chinese(wh, tmp_path):
    """The workbook a Chinese user downloads: headings, sheet names, messages and cell notes."""
    src = tmp_path / "a.csv"
    src.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,abc\nnope,EAST,2025-01,1\n", encoding="utf-8")
    result = import_facts(wh, "actuals", src)
    book = openpyxl.load_workbook(write_error_workbook(src, result.errors, tmp_path / "e.xlsx", lang="zh"))
    assert book.sheetnames == ["错误", "数据"]
    rows = [list(r) for r in book["错误"].iter_rows(values_only=True)]
    assert rows == [["行", "列", "值", "问题"],
                    *[[e.row, e.column, e.value, e.message.render("zh")] for e in result.errors]]
    assert [r[3] for r in rows[1:]] == ["“abc”不是数字", "未知指标“nope”"]
    assert book["数据"]["D2"].comment.text == "“abc”不是数字"

def test_error_workbook_writes_formula_like_text_as_text(tmp_path):
    src = tmp_path / "src.csv"
    src.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,=cmd|' /C calc'!A0\n", encoding="utf-8")
    out = write_error_workbook(src, [Problem(2, "actual", "=cmd|' /C calc'!A0", "not a number")],
                               tmp_path / "e.xlsx")
    book = openpyxl.load_workbook(out)
    assert book["errors"]["C2"].value == "'=cmd|' /C calc'!A0"
    assert book["data"]["D2"].value == "'=cmd|' /C calc'!A0" and book["data"]["D2"].data_type == "s"


# --- CLI ---------------------------------------------------------------------------------------

def run_cli(wh_path, *args):
    result = CliRunner().invoke(main, ["--warehouse", str(wh_path), *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_loaded(wh_path, wh, xlsx):
    path = xlsx([["部门", "指标"] + ISO_MONTHS, ["EAST", "revenue"] + list(range(1, 13))])
    code, out, err = run_cli(wh_path, "import", "actuals", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data)[:5] == SPEC_KEYS and set(data) - set(SPEC_KEYS) <= {"changes"}
    assert isinstance(data["batch"], int)
    assert {k: data[k] for k in SPEC_KEYS[1:]} == {"rows": 1, "loaded": 12, "rejected": 0, "errors": []}
    assert len(current(wh)) == 12


def test_cli_json_refused(wh_path, wh, xlsx):
    path = xlsx([H, ["revenue", "EAST", "2025-01", 1], ["revenue", "NOPE", "2025-01", "1,5"]])
    code, out, err = run_cli(wh_path, "--format", "json", "import", "actuals", path)
    assert code != 0
    data = json.loads(out)
    assert data == {"batch": None, "rows": 2, "loaded": 0, "rejected": 2, "errors": [
        {"row": 3, "column": "org", "value": "NOPE", "message": "unknown org unit 'NOPE'"},
        {"row": 3, "column": "actual", "value": "1,5",
         "message": "'1,5' is not a number (commas may only separate thousands, as in 1,234.5)"}]}
    assert "nothing was written" in err
    assert written(wh) == (0, 0, 0)


def test_cli_json_partial(wh_path, wh, xlsx):
    path = xlsx([["部门", "指标"] + MONTHS, ["EAST", "revenue"] + list(range(1, 12)) + ["x"]], title="2025年")
    code, out, err = run_cli(wh_path, "import", "actuals", path, "--partial", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["rows"], data["loaded"], data["rejected"]) == (1, 11, 1)
    assert data["errors"] == [{"row": 2, "column": "12月", "value": "x", "message": "'x' is not a number"}]
    assert isinstance(data["batch"], int) and len(current(wh)) == 11


def test_cli_dry_run_and_year_option(wh_path, wh, xlsx):
    path = xlsx([["部门", "指标"] + MONTHS, ["EAST", "revenue"] + [1] * 12])
    code, out, _ = run_cli(wh_path, "import", "actuals", path, "--year", "2024", "--dry-run", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["batch"] is None and data["loaded"] == 12 and data["changes"]["new"] == 12
    assert written(wh) == (0, 0, 0)
    code, out, _ = run_cli(wh_path, "import", "targets", path, "--year", "2024", "--format", "json")
    assert code == 0 and ("revenue", "EAST", "2024-12") in current(wh, "target")


def test_cli_sheet_option(wh_path, wh, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(H)
    wb.active.append(["revenue", "EAST", "2024-01", 1])
    ws = wb.create_sheet("targets")
    ws.append(HT)
    ws.append(["revenue", "EAST", "2025", 12])
    wb.save(tmp_path / "book.xlsx")
    code, _, err = run_cli(wh_path, "import", "targets", tmp_path / "book.xlsx", "--sheet", "targets")
    assert code == 0, err
    assert current(wh, "target") == {("revenue", "EAST", "2025"): 12.0}


def test_cli_refused_file_names_it_on_stderr(wh_path, tmp_path):
    path = tmp_path / "scan.xlsx"
    path.write_bytes(b"%PDF-1.4\n")
    code, out, err = run_cli(wh_path, "import", "actuals", path, "--format", "json")
    assert code != 0 and out == ""
    assert "scan.xlsx is not an Excel workbook (it looks like a PDF document)" in err


def test_cli_errors_out_workbook(wh_path, xlsx, tmp_path):
    path = xlsx([["2025年3月实际值"], H, ["revenue", "EAST", "2025-03", 1], ["revenue", "EAST", "2025-04", "abc"]])
    out = tmp_path / "errors.xlsx"
    code, _, _ = run_cli(wh_path, "import", "actuals", path, "--errors-out", out)
    assert code != 0
    book = openpyxl.load_workbook(out)
    listed = list(book["errors"].iter_rows(min_row=2, values_only=True))
    assert listed == [(4, "actual", "abc", "'abc' is not a number")]
    data = book["data"]
    assert data["D4"].value == "abc" and _fills(data)[(4, 4)].endswith("FFC7CE")
    assert data["D4"].comment.text == "'abc' is not a number"
    assert not any(r == 3 for r, _ in _fills(data))  # the good row is not marked


def test_cli_exit_codes_in_a_real_process(wh_path, xlsx):
    good = xlsx([H, ["revenue", "EAST", "2025-01", 1]], name="good.xlsx")
    bad = xlsx([H, ["revenue", "EAST", "2025-01", "abc"]], name="bad.xlsx")
    runs = [subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), "import", "actuals",
                            str(p), "--format", "json"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
            for p in (good, bad)]
    assert [r.returncode for r in runs] == [0, 1]
    assert json.loads(runs[0].stdout)["loaded"] == 1 and json.loads(runs[1].stdout)["batch"] is None


# --- totals and units in headers ----------------------------------------------------------------

def test_total_rows_and_columns_are_not_facts(wh, xlsx):
    path = xlsx([
        ["指标", "组织", "1月", "2月", "全年合计"],
        ["revenue", "EAST", 10, 20, 30],
        ["revenue", "SOUTH", 1, 2, 3],
        ["合计", None, 11, 22, 33],
        ["revenue", "Total", 11, 22, 33],
    ], title="2025")
    r = import_facts(wh, "actuals", path)
    assert r.errors == [] and r.loaded == 4
    assert current(wh) == {("revenue", "EAST", "2025-01"): 10, ("revenue", "EAST", "2025-02"): 20,
                           ("revenue", "SOUTH", "2025-01"): 1, ("revenue", "SOUTH", "2025-02"): 2}


@pytest.mark.parametrize("header, unit, cell, expected", [
    ("实际值(万元)", None, 12, 120_000),
    ("实际值（万元）", None, "1.5", 15_000),
    ("Actual (thousand)", None, 2, 2_000),
    ("实际值(万元)", None, "3万", 30_000),      # the cell's own 万 is not applied twice
    ("实际值(元)", None, 12, 12),
    ("实际值", "万元", 7, 70_000),               # a 单位 column scales its row
    ("实际值(万元)", "元", 7, 70_000),           # a plain unit cell leaves the header's scale
    ("实际值", "亿元", "0.5", 50_000_000),
])
def test_units_in_the_value_header_or_a_unit_column_scale_numbers(wh, xlsx, header, unit, cell, expected):
    head = ["指标", "组织", "期间", "单位", header] if unit else ["指标", "组织", "期间", header]
    row = ["revenue", "EAST", "2025-01", unit, cell] if unit else ["revenue", "EAST", "2025-01", cell]
    r = import_facts(wh, "actuals", xlsx([head, row]))
    assert r.errors == [], r.errors
    assert current(wh)[("revenue", "EAST", "2025-01")] == expected


def test_wide_unit_column(wh, xlsx):
    path = xlsx([["组织", "指标", "单位", "2025-01", "2025-02"],
                 ["EAST", "revenue", "万元", 1.2, 3],
                 ["SOUTH", "revenue", "元", 5, 6]])
    r = import_facts(wh, "actuals", path)
    assert r.errors == []
    got = current(wh)
    assert got[("revenue", "EAST", "2025-01")] == 12_000 and got[("revenue", "SOUTH", "2025-02")] == 6


@pytest.mark.parametrize("metric, org, expected_value", [
    ("销售收入(万元)", "EAST", 120_000),
    ("销售收入（revenue）", "EAST", 12),
    ("revenue", "华东组(EAST)", 12),
    ("revenue", "华东组（EAST）", 12),
])
def test_names_with_a_unit_or_code_in_brackets(wh, xlsx, metric, org, expected_value):
    r = import_facts(wh, "actuals", xlsx([["指标", "组织", "期间", "实际值"], [metric, org, "2025-01", 12]]))
    assert r.errors == [], r.errors
    assert current(wh)[("revenue", "EAST", "2025-01")] == expected_value


@pytest.mark.parametrize("label, total", [
    ("合计", True), ("2026年合计", True), ("全年", True), ("Total", True), ("Grand Total", True), ("小计", True),
    ("sales_ytd", False), ("revenue_sum", False), ("checksum", False), ("totally", False), ("EAST", False),
])
def test_what_counts_as_a_total_label(label, total):
    from kpi_core.ingest.headers import is_total

    assert is_total(label) is total


# Values as openpyxl writes them (it keeps 16 significant digits).
@pytest.mark.parametrize("value", [0.1234567890123457, 1e-12, 123456789.123, -98765.4321, 0.3333333333333333])
def test_numbers_keep_every_digit(wh, xlsx, value):
    # A title row and a text header above the numbers, and a text cell among them, must not
    # turn the numbers into rounded text on the way in.
    r = import_facts(wh, "actuals", xlsx([["2025 实绩"], H, ["revenue", "EAST", "2025-01", value],
                                          ["revenue", "SOUTH", "2025-01", "1,000"]]))
    assert r.errors == []
    assert current(wh)[("revenue", "EAST", "2025-01")] == value
