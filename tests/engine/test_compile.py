"""Dataset metrics over a unit's whole subtree: distinct counts and averages right at every level."""

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from kpi_core.engine.compile import (
    CLOSURE,
    KEYS,
    PERIODS,
    compile_dataset_metric,
    compile_unmapped,
    org_closure,
    org_keys,
    periods_table,
    scoped,
)
from kpi_core.ingest.datasets import import_arrow
from kpi_core.model.metric import Metric
from kpi_core.model.periods import parse_period
from kpi_core.store import datasets, dictionary, org

# HQ ─ SALES ─ EAST, SOUTH ; HQ ─ OPS ─ SVC (conftest.ORG). Rows on EAST, SOUTH, on SALES
# itself, by name (华南组 = SOUTH) and one legacy code that maps to no unit.
ROWS = [
    # day, org, customer, minutes, status
    (dt.date(2025, 1, 3), "EAST", "c1", 10.0, "ok"),
    (dt.date(2025, 1, 9), "EAST", "c2", 20.0, "ok"),
    (dt.date(2025, 1, 15), "SOUTH", "c1", 30.0, "ok"),
    (dt.date(2025, 1, 20), "华南组", "c3", 40.0, "ok"),
    (dt.date(2025, 2, 2), "SALES", "c4", 50.0, "ok"),
    (dt.date(2025, 2, 5), "EAST", "c1", 60.0, "cancelled"),
    (dt.date(2025, 4, 1), "SVC", "c9", 70.0, "ok"),
    (dt.date(2025, 1, 7), "X-OLD", "c1", 80.0, "ok"),
]


@pytest.fixture
def setup(wh):
    table = pa.table({name: [r[i] for r in ROWS] for i, name in enumerate(["day", "unit", "客户", "minutes",
                                                                           "status"])})
    import_arrow(wh, "tickets", table, source="t")
    metrics = {
        "customers": Metric(code="customers", name="客户数", source={
            "dataset": "tickets", "measure": 'count(distinct "客户")', "filter": "status = 'ok'",
            "time_column": "day", "org_column": "unit"}),
        "avg_minutes": Metric(code="avg_minutes", name="平均时长", source={
            "dataset": "tickets", "measure": "avg(Minutes)", "time_column": "day", "org_column": "unit"}),
    }
    dictionary.apply_metrics(wh, list(metrics.values()), reason="test metrics")
    return wh, metrics


def _periods(first, last):
    """The periods from first to last at first's grain, as (label, start, end)."""
    p, end, out = parse_period(first), parse_period(last), []
    while p <= end:
        out.append((p.label, p.first_day(), p.end_day()))
        p = p.shift(1)
    return out


def run(wh, metric, grain, first, last, scope, periods=None, cumulative=False):
    cols = [c["name"] for c in datasets.columns(wh, "tickets")]
    periods = periods or _periods(first, last)
    q = compile_dataset_metric(metric, cols, min(p[1] for p in periods), max(p[2] for p in periods), cumulative)
    with wh.connect() as con:
        con.register(CLOSURE, scoped(org_closure(org.tree(wh)), scope))
        con.register(PERIODS, periods_table(periods))
        rows = con.execute(q.render(), q.params).fetchall()
        for name in (CLOSURE, PERIODS):
            con.unregister(name)
    return {(o, p): v for o, p, v in rows}


@pytest.mark.parametrize("grain, first, last, expected", [
    ("month", "2025-01", "2025-02", {("EAST", "2025-01"): 2, ("SOUTH", "2025-01"): 2, ("SALES", "2025-01"): 3,
                                     ("SALES", "2025-02"): 1, ("HQ", "2025-01"): 3, ("HQ", "2025-02"): 1}),
    # c1 is a customer of EAST and SOUTH: the department counts it once, not 1 + 1.
    ("quarter", "2025-Q1", "2025-Q2", {("EAST", "2025-Q1"): 2, ("SOUTH", "2025-Q1"): 2, ("SALES", "2025-Q1"): 4,
                                       ("HQ", "2025-Q1"): 4, ("HQ", "2025-Q2"): 1, ("SVC", "2025-Q2"): 1,
                                       ("OPS", "2025-Q2"): 1}),
    ("year", "2025", "2025", {("EAST", "2025"): 2, ("SOUTH", "2025"): 2, ("SALES", "2025"): 4, ("HQ", "2025"): 5,
                              ("SVC", "2025"): 1, ("OPS", "2025"): 1}),
])
def test_distinct_count_over_the_subtree(setup, grain, first, last, expected):
    wh, m = setup
    assert run(wh, m["customers"], grain, first, last, ["HQ", "SALES", "EAST", "SOUTH", "SVC", "OPS"]) == expected


