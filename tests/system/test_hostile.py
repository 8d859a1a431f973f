"""Hostile input: SQL in metric definitions and typed filters, formulas in exported cells,
oversized and malformed files, and many uploads at once.

Real objects only: DuckDB warehouses, files built byte by byte, the CLI in its own process.
Every refusal is checked twice over: the message names what is wrong, and nothing was written.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from kpi_core.cli.main import main
from kpi_core.ingest import sources
from kpi_core.ingest.datasets import import_file
from kpi_core.ingest.error_report import write_error_workbook
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.files import FileRefused
from kpi_core.ingest.org_file import import_org
from kpi_core.ingest.template import template
from kpi_core.model.board import Board
from kpi_core.model.config import PROJECT_ROOT
from kpi_core.model.errors import KpiError, NotFound, ValidationFailed, WarehouseBusy
from kpi_core.model.safe_export import neutralise, neutralise_row
from kpi_core.present import board_export
from kpi_core.query import drillthrough
from kpi_core.query.api import Query, run
from kpi_core.store import dictionary, org
from kpi_core.store.warehouse import Warehouse
from tests.cli.test_commands import cli
from tests.conftest import ORG, write_xlsx
from tests.engine.test_phasing import table

H = ["metric", "org", "period", "actual"]


def state(wh) -> dict[str, int]:
    """Rows in every table of the warehouse: a refused input leaves all of them as they were."""
    with wh.connect() as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


# --- a. SQL in metric definitions ----------------------------------------------------------------
# The template warehouse has dataset sales_orders (order_date, dept, amount) and metric revenue.

def apply_source(wh, tmp_path, source: dict):
    """Apply one metric `probe` with this source from a YAML file, as `metrics apply` does."""
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump({"metrics": [{"code": "probe", "name": "探针", "source": source}]},
                                   allow_unicode=True), encoding="utf-8")
    return dictionary.apply(wh, path, reason="probe")


def dataset_source(measure="sum(amount)", flt=None) -> dict:
    src = {"dataset": "sales_orders", "measure": measure, "time_column": "order_date", "org_column": "dept"}
    return {**src, "filter": flt} if flt is not None else src


# An exploit that worked before the fix: SQLGlot printed an unknown type name as it was written, so
# this measure ran its own subquery when the metric's partials were built (p0 came back as 1012).
CAST_ESCAPE = ('sum(cast(amount as "varint) + (SELECT 1000 + count(*) FROM batch)) AS DOUBLE) AS p0 '
               'FROM ds_sales_orders__b2 AS d GROUP BY org, month --"))')
EXTRACT_ESCAPE = 'sum(extract("epoch from order_date)) + (SELECT count(*) FROM app_user) --" from order_date))'

INJECTIONS = [
    # (field, text, fragment of the message)
    ("measure", "sum(amount); DROP TABLE actual_fact", "must be one expression, not several statements"),
    ("measure", "(SELECT sum(value) FROM target_fact)", "must be an expression, not a statement"),
    ("measure", "read_csv('/etc/passwd')", "function read_csv() is not allowed"),
    ("measure", "sum(amount) FROM audit_log --", "does not parse"),
    ("measure", "current_setting('threads')", "function current_setting() is not allowed"),
    ("measure", "pg_read_file('/etc/passwd')", "function pg_read_file() is not allowed"),
    ("measure", "sum(amount) UNION SELECT sum(value) FROM target_fact", "not a statement"),
    ("measure", 'sum("audit_log".id)', 'column "audit_log".id may not name a table'),
    ("measure", "sum(main.app_user.id)", "may not name a table"),
    ("measure", "sum(amount) /* hidden */", "comments (-- or /* */) are not allowed"),
    ("measure", "sum(amount) -- */; DROP TABLE batch", "comments (-- or /* */) are not allowed"),
    ("measure", "COPY batch TO '/tmp/batch.csv'", "not a statement"),
    ("measure", "ATTACH '/tmp/other.duckdb'", "attach syntax is not allowed"),
    ("measure", "PRAGMA database_list", "pragma syntax is not allowed"),
    ("measure", "sum(length(getenv('HOME')))", "function getenv() is not allowed"),
    ("measure", "count(glob('*'))", "function glob() is not allowed"),
    ("measure", "sum(list_sum(list_transform([amount], x -> x)))", "is not allowed"),
    ("measure", "sum(amount) + query('SELECT 1')", "function query() is not allowed"),
    ("measure", "sum(amount) + getvariable('x')", "function getvariable() is not allowed"),
    ("measure", "sum(amount) + $1", "placeholder syntax is not allowed"),
    ("measure", CAST_ESCAPE, "is not allowed in a cast"),
    ("measure", EXTRACT_ESCAPE, "is not a plain name"),
    ("measure", 'sum(cast(amount as "x; DROP TABLE batch"))', "is not allowed in a cast"),
    ("filter", "1=1 OR EXISTS(SELECT 1 FROM app_user)", "function exists() is not allowed"),
    ("filter", "dept IN (SELECT name FROM app_user)", "subquery syntax is not allowed"),
    ("filter", "dept = 'EAST'; DROP TABLE batch", "not several statements"),
    ("filter", "dept = 'EAST' -- and the rest", "comments (-- or /* */) are not allowed"),
    ("filter", "amount > 0 /* */ OR 1=1", "comments (-- or /* */) are not allowed"),
    ("filter", '"audit_log".id > 0', "may not name a table"),
    ("filter", "dept = current_user", "function current_user() is not allowed"),
    ("filter", "dept = (SELECT max(code) FROM org_unit_version)", "subquery syntax is not allowed"),
    ("formula", "revenue; DROP TABLE batch", "not several statements"),
    ("formula", "revenue + (SELECT count(*) FROM app_user)", "subquery syntax is not allowed"),
    ("formula", "audit_log.id / revenue", "audit_log.id is not a metric code"),
    ("formula", "revenue -- */; DROP TABLE batch", "comments (-- or /* */) are not allowed"),
    ("formula", "revenue + length(getenv('HOME'))", "is not allowed"),
    ("formula", "revenue + 'x'", "text 'x' is not allowed in a formula"),
]


@pytest.mark.parametrize("field, text, fragment", INJECTIONS, ids=[f"{f}:{t[:40]}" for f, t, _ in INJECTIONS])
def test_sql_in_a_definition_is_refused_naming_the_field(wh, tmp_path, field, text, fragment):
    before = state(wh)
    source = {"formula": text} if field == "formula" else (
        dataset_source(measure=text) if field == "measure" else dataset_source(flt=text))
    with pytest.raises(ValidationFailed) as err:
        apply_source(wh, tmp_path, source)
    [problem] = err.value.problems
    assert problem.startswith(f"metric 'probe': {field} ") and fragment in problem, problem
    assert "nothing was applied" in str(err.value)
    assert state(wh) == before  # no metric_version row, no partials table, every table intact


@pytest.mark.parametrize("source", [
    dataset_source("sum(cast(amount AS DOUBLE)) / nullif(count(DISTINCT dept), 0)", "amount >= 0"),
    dataset_source("count(DISTINCT extract(month FROM order_date))", "upper(dept) = 'EAST'"),
    dataset_source("count(DISTINCT cast(order_date AS timestamp))", "cast(amount AS integer) > -1"),
    {"formula": "(revenue - cost) / nullif(revenue, 0)"},
], ids=["cast", "extract", "timestamp", "formula"])
def test_plain_casts_extracts_and_formulas_still_apply(wh, tmp_path, source):
    """The guard's control: the same path writes a version when the definition is clean."""
    before = state(wh)["metric_version"]
    assert apply_source(wh, tmp_path, source).created == ["probe"]
    assert state(wh)["metric_version"] == before + 1


