"""Datasets from files: names kept as written, types inferred or overridden, replace/append/revert."""

import datetime as dt

import openpyxl
import pytest

from kpi_core.ingest.datasets import import_file
from kpi_core.model.errors import KpiError
from kpi_core.model.names import quoted
from kpi_core.services.revert import revert
from kpi_core.store import batches, datasets
from kpi_core.store.warehouse import open_warehouse


@pytest.fixture
def wh(tmp_path):
    return open_warehouse(tmp_path / "w.duckdb")


def _xlsx(tmp_path, rows, name="d.xlsx", title=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for r in rows:
        ws.append(r)
    p = tmp_path / name
    wb.save(p)
    return p


def _rows(wh, name, sql="SELECT * FROM {v}"):
    view = quoted(datasets.view_name(name)).sql("duckdb")
    with wh.connect() as con:
        return con.execute(sql.format(v=view)).fetchall()


ORDERS = [
    [" Order ID ", "下单日期", "部门编码", "Sales", "status"],
    ["A1", dt.date(2025, 1, 5), "D1", 100.5, "completed"],
    ["A2", dt.date(2025, 2, 6), "D2", 200.0, "cancelled"],
    ["A3", dt.date(2025, 2, 7), "D1", 50.25, "completed"],
]


def test_excel_dataset_keeps_headers_and_types(wh, tmp_path):
    r = import_file(wh, "sales_orders", _xlsx(tmp_path, ORDERS, title="2025 orders export"))
    assert r.batch and r.loaded == 3
    cols = {c["name"]: c["type"] for c in datasets.columns(wh, "sales_orders")}
    assert list(cols) == ["Order ID", "下单日期", "部门编码", "Sales", "status"]
    assert cols["Sales"] == "DOUBLE" and cols["下单日期"] in ("DATE", "TIMESTAMP")
    assert _rows(wh, "sales_orders", 'SELECT sum("Sales") FROM {v}') == [(350.75,)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_dataset_encodings(wh, tmp_path, encoding):
    text = "客户,满意度,回复日期\n甲公司,4.5,2025-03-01\n乙公司,3,2025-03-02\n"
    p = tmp_path / "s.csv"
    p.write_bytes(text.encode(encoding))
    r = import_file(wh, "survey", p)
    assert r.loaded == 2
    assert _rows(wh, "survey", 'SELECT "客户", "满意度" FROM {v} ORDER BY 1') == [("乙公司", 3.0), ("甲公司", 4.5)]
    cols = {c["name"]: c["type"] for c in datasets.columns(wh, "survey")}
    assert cols["回复日期"] == "DATE"


def test_replace_append_and_revert(wh, tmp_path):
    first = import_file(wh, "o", _xlsx(tmp_path, ORDERS)).batch
    more = [ORDERS[0], ["A4", dt.date(2025, 3, 1), "D2", 10.0, "completed"]]
    appended = import_file(wh, "o", _xlsx(tmp_path, more, "more.xlsx"), mode="append").batch
    assert _rows(wh, "o", "SELECT count(*) FROM {v}") == [(4,)]
    replaced = import_file(wh, "o", _xlsx(tmp_path, more, "more.xlsx"), mode="replace").batch
    assert _rows(wh, "o", "SELECT count(*) FROM {v}") == [(1,)]
    revert(wh, replaced, reason="wrong file")
    assert _rows(wh, "o", "SELECT count(*) FROM {v}") == [(4,)]
    revert(wh, first, reason="wrong file")  # the append stays, on its own
    assert _rows(wh, "o", 'SELECT "Order ID" FROM {v}') == [("A4",)]
    revert(wh, appended, reason="wrong file")
    assert "o" not in {d["name"] for d in datasets.list_datasets(wh)}


def test_append_with_clashing_type_is_refused_and_writes_nothing(wh, tmp_path):
    import_file(wh, "o", _xlsx(tmp_path, ORDERS))
    n = len(batches.list_batches(wh))
    bad = [ORDERS[0], ["A9", dt.date(2025, 3, 1), "D2", "lots", "completed"]]
    with pytest.raises(KpiError, match="'Sales' was DOUBLE, now VARCHAR"):
        import_file(wh, "o", _xlsx(tmp_path, bad, "bad.xlsx"), mode="append")
    assert len(batches.list_batches(wh)) == n
    assert _rows(wh, "o", "SELECT count(*) FROM {v}") == [(3,)]


def test_type_override(wh, tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("code,amount\n001,5\n002,7\n", encoding="utf-8")
    import_file(wh, "codes", p, types={"code": "text"})
    assert _rows(wh, "codes", "SELECT code FROM {v} ORDER BY 1") == [("001",), ("002",)]
    with pytest.raises(KpiError, match="column 'amount' cannot be read as date: value '5'"):
        import_file(wh, "codes2", p, types={"amount": "date"})
    with pytest.raises(KpiError, match="which the data does not have"):
        import_file(wh, "codes3", p, types={"nope": "text"})


@pytest.mark.parametrize("rows, fragment", [
    ([["a", "a", "b"], [1, 2, 3]], "duplicate column name"),
    ([["a", None, "b"], [1, 2, 3]], "column has no header"),
])
def test_bad_headers(wh, tmp_path, rows, fragment):
    r = import_file(wh, "x", _xlsx(tmp_path, rows))
    assert r.batch is None and any(fragment in e.message for e in r.errors)


@pytest.mark.parametrize("name", ["", "a/b", "x" * 80, "drop table;"])
def test_bad_dataset_names(wh, tmp_path, name):
    with pytest.raises(KpiError, match="dataset name"):
        import_file(wh, name, _xlsx(tmp_path, ORDERS))