def test_average_is_over_rows_not_over_children(setup):
    wh, m = setup
    got = run(wh, m["avg_minutes"], "year", "2025", "2025", ["SALES", "EAST", "SOUTH"])
    assert got[("EAST", "2025")] == pytest.approx((10 + 20 + 60) / 3)
    assert got[("SOUTH", "2025")] == pytest.approx(35.0)
    # All five rows of SALES' subtree; the mean of the children's means would be 37.5.
    assert got[("SALES", "2025")] == pytest.approx((10 + 20 + 30 + 40 + 50 + 60) / 6)


def test_only_the_asked_units_and_periods(setup):
    wh, m = setup
    got = run(wh, m["customers"], "month", "2025-02", "2025-02", ["EAST"])
    assert got == {}
    assert run(wh, m["customers"], "month", "2025-01", "2025-01", ["SOUTH"]) == {("SOUTH", "2025-01"): 2}


def test_unmapped_rows_are_counted(setup):
    wh, m = setup
    q = compile_unmapped(m["customers"], parse_period("2025").first_day(), parse_period("2025").end_day())
    with wh.connect() as con:
        con.register(KEYS, org_keys(org_closure(org.tree(wh))))
        assert con.execute(q.render(), q.params).fetchall() == [(1,)]


def test_the_tree_renders_in_other_dialects(setup):
    wh, m = setup
    q = compile_dataset_metric(m["customers"], ["day", "unit", "客户", "minutes", "status"],
                               parse_period("2025").first_day(), parse_period("2025").end_day())
    for dialect in ("postgres", "mysql", "trino"):  # ClickHouse names its placeholders: not read back
        sql = q.render(dialect)
        assert "COUNT(DISTINCT" in sql.upper()
        assert sqlglot.parse_one(sql, read=dialect).find(exp.Count) is not None  # it reads back


@pytest.mark.parametrize("cumulative", [False, True])  # every row per period / first month seen
def test_year_to_date_periods_overlap(setup, cumulative):
    wh, m = setup
    ytd = [(f"2025-{k:02d}", dt.date(2025, 1, 1), parse_period(f"2025-{k:02d}").end_day()) for k in (1, 2, 3)]
    got = run(wh, m["customers"], None, None, None, ["SALES", "HQ"], periods=ytd, cumulative=cumulative)
    assert got == {("SALES", "2025-01"): 3, ("SALES", "2025-02"): 4, ("SALES", "2025-03"): 4,
                   ("HQ", "2025-01"): 3, ("HQ", "2025-02"): 4, ("HQ", "2025-03"): 4}


def test_first_seen_restarts_each_year(setup, wh):
    # c1 is seen in January 2025 (EAST); a 2026 row of c1 counts again in 2026's year to date
    import_arrow(wh, "tickets", pa.table({"day": [dt.date(2026, 2, 1)], "unit": ["EAST"], "客户": ["c1"],
                                          "minutes": [1.0], "status": ["ok"]}), source="t2", mode="append")
    _, m = setup
    spans = [(label, dt.date(int(label[:4]), 1, 1), parse_period(label).end_day())
             for label in ("2025-01", "2025-02", "2026-01", "2026-02")]
    slow = run(wh, m["customers"], None, None, None, ["EAST"], periods=spans)
    fast = run(wh, m["customers"], None, None, None, ["EAST"], periods=spans, cumulative=True)
    assert slow == fast == {("EAST", "2025-01"): 2, ("EAST", "2025-02"): 2, ("EAST", "2026-02"): 1}