def test_a_stored_measure_computes_what_it_says(wh, tmp_path):
    """The cast that carried the exploit, written plainly, sums the rows: 10 for EAST in 2025-01."""
    apply_source(wh, tmp_path, dataset_source("sum(cast(amount AS DOUBLE))"))
    [cell] = run(wh, Query(("probe",), "EAST", "self", "month", "2025-01", "2025-01")).cells
    assert cell.actual == 10


# Strings a user types that reach the engine, the drill-through and the importers.
TYPED = [
    ("org", lambda wh, _: run(wh, Query(("revenue",), "HQ' OR '1'='1", "self", "month", "2025-01", "2025-02")),
     NotFound, "no org unit 'HQ' OR '1'='1'"),
    ("period from", lambda wh, _: run(wh, Query(("revenue",), "HQ", "self", "month",
                                                "2025-01'; DROP TABLE batch; --", "2025-02")),
     KpiError, "is not a period"),
    ("period to", lambda wh, _: run(wh, Query(("revenue",), "HQ", "self", "month", "2025-01", "2025' OR 1=1")),
     KpiError, "is not a period"),
    ("metric", lambda wh, _: run(wh, Query(("revenue'; DROP TABLE batch; --",), "HQ", "self", "month")),
     NotFound, "no metric"),
    ("grain", lambda wh, _: run(wh, Query(("revenue",), "HQ", "self", "month; DROP TABLE batch", "2025-01")),
     KpiError, "grain 'month; DROP TABLE batch' is not one of month, quarter, year"),
    ("drill org", lambda wh, _: drillthrough.behind(wh, "revenue", "HQ' OR '1'='1", "2025-01"),
     NotFound, "no org unit"),
    ("drill period", lambda wh, _: drillthrough.behind(wh, "revenue", "HQ", "2025-01'; DROP TABLE batch; --"),
     KpiError, "is not a period"),
    ("drill metric", lambda wh, _: drillthrough.behind(wh, "x' OR 1=1 --", "HQ", "2025-01"),
     NotFound, "no metric"),
    ("dataset name", lambda wh, f: import_file(wh, "x; DROP TABLE batch", f),
     KpiError, "dataset name 'x; DROP TABLE batch' must be"),
    ("dataset name newline", lambda wh, f: import_file(wh, "sales\norders", f),  # trailing ones are trimmed
     KpiError, "must be 1-63 letters"),
    ("source table", lambda wh, f: sources.import_db(wh, "pulled", f"sqlite:///{f.with_suffix('.db')}",
                                                     table='x"; DROP TABLE batch; --'),
     KpiError, "no such table: x\"; DROP TABLE batch; --"),
    ("source dataset name", lambda wh, f: sources.import_db(wh, "s'; DROP TABLE batch; --",
                                                            f"sqlite:///{f.with_suffix('.db')}", table="t"),
     KpiError, "dataset name"),
]


