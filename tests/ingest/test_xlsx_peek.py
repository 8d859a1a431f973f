"""Reading an .xlsx sheet's first rows and merged cells from its XML, on a workbook written the
way Excel writes one (shared strings, rich text, date styles, a namespace prefix), not openpyxl."""

import zipfile
from datetime import datetime

import pytest

from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.headers import FACT_ROLES, header_finder
from kpi_core.ingest.read import read_grid
from kpi_core.ingest.xlsx_peek import merged_xlsx, peek_xlsx

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet7.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<x:sheets><x:sheet name="说明" sheetId="1" r:id="rId9"/><x:sheet name="R&amp;D 2025" sheetId="2" r:id="rId3"/></x:sheets>
</x:workbook>"""
WB_RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet7.xml"/>
<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>
<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""
STYLES = """<?xml version="1.0" encoding="UTF-8"?>
<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<x:numFmts count="1"><x:numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/></x:numFmts>
<x:cellXfs count="3"><x:xf numFmtId="0"/><x:xf numFmtId="176" applyNumberFormat="1"/><x:xf numFmtId="10"/></x:cellXfs>
</x:styleSheet>"""
SHARED = ["2025年研发部实绩", "指标", "部门", "revenue", "EAST", "SOUTH"]


def _si(text: str) -> str:
    if text == "部门":  # rich text: one string in two runs
        return "<x:si><x:r><x:t>部</x:t></x:r><x:r><x:rPr/><x:t>门</x:t></x:r></x:si>"
    return f"<x:si><x:t>{text}</x:t></x:si>"


def _c(ref: str, v, kind: str = "", style: int = 0) -> str:
    t = f' t="{kind}"' if kind else ""
    s = f' s="{style}"' if style else ""
    return f'<x:c r="{ref}"{t}{s}><x:v>{v}</x:v></x:c>'


SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main"><x:dimension ref="B2:E5"/><x:sheetData>'
    f'<x:row r="2">{_c("B2", 0, "s")}</x:row>'
    f'<x:row r="3">{_c("B3", 1, "s")}{_c("C3", 2, "s")}{_c("D3", 45658, style=1)}{_c("E3", 45689, style=1)}</x:row>'
    f'<x:row r="4">{_c("B4", 3, "s")}{_c("C4", 4, "s")}{_c("D4", "0.1234567890123457")}{_c("E4", 12)}</x:row>'
    f'<x:row r="5">{_c("B5", 3, "s")}{_c("C5", 5, "s")}{_c("D5", 7)}'
    '<x:c r="E5" t="inlineStr"><x:is><x:t>1,234.5</x:t></x:is></x:c></x:row>'
    '</x:sheetData><x:mergeCells count="1"><x:mergeCell ref="B2:E2"/></x:mergeCells></x:worksheet>'
)
NOTES = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>请填写第二张表</t></is></c></row></sheetData></worksheet>')


@pytest.fixture(scope="module")
def excel_like(tmp_path_factory):
    path = tmp_path_factory.mktemp("xl") / "excel_saved.xlsx"
    shared = ('<?xml version="1.0" encoding="UTF-8"?><x:sst xmlns:x="http://schemas.openxmlformats.org/'
              f'spreadsheetml/2006/main" count="{len(SHARED)}">' + "".join(map(_si, SHARED)) + "</x:sst>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in [("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/workbook.xml", WORKBOOK), ("xl/_rels/workbook.xml.rels", WB_RELS),
                           ("xl/styles.xml", STYLES), ("xl/sharedStrings.xml", shared),
                           ("xl/worksheets/sheet7.xml", SHEET), ("xl/worksheets/sheet1.xml", NOTES)]:
            zf.writestr(name, text)
    return path


def test_peek_reads_shared_and_rich_strings_dates_and_numbers(excel_like):
    rows = peek_xlsx(excel_like, "R&D 2025", 30)
    assert rows[0] == []
    assert rows[1] == [None, "2025年研发部实绩"]
    assert rows[2] == [None, "指标", "部门", datetime(2025, 1, 1), datetime(2025, 2, 1)]
    assert rows[3] == [None, "revenue", "EAST", 0.1234567890123457, 12.0]
    assert rows[4] == [None, "revenue", "SOUTH", 7.0, "1,234.5"]
    assert peek_xlsx(excel_like, "说明", 30) == [["请填写第二张表"]]


def test_merged_cells(excel_like):
    assert merged_xlsx(excel_like, "R&D 2025") == [((1, 1), (1, 4))]


def test_the_import_reads_it_whole(excel_like, wh):
    g = read_grid(excel_like, find_header=header_finder(FACT_ROLES, need=3))
    assert g.sheet == "R&D 2025" and g.header_row == 3 and g.rows.to_pylist() == [4, 5]
    r = import_facts(wh, "actuals", excel_like)
    assert r.errors == [] and r.loaded == 4
    with wh.connect() as con:
        got = dict(con.execute("SELECT org || '/' || period, value FROM actual").fetchall())
    assert got == {"EAST/2025-01": 0.1234567890123457, "EAST/2025-02": 12.0,
                   "SOUTH/2025-01": 7.0, "SOUTH/2025-02": 1234.5}
