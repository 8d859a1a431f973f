"""What queries keep outlives writes that do not touch it (store.versions, query.cache.Scope), and
after every kind of write the numbers from the kept values equal those of a process that kept
nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple

import pyarrow as pa
import pytest

from kpi_core.ingest.datasets import import_arrow
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.query import api, cache
from kpi_core.services.revert import revert
from kpi_core.store import settings, versions
from kpi_core.store.warehouse import open_warehouse

TODAY = dt.date(2026, 11, 27)
# Uploaded (min_cash_balance, headcount, nps by quarter), from a dataset (revenue, a distinct
# count), formulas over both kinds, at the company's children and a division's subtree, by month,
# quarter and year to date.
METRICS = ("min_cash_balance", "headcount", "nps", "revenue", "active_customers", "revenue_per_employee",
           "gross_margin", "avg_order_value")
QUERIES = [
    api.Query(METRICS, "HQ", "children", "month", "2026-07", "2026-10"),
    api.Query(METRICS, "D1", "subtree", "quarter", "2026-Q2", "2026-Q3"),
    api.Query(METRICS, "HQ", "self", "month", "2026-09", "2026-10", ytd=True),
]


def _numbers(wh) -> list[list[tuple]]:
    """Every cell of the queries, its floats to 12 significant digits: DuckDB's parallel sums of
    doubles may differ in the last bit from one run to the next, kept or not."""
    return [[tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in astuple(c))
             for c in api.run(wh, q, today=TODAY).cells] for q in QUERIES]


def _forget() -> None:
    for c in cache._ALL:
        c.clear()


def _fresh(wh) -> list[list[tuple]]:
    """The numbers as a process that keeps nothing works them out."""
    _forget()
    return _numbers(wh)


def _orders(wh, rows: int) -> pa.Table:
    """`rows` of the demo's orders again, in 2026-10, with other amounts and a new customer."""
    with wh.read() as con:
        t = con.sql("SELECT * FROM ds_sales_orders WHERE order_date >= DATE '2026-10-01' "
                    f"LIMIT {rows}").to_arrow_table()
    t = t.set_column(t.schema.get_field_index("amount"), "amount", pa.array([1234.5 + i for i in range(rows)]))
    return t.set_column(t.schema.get_field_index("customer_id"), "customer_id",
                        pa.array([f"NEW-{i}" for i in range(rows)]))


def _actuals(wh, metric: str, org: str, period: str, value: float) -> int:
    return import_table(wh, "actuals", pa.table({"metric": [metric], "org": [org], "period": [period],
                                                 "value": [value]}), source="test").batch


def _targets(wh, metric: str, org: str, period: str, value: float) -> int:
    return import_table(wh, "targets", pa.table({"metric": [metric], "org": [org], "period": [period],
                                                 "value": [value]}), source="test").batch


# (name, the write, the subjects it names; None: a broad write)
WRITES = [
    ("actuals of an uploaded metric", lambda wh: _actuals(wh, "min_cash_balance", "D1", "2026-10", 7.5e7),
     ["actual:min_cash_balance"]),
    ("actuals of a formula's component", lambda wh: _actuals(wh, "headcount", "D1", "2026-10", 4321),
     ["actual:headcount"]),
    ("a quarter's actuals", lambda wh: _actuals(wh, "nps", "D1", "2026-Q3", 12), ["actual:nps"]),
    ("targets", lambda wh: _targets(wh, "min_cash_balance", "D1", "2026-10", 9e7), ["target:min_cash_balance"]),
    ("rows appended to a dataset", lambda wh: import_arrow(wh, "sales_orders", _orders(wh, 50), source="test",
                                                           mode="append").batch, ["dataset:sales_orders"]),
    ("a setting (broad)", lambda wh: settings.put(wh, "default_amber", "0.95", reason="test: thresholds"), None),
]