@pytest.mark.parametrize("call, error, fragment", [t[1:] for t in TYPED], ids=[t[0] for t in TYPED])
def test_typed_filters_are_validated_or_bound(wh, tmp_path, call, error, fragment):
    good = tmp_path / "orders.csv"
    good.write_text("order_date,dept,amount\n2025-01-05,EAST,10\n", encoding="utf-8")
    before = state(wh)
    with pytest.raises(error) as err:
        call(wh, good)
    assert fragment in str(err.value)
    assert state(wh) == before


def test_a_typed_period_is_an_error_message_on_the_command_line_not_a_traceback(wh_path):
    r = cli(wh_path, "query", "--metric", "revenue", "--grain", "month", "--from", "2025-01'; DROP TABLE batch; --")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: '2025-01'; DROP TABLE batch; --' is not a period")


# --- b. formulas in exported cells ---------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("=", "'="),
    ("-", "'-"),
    ("-5", "-5"),            # text that is only a signed number runs nothing and stays as written
    ("+1.5e3", "+1.5e3"),
    ("revenue", "revenue"),
    (" =1+1", " =1+1"),      # spreadsheets read a leading space as text already
    ("", ""),
    (-5, -5),                # numbers, dates and empty cells are not text
    (-2.5, -2.5),
    (None, None),
    (dt.date(2025, 1, 31), dt.date(2025, 1, 31)),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected
    assert type(neutralise(value)) is type(expected)


def test_neutralise_row():
    assert neutralise_row(("=1", 2, None, "x")) == ["'=1", 2, None, "x"]


FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]


def test_error_workbook_echoes_uploaded_formulas_as_text(wh, tmp_path):
    src = tmp_path / "upload.csv"
    lines = ["metric,org,period,actual"] + [
        f'revenue,EAST,2025-{i + 1:02d},"{v.replace(chr(34), chr(34) * 2)}"' for i, v in enumerate(FORMULAS)]
    src.write_text("\n".join(lines + ["revenue,EAST,2025-05,-5", "=1+1,EAST,2025-06,1"]) + "\n", encoding="utf-8")
    before = state(wh)
    result = import_facts(wh, "actuals", src)
    assert result.batch is None and state(wh) == before
    book = openpyxl.load_workbook(write_error_workbook(src, result.errors, tmp_path / "errors.xlsx"))
    errors = {r[0]: r for r in book["errors"].iter_rows(min_row=2, values_only=True)}
    for i, v in enumerate(FORMULAS, start=2):
        assert errors[i][1:3] == ("actual", "'" + v)
    assert errors[7][1:3] == ("metric", "'=1+1")  # an unknown metric echoes its cell too
    data = book["data"]
    for row in data.iter_rows(min_row=2, max_row=5, min_col=4, max_col=4):
        assert row[0].data_type == "s" and row[0].value.startswith("'")
    assert data["D6"].value == "-5" and data["A7"].value == "'=1+1"
    assert all(c.data_type != "f" for r in data.iter_rows() for c in r)  # no formula anywhere


def test_error_workbook_keeps_real_numbers_as_numbers(wh, tmp_path):
    src = write_xlsx(tmp_path / "upload.xlsx", [H, ["revenue", "EAST", "2025-01", -5],
                                                ["revenue", "EAST", "2025-02", "@SUM(1)"],
                                                ["revenue", "EAST", "2025-03", "-2+3"]])
    result = import_facts(wh, "actuals", src)
    book = openpyxl.load_workbook(write_error_workbook(src, result.errors, tmp_path / "errors.xlsx"))
    data = book["data"]
    assert data["D2"].value == -5 and data["D2"].data_type == "n"
    assert (data["D3"].value, data["D4"].value) == ("'@SUM(1)", "'-2+3")


@pytest.fixture
def hostile_names(wh, tmp_path):
    """EAST is renamed '=HYPERLINK(…)' and revenue '+cmd|…': names users typed."""
    path = tmp_path / "org.csv"
    path.write_text('code,name,parent\nEAST,"=HYPERLINK(""http://evil"",""east"")",SALES\n', encoding="utf-8")
    assert import_org(wh, path).batch is not None
    revenue = dictionary.current(wh)["revenue"]
    dictionary.apply_metrics(wh, [revenue.model_copy(update={"name": "+cmd|' /C calc'!A0", "name_en": "@SUM(1)"})],
                             reason="hostile names")
    return wh


def test_template_neutralises_unit_and_metric_names(hostile_names):
    book = openpyxl.load_workbook(io.BytesIO(template(hostile_names, "actuals", "EAST", 2025)))
    ws = book.active
    assert ws["A1"].value.startswith("'=HYPERLINK(") and ws["A1"].data_type == "s"  # the title leads with it
    rows = {ws.cell(row=r, column=3).value: r for r in range(4, ws.max_row + 1)}
    r = rows["revenue"]
    assert ws.cell(row=r, column=1).value == "EAST"  # the code column stays as the importer reads it
    assert ws.cell(row=r, column=2).value == "'=HYPERLINK(\"http://evil\",\"east\")"
    assert ws.cell(row=r, column=4).value == "'+cmd|' /C calc'!A0"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_board_export_neutralises_names_and_keeps_negative_numbers(hostile_names):
    wh = hostile_names
    import_table(wh, "actuals", table([("revenue", "EAST", "2025-03", -5), ("revenue", "SOUTH", "2025-03", 7)]),
                 source="t")
    b = Board.model_validate({"code": "evil", "title": "-1+1", "filters": {"org": "SALES", "period": "2025-03"},
                              "tiles": [{"type": "bar_by_org", "metrics": ["revenue"], "title": "@SUM(1)"}]})
    wb = openpyxl.load_workbook(io.BytesIO(board_export.workbook(
        wh, b, org.tree(wh), dictionary.current(wh), dt.date(2025, 4, 15), lang="en")))
    assert wb["board"]["A1"].value == "'-1+1"
    ws = wb.worksheets[1]
    assert ws["A1"].value == "'@SUM(1)"
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, ws.max_row + 1)}
    east = rows["'=HYPERLINK(\"http://evil\",\"east\")"]
    assert ws.cell(row=east, column=2).value == "'@SUM(1)"  # the English metric name
    actual = ws.cell(row=east, column=4)
    assert actual.value == -5 and actual.data_type == "n"  # a real negative number stays a number
    assert all(c.data_type != "f" for s in wb.worksheets for r in s.iter_rows() for c in r)


def test_query_csv_neutralises_a_unit_code_and_keeps_negative_numbers(wh, tmp_path):
    """`query` prints unit codes into CSV that Excel opens. Org files now refuse such a code
    (test_org.py); a tree loaded as rows, or before that check, may still hold one."""
    org.import_org_rows(wh, ORG + [("=EVIL", "邪", "HQ")], source="rows")
    import_table(wh, "actuals", table([("revenue", "=EVIL", "2025-01", -5)]), source="t")
    r = CliRunner().invoke(main, ["--warehouse", str(wh.path), "query", "--metric", "revenue", "--org", "HQ",
                                  "--children", "--grain", "month", "--from", "2025-01", "--to", "2025-01"])
    assert r.exit_code == 0, r.output
    assert "revenue,'=EVIL,2025-01,-5.0,,,no_target" in r.output.splitlines()


# --- c. oversized and malformed files ------------------------------------------------------------
# Builders write the file at `p`; the largest streams 50 MB of spaces that pack into 50 KB.

CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
      'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
      'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
      '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
      '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
           '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
           '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
           'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
           'Target="sharedStrings.xml"/></Relationships>')
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
STRINGS = ["metric", "org", "period", "actual", "revenue", "EAST", "2025-01"]
ROWS = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c></row><row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" t="s"><v>5</v></c>'
        '<c r="C2" t="s"><v>6</v></c><c r="D2"><v>1</v></c></row>')
XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
          + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)) + "]>")


def sheet_xml(extra_rows: str = "", doctype: str = "", rows: str = ROWS) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<worksheet {NS}><sheetData>{rows}{extra_rows}'
            "</sheetData></worksheet>")


def strings_xml(strings=STRINGS, doctype: str = "") -> str:
    si = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<sst {NS}>{si}</sst>'


def package(p: Path, sheet: str | None = None, strings: str | None = None) -> Path:
    """An .xlsx written part by part, as a hostile tool would: one sheet, shared strings."""
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", CT), ("_rels/.rels", RELS), ("xl/workbook.xml", WB),
                           ("xl/_rels/workbook.xml.rels", WB_RELS), ("xl/worksheets/sheet1.xml", sheet or sheet_xml()),
                           ("xl/sharedStrings.xml", strings or strings_xml())):
            z.writestr(name, text)
    return p


def zip_bomb(p: Path, mb: int = 50) -> None:
    """sheet1.xml holds `mb` MB of spaces between its rows; the zip stays ~50 KB."""
    head, tail = sheet_xml().split("</sheetData>")
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", CT), ("_rels/.rels", RELS), ("xl/workbook.xml", WB),
                           ("xl/_rels/workbook.xml.rels", WB_RELS), ("xl/sharedStrings.xml", strings_xml())):
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(head.encode())
            spaces = b" " * 2**20
            for _ in range(mb):
                fh.write(spaces)
            fh.write(("</sheetData>" + tail).encode())