@pytest.mark.parametrize(("name", "write", "subjects"), WRITES, ids=[w[0] for w in WRITES])
def test_after_a_write_and_its_revert_the_kept_numbers_are_a_fresh_processs(demo_path, name, write, subjects):
    wh = open_warehouse(demo_path)
    before = _numbers(wh)  # everything kept now
    with wh.read() as con:
        base = versions.read(con).base
    batch = write(wh)
    with wh.read() as con:
        now = versions.read(con)
    if subjects is None:
        assert now.base == now.data
    else:
        assert (now.base, sorted(now.subjects)) == (base, subjects)
        assert all(now.of(s) == now.data for s in subjects)
    after = _numbers(wh)
    assert after != before  # the write shows
    assert after == _fresh(wh)
    if subjects is not None:
        _numbers(wh)
        revert(wh, batch, reason="test: the revert is narrow too")
        with wh.read() as con:
            assert versions.read(con).base == base
        assert _numbers(wh) == _fresh(wh) == before


def test_an_upload_keeps_what_other_metrics_kept_and_works_out_its_own_anew(demo_path):
    wh = open_warehouse(demo_path)
    _forget()  # only this warehouse's entries, none of earlier tests'
    _numbers(wh)
    revenue = {k: v for k, v in cache.VALUES._items.items() if k[1] == "revenue"}
    facts = {k: v for k, v in cache.FACTS._items.items() if "facts" in k}
    assert revenue and facts
    _actuals(wh, "min_cash_balance", "D1", "2026-10", 7.5e7)
    _numbers(wh)
    assert all(cache.VALUES.peek(k) is v for k, v in revenue.items())  # the same objects: not worked out again
    kept = {(k[2], k[3]) for k, v in facts.items() if cache.FACTS.peek(k) is v}  # (view, metric)
    assert ("actual", "min_cash_balance") not in kept
    assert {("target", "min_cash_balance"), ("actual", "headcount"), ("actual", "nps")} <= kept
    # The older entry of what was written is let go at once, not when the bounds push it out.
    assert not any(k[2:] == ("actual", "min_cash_balance") and cache.FACTS.peek(k) is not None for k in facts)


def test_a_broad_write_lets_everything_go(demo_path):
    wh = open_warehouse(demo_path)
    _forget()
    _numbers(wh)
    kept = dict(cache.VALUES._items)
    settings.put(wh, "default_amber", "0.7", reason="test: thresholds")
    _numbers(wh)
    assert not any(cache.VALUES.peek(k) is not None for k in kept)


def test_a_forecast_is_kept_until_a_write_changes_what_it_is_made_of(demo_path):
    from kpi_core.query.forecast import forecast, kept_forecast

    wh = open_warehouse(demo_path)
    made = {m: forecast(wh, m, "HQ", "2026-Q4", today=TODAY) for m in ("revenue", "revenue_per_employee", "headcount")}
    _actuals(wh, "min_cash_balance", "D1", "2026-10", 7.5e7)  # none of theirs
    assert all(kept_forecast(wh, m, "HQ", "2026-Q4", TODAY) is f for m, f in made.items())
    _actuals(wh, "headcount", "D1", "2026-10", 4321)  # headcount's, and the formula's over it
    assert kept_forecast(wh, "revenue", "HQ", "2026-Q4", TODAY) is made["revenue"]
    assert kept_forecast(wh, "headcount", "HQ", "2026-Q4", TODAY) is None
    assert kept_forecast(wh, "revenue_per_employee", "HQ", "2026-Q4", TODAY) is None
    again = forecast(wh, "headcount", "HQ", "2026-Q4", today=TODAY)
    _forget()
    assert forecast(wh, "headcount", "HQ", "2026-Q4", today=TODAY) == again


@pytest.mark.parametrize(("metric", "subjects"), [
    ("min_cash_balance", {"actual:min_cash_balance", "target:min_cash_balance"}),
    ("revenue", {"dataset:sales_orders", "target:revenue"}),
    ("revenue_per_employee", {"target:revenue_per_employee", "dataset:sales_orders", "target:revenue",
                              "actual:headcount", "target:headcount"}),
])
def test_what_a_metrics_numbers_are_made_of(demo_path, metric, subjects):
    _, metrics = api.context(open_warehouse(demo_path))
    assert api.subjects_of(metrics, metric) == subjects