def forged_zip_bomb(p: Path) -> None:
    """The same bomb with its sheet's sizes forged to 1,000 bytes, so the size check passes."""
    zip_bomb(p, mb=20)
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(p.read_bytes())
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # the local header's size
    name = info.filename.encode()
    central = data.find(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 1000)  # and the central directory's
    p.write_bytes(bytes(data))


def far_cell(p: Path) -> None:
    """Two cells, A1 and XFD1048576: a 2 KB file whose grid is 17 billion cells (550 GB)."""
    package(p, sheet_xml('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


def far_cell_lower_case(p: Path) -> None:
    package(p, sheet_xml("<row r='1048576'><c r='xfd1048576'><v>1</v></c></row>"))


def wide_and_long(p: Path) -> None:
    """ZZ999999 sits mid-sheet: a 702-column, 999,999-row grid (22 GB)."""
    package(p, sheet_xml('<row r="3"><c r="ZZ999999"><v>1</v></c></row>'))


def cells_without_reference(p: Path) -> None:
    """20,000 cells without r= on row 999,999: a reader places them by counting (640 GB)."""
    package(p, sheet_xml('<row r="999999">' + "<c><v>1</v></c>" * 20_000 + "</row>"))


def reference_not_first(p: Path) -> None:
    package(p, sheet_xml('<row r="3"><c s="0" t="n" r="XFD3"><v>1</v></c></row><row r="1048576">'
                         '<c s="0" r="A1048576"><v>1</v></c></row>'))


def spelled_oddly(p: Path) -> None:
    """The far reference as XML allows it: spaces around =, single quotes."""
    package(p, sheet_xml('<row r="3"><c r = "A3"><v>1</v></c><c r = \'XFD1048576\'><v>1</v></c></row>'))


def second_reference(p: Path) -> None:
    """A second r= after a plain one (a reader may take the last)."""
    package(p, sheet_xml('<row r="3"><c r="A3" r="XFD1048576"><v>1</v></c></row>'))


def prefixed_far_cell(p: Path) -> None:
    package(p, sheet_xml('<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="1048576">'
                         '<x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>'))


def huge_row_number(p: Path) -> None:
    package(p, sheet_xml('<row r="3"><c r="A' + "9" * 5000 + '"><v>1</v></c></row>'))


def xls_with(p: Path, patch) -> None:
    """An .xls from xlwt, then one BIFF record forged by `patch(bytearray)`."""
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sh = book.add_sheet("s")
    for j, v in enumerate(H):
        sh.write(0, j, v)
    for j, v in enumerate(["revenue", "EAST", "2025-01", 1]):
        sh.write(1, j, v)
    sh.write(2, 0, 12345.678)  # a marker to find the NUMBER record by
    book.save(str(p))
    data = bytearray(p.read_bytes())
    patch(data)
    p.write_bytes(bytes(data))


def xls_far_cell(p: Path) -> None:
    def patch(data):
        at = data.find(struct.pack("<d", 12345.678))
        struct.pack_into("<HH", data, at - 6, 65535, 65535)  # the cell moves to row 65,536, column 65,536
    xls_with(p, patch)


def xls_forged_dimensions(p: Path) -> None:
    def patch(data):
        at = data.find(b"\x00\x02\x0e\x00")  # DIMENSIONS, 14 bytes
        struct.pack_into("<IIHH", data, at + 4, 0, 0xFFFFFFF0, 0, 0xFFFF)
    xls_with(p, patch)


def xls_encrypted(p: Path) -> None:
    def patch(data):
        at = data.find(b"\xe1\x00\x02\x00")  # INTERFACEHDR, 2 bytes: now FILEPASS, as a protected file has
        data[at:at + 2] = b"\x2f\x00"
    xls_with(p, patch)


def xxe_in_shared_strings(p: Path) -> None:
    package(p, strings=strings_xml(["metric", "org", "period", "actual", "&xxe;", "EAST", "2025-01"], XXE))


def laughs_in_sheet(p: Path) -> None:
    package(p, sheet_xml('<row r="3"><c r="A3" t="inlineStr"><is><t>&lol9;</t></is></c></row>', LAUGHS))


def corrupt_zip(p: Path) -> None:
    p.write_bytes(b"PK\x03\x04" + os.urandom(2000))


def truncated_xlsx(p: Path) -> None:
    whole = write_xlsx(p.with_name("whole.xlsx"), [H, ["revenue", "EAST", "2025-01", 1]]).read_bytes()
    p.write_bytes(whole[:len(whole) // 2])


def too_many_parts(p: Path) -> None:
    package(p)
    with zipfile.ZipFile(p, "a") as z:
        for i in range(10_001):
            z.writestr(f"xl/media/p{i}.bin", b"")


def csv_named_xlsx(p: Path) -> None:
    p.write_text("metric,org,period,actual\nrevenue,EAST,2025-01,1\n", encoding="utf-8")


def png_named_xlsx(p: Path) -> None:
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(200))


def empty(p: Path) -> None:
    p.write_bytes(b"")


def password_protected(p: Path) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = write_xlsx(p.with_name("plain.xlsx"), [H, ["revenue", "EAST", "2025-01", 1]])
    with plain.open("rb") as src, p.open("wb") as out:
        ooxml.OOXMLFile(src).encrypt("secret", out)


def ole_named_xlsx(p: Path) -> None:
    xls_with(p, lambda data: None)


def csv_with_nul(p: Path) -> None:
    p.write_bytes(b"metric,org,period,actual\nrevenue,EA\x00ST,2025-01,1\n")


def csv_not_utf8_or_gbk(p: Path) -> None:
    p.write_bytes("metric,org,period,actual\nrevenue,Zürich\xff,2025-01,1\n".encode("latin-1"))


def csv_broken_utf16(p: Path) -> None:
    p.write_bytes(b"\xff\xfe" + "metric,org,period,actual\n".encode("utf-16-le") + b"\x00\xd8")


def csv_unclosed_quote(p: Path) -> None:
    p.write_text('metric,org,period,actual\nrevenue,EAST,2025-01,"1\n' + "revenue,EAST,2025-02,2\n" * 10_000,
                 encoding="utf-8")


def csv_20000_columns(p: Path) -> None:
    p.write_text("metric,org,period,actual" + ",x" * 20_000 + "\nrevenue,EAST,2025-01,1\n", encoding="utf-8")


def csv_over_size(p: Path) -> None:
    p.write_text("metric,org,period,actual\n" + "revenue,EAST,2025-01,1\n" * 1000, encoding="utf-8")


def csv_over_rows(p: Path) -> None:
    p.write_text("metric,org,period,actual\n" + "".join(f"revenue,EAST,2025-{m:02d},1\n" for m in range(1, 7)),
                 encoding="utf-8")


BAD_FILES = [
    # (file name, builder, environment, fragment of the message)
    ("big.csv", csv_over_size, {"KPI_MAX_FILE_MB": "0.01"}, "the limit is 0.01 MB (KPI_MAX_FILE_MB)"),
    ("rows.csv", csv_over_rows, {"KPI_MAX_ROWS": "5"}, "has 6 rows, over the 5-row limit (KPI_MAX_ROWS)"),
    ("bomb.xlsx", zip_bomb, {"KPI_MAX_UNZIPPED_MB": "5"}, "unpacks to 50 MB, over the 5 MB limit"),
    ("forged.xlsx", forged_zip_bomb, {}, "is damaged"),
    ("far.xlsx", far_cell, {}, "from A1 to XFD1048576: a grid of 1,048,576 rows × 16,384 columns"),
    ("lower.xlsx", far_cell_lower_case, {}, "XFD1048576"),
    ("wide.xlsx", wide_and_long, {}, "from A1 to ZZ999999"),
    ("counted.xlsx", cells_without_reference, {}, "999,999 rows × 20,000 columns"),
    ("reordered.xlsx", reference_not_first, {}, "XFD1048576"),
    ("spelled.xlsx", spelled_oddly, {}, "XFD1048576"),
    ("second.xlsx", second_reference, {}, "XFD1048576"),
    ("prefixed.xlsx", prefixed_far_cell, {}, "XFD1048576"),
    ("digits.xlsx", huge_row_number, {}, "over the 50,000,000-cell limit (KPI_MAX_CELLS)"),
    ("small.xlsx", far_cell, {"KPI_MAX_CELLS": "1000"}, "over the 1,000-cell limit (KPI_MAX_CELLS)"),
    ("far.xls", xls_far_cell, {}, "65,536 rows × 65,536 columns"),
    ("dims.xls", xls_forged_dimensions, {}, "over the 50,000,000-cell limit (KPI_MAX_CELLS)"),
    ("protected.xls", xls_encrypted, {}, "is password-protected"),
    ("xxe.xlsx", xxe_in_shared_strings, {}, "part xl/sharedStrings.xml declares a DOCTYPE"),
    ("laughs.xlsx", laughs_in_sheet, {}, "part xl/worksheets/sheet1.xml declares a DOCTYPE"),
    ("corrupt.xlsx", corrupt_zip, {}, "is damaged"),
    ("truncated.xlsx", truncated_xlsx, {}, "is damaged"),
    ("parts.xlsx", too_many_parts, {}, "holds 10,007 parts"),
    ("really.xlsx", csv_named_xlsx, {}, "is not an Excel workbook (it looks like a text file)"),
    ("image.xlsx", png_named_xlsx, {}, "is not an Excel workbook (it looks like a binary file)"),
    ("empty.xlsx", empty, {}, "is empty (0 bytes)"),
    ("locked.xlsx", password_protected, {}, "is password-protected"),
    ("legacy.xlsx", ole_named_xlsx, {}, "is an old .xls workbook saved with a .xlsx name"),
    ("nul.csv", csv_with_nul, {}, "is not a CSV text file (it looks like a binary file)"),
    ("latin.csv", csv_not_utf8_or_gbk, {}, "is neither UTF-8 nor GBK text"),
    ("utf16.csv", csv_broken_utf16, {}, "starts as UTF-16 text but is not"),
    ("quote.csv", csv_unclosed_quote, {}, 'a cell may open a quote (") that is never closed'),
    ("columns.csv", csv_20000_columns, {}, "over the 16,384-column limit"),
]
# calamine aborts the whole process on these (it asks for the grid's memory up front), so they
# run in a child with a memory cap: a regression fails its cases instead of killing the suite.
READER_KILLERS = {"far.xlsx", "lower.xlsx", "wide.xlsx", "counted.xlsx", "reordered.xlsx", "spelled.xlsx",
                  "second.xlsx", "prefixed.xlsx", "digits.xlsx", "small.xlsx", "far.xls", "dims.xls"}

CHILD = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    from kpi_core.ingest.facts.load import import_facts
    from kpi_core.store.warehouse import open_warehouse
    wh = open_warehouse(sys.argv[1])
    for path in sys.argv[2:]:
        try:
            import_facts(wh, "actuals", path)
            print(json.dumps([path, "loaded"]), flush=True)
        except Exception as exc:
            print(json.dumps([path, f"{type(exc).__name__}: {exc}"]), flush=True)
    with wh.connect() as con:
        print(json.dumps(["batches", con.execute("SELECT count(*) FROM batch").fetchone()[0]]), flush=True)
""")


@pytest.fixture(scope="module")
def killer_results(template_warehouse, tmp_path_factory):
    """What importing each reader-killer file gave in a memory-capped child, and its batch count."""
    root = tmp_path_factory.mktemp("killers")
    wh_path = root / "warehouse.duckdb"
    wh_path.write_bytes(template_warehouse.read_bytes())
    runs = {}
    for name, build, env, _ in BAD_FILES:
        if name in READER_KILLERS:
            build(root / name)
            runs.setdefault(tuple(sorted(env.items())), []).append(str(root / name))
    out = {}
    for env, paths in runs.items():
        r = subprocess.run([sys.executable, "-c", CHILD, str(wh_path), *paths], capture_output=True, text=True,
                           cwd=PROJECT_ROOT, env={**os.environ, **dict(env)}, timeout=120)
        lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("[")]
        out.update({Path(p).name: msg for p, msg in lines})
        out.setdefault("exit codes", []).append((r.returncode, r.stderr[-2000:]))
    with Warehouse(wh_path).connect() as con:
        out["batches after"] = con.execute("SELECT count(*) FROM batch").fetchone()[0]
    out["batches before"] = batch_count_of(template_warehouse)
    return out


def batch_count_of(path: Path) -> int:
    with Warehouse(path).connect() as con:
        return con.execute("SELECT count(*) FROM batch").fetchone()[0]


@pytest.mark.parametrize("name, build, env, fragment", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_is_refused_unread_and_nothing_is_written(wh, tmp_path, monkeypatch, killer_results,
                                                               name, build, env, fragment):
    if name in READER_KILLERS:
        assert all(code == 0 for code, _ in killer_results["exit codes"]), killer_results["exit codes"]
        assert killer_results[name].startswith(f"FileRefused: {name}"), killer_results[name]
        assert fragment in killer_results[name]
        assert killer_results["batches after"] == killer_results["batches before"]
        return
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    path = tmp_path / name
    build(path)
    before = state(wh)
    with pytest.raises(FileRefused) as err:
        import_facts(wh, "actuals", path)
    assert str(err.value).startswith(name) and fragment in str(err.value), str(err.value)
    assert "\n" not in str(err.value) and str(tmp_path) not in str(err.value)  # one line, no server path
    assert state(wh) == before


def stray_cell(p: Path) -> None:
    """A cell at D2000: 8,000 cells, over a limit of 1,000 (harmless if the check were gone)."""
    package(p, sheet_xml('<row r="2000"><c r="D2000"><v>1</v></c></row>'),  # headers any importer reads
            strings_xml(["code", "name", "parent", "note", "X1", "X", "HQ"]))


@pytest.mark.parametrize("importer", ["dataset", "org"])
@pytest.mark.parametrize("name, build, fragment", [
    ("stray.xlsx", stray_cell, "from A1 to D2000: a grid of 2,000 rows × 4 columns = 8,000 cells"),
    ("xxe.xlsx", xxe_in_shared_strings, "declares a DOCTYPE"),
    ("forged.xlsx", forged_zip_bomb, "is damaged"),
    ("columns.csv", csv_20000_columns, "16,384"),
    ("utf16.csv", csv_broken_utf16, "starts as UTF-16 text but is not"),
])
def test_datasets_and_org_files_meet_the_same_checks(wh, tmp_path, monkeypatch, importer, name, build, fragment):
    monkeypatch.setenv("KPI_MAX_CELLS", "1000")
    path = tmp_path / name
    build(path)
    before = state(wh)
    with pytest.raises(KpiError) as err:
        if importer == "dataset":
            import_file(wh, "hostile", path)
        else:
            import_org(wh, path)
    assert fragment in str(err.value)
    assert state(wh) == before


def test_a_dataset_csv_duckdb_cannot_read_is_a_message_not_a_crash(wh, tmp_path):
    path = tmp_path / "cell.csv"
    path.write_bytes(b'a,b\n1,"' + b"x" * (3 << 20) + b'"\n')  # one 3 MB cell: DuckDB's CSV reader gives up
    before = state(wh)
    with pytest.raises(KpiError, match=r"^cell\.csv cannot be read as CSV: .{0,300}$"):
        import_file(wh, "cells", path)
    assert state(wh) == before


def test_plain_workbooks_still_pass_the_grid_check(wh, tmp_path):
    """The check's control: a wide sheet (to column AD, so its two-letter path) still loads."""
    wide = write_xlsx(tmp_path / "wide.xlsx", [["metric", "org", *[f"2025-{m:02d}" for m in range(1, 13)],
                                               *[f"note {i}" for i in range(16)]],
                                              ["revenue", "EAST", *range(1, 13), *["x"] * 16]])
    assert import_facts(wh, "actuals", wide).loaded == 12


# --- d. many uploads at once ---------------------------------------------------------------------

UNITS = ["EAST", "SOUTH", "SVC", "SALES", "OPS"]


def upload(tmp_path: Path, i: int) -> tuple[Path, float]:
    """File i: twelve months of one unit in its own year; (path, sum of its values)."""
    unit, year = UNITS[i % len(UNITS)], 2001 + i
    values = [i * 1000 + m * 1.25 for m in range(1, 13)]
    path = tmp_path / f"upload{i:02d}.csv"
    path.write_text("metric,org,period,actual\n" + "".join(
        f"revenue,{unit},{year}-{m:02d},{v}\n" for m, v in zip(range(1, 13), values, strict=True)), encoding="utf-8")
    return path, sum(values)


def loaded_batches(wh) -> dict[int, tuple[int, int, float]]:
    """{batch: (rows the batch says it loaded, facts it holds, their sum)} of the actuals batches."""
    with wh.connect() as con:
        rows = con.execute("SELECT b.id, b.rows_loaded, count(f.value), coalesce(sum(f.value), 0) FROM batch b "
                           "LEFT JOIN actual_fact f ON f.batch_id = b.id WHERE b.kind = 'actuals' "
                           "GROUP BY b.id, b.rows_loaded").fetchall()
    return {b: (n, held, total) for b, n, held, total in rows}


def test_twenty_command_line_uploads_at_once_all_load_whole(wh_path, tmp_path):
    """Twenty processes, one warehouse file: DuckDB admits one writer process at a time, so all
    but one wait for the file (KPI_LOCK_TIMEOUT) and then load; no batch is half written."""
    files = [upload(tmp_path, i) for i in range(20)]
    env = {**os.environ, "KPI_LOCK_TIMEOUT": "300"}
    procs = [subprocess.Popen([sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), "--format", "json",
                               "import", "actuals", str(p)], cwd=PROJECT_ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p, _ in files]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, out, err))
    for code, out, err in results:
        assert code == 0, err  # a refusal would have to say it was busy; with this timeout none is
        assert json.loads(out)["loaded"] == 12
    batch_ids = [json.loads(out)["batch"] for _, out, _ in results]
    assert len(set(batch_ids)) == 20
    held = loaded_batches(Warehouse(wh_path))
    assert sorted(held) == sorted(batch_ids)
    assert all(n == facts == 12 for n, facts, _ in held.values())
    assert sum(total for *_, total in held.values()) == pytest.approx(sum(s for _, s in files))


def test_twenty_sessions_of_one_app_upload_at_once(wh_path, tmp_path):
    """The app's sessions are threads of one process sharing the database: their transactions
    queue instead of failing with DuckDB's 'Conflict on update'."""
    files = [upload(tmp_path, i) for i in range(20)]
    start = threading.Barrier(20)

    def session(path):
        start.wait()
        return import_facts(Warehouse(wh_path), "actuals", path).batch

    with ThreadPoolExecutor(20) as pool:
        batch_ids = list(pool.map(session, [p for p, _ in files]))
    held = loaded_batches(Warehouse(wh_path))
    assert sorted(held) == sorted(batch_ids) and len(held) == 20
    assert all(n == facts == 12 for n, facts, _ in held.values())
    assert sum(total for *_, total in held.values()) == pytest.approx(sum(s for _, s in files))


def test_an_upload_that_waits_too_long_says_busy_and_writes_nothing(wh_path, tmp_path):
    path, _ = upload(tmp_path, 0)
    holder, entered, release = Warehouse(wh_path), threading.Event(), threading.Event()

    def hold():
        with holder.transaction():
            entered.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(30)
        with pytest.raises(WarehouseBusy, match=r"is busy with another change; waited 0.2 s\. Nothing was written"):
            import_facts(Warehouse(wh_path, timeout=0.2), "actuals", path)
    finally:
        release.set()
        t.join()
    assert loaded_batches(Warehouse(wh_path)) == {}
    assert import_facts(Warehouse(wh_path), "actuals", path).loaded == 12  # and it loads once the way is clear
