"""Month × org partials: the same numbers as from the rows, kept up to date by each import."""

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot

from kpi_core.ingest.datasets import import_arrow
from kpi_core.model.metric import Metric
from kpi_core.query.api import Query, run
from kpi_core.services.revert import revert
from kpi_core.store import dictionary
from kpi_core.store import partials as aggregate

ROWS = [
    (dt.date(2025, 1, 3), "EAST", "c1", 10.0, "ok"),
    (dt.date(2025, 1, 9), "EAST", "c2", 20.0, "ok"),
    (dt.date(2025, 1, 15), "SOUTH", "c1", 30.0, "ok"),
    (dt.date(2025, 2, 2), "SALES", "c4", 50.0, "ok"),
    (dt.date(2025, 2, 5), "EAST", "c1", 60.0, "cancelled"),
    (dt.date(2025, 4, 1), "SVC", "c9", 70.0, "ok"),
]
MEASURES = {
    "t_sum": ("sum(minutes)", "status = 'ok'"),
    "t_avg": ("avg(minutes)", None),
    "t_cnt": ("count(*)", None),
    "t_mix": ("sum(case when status = 'ok' then minutes else 0 end) / nullif(count(*), 0)", None),
    "t_min": ("min(minutes)", None),
    "t_max": ("max(minutes) - min(minutes)", None),
    "t_dst": ("count(distinct customer)", None),
}


def _table(rows):
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(["day", "unit", "customer", "minutes", "status"])})


@pytest.fixture
def tickets(wh):
    import_arrow(wh, "tickets", _table(ROWS), source="t")
    dictionary.apply_metrics(wh, [Metric(code=c, name=c, source={"dataset": "tickets", "measure": m, "filter": f,
                                                                  "time_column": "day", "org_column": "unit"})
                                  for c, (m, f) in MEASURES.items()], reason="ticket metrics")
    return wh


def values(wh, codes, **kw):
    q = Query(tuple(codes), "HQ", "subtree", kw.get("grain", "quarter"), kw.get("first", "2025-Q1"),
              kw.get("last", "2025-Q2"), kw.get("ytd", False))
    return {(c.metric, c.org, c.period): c.actual for c in run(wh, q).cells}


def expected(code, org_rows):
    """The measure over plain rows, computed independently by DuckDB on a list of rows."""
    import duckdb

    measure, flt = MEASURES[code]
    con = duckdb.connect()
    con.register("t", _table(org_rows) if org_rows else _table(ROWS).slice(0, 0))
    where = f" WHERE {flt}" if flt else ""
    return con.execute(f"SELECT {measure} FROM t{where}").fetchall()[0][0] if org_rows else None


@pytest.mark.parametrize("code", [c for c in MEASURES if c != "t_dst"])
def test_decomposable_measures_use_partials_and_agree_with_rows(tickets, code):
    m = dictionary.get(tickets, code)
    with tickets.connect() as con:
        assert aggregate.ready(con, m, 1)
    got = values(tickets, [code])
    sales = {"EAST", "SOUTH", "SALES"}
    for org, units in {"HQ": sales | {"SVC"}, "SALES": sales, "EAST": {"EAST"}}.items():
        q1 = [r for r in ROWS if r[1] in units and r[0] < dt.date(2025, 4, 1)]
        want = expected(code, q1)
        assert got[(code, org, "2025-Q1")] == (None if want is None else pytest.approx(want))


def test_count_distinct_keeps_deduplicated_rows_and_agrees_with_rows(tickets):
    assert aggregate.decompose(sqlglot.parse_one("count(distinct x)")) is None
    with tickets.connect() as con:
        assert aggregate.ready(con, dictionary.get(tickets, "t_dst"), 1)
        kept = con.execute("SELECT count(*) FROM dst_t_dst_v1").fetchall()[0][0]
    assert kept == len(ROWS)  # no repeat of a customer in a unit's month here: one row each
    got = values(tickets, ["t_dst"])
    assert got[("t_dst", "SALES", "2025-Q1")] == 3  # c1 in two teams counts once
    sales = {"EAST", "SOUTH", "SALES"}
    for org, units in {"HQ": sales | {"SVC"}, "SALES": sales, "EAST": {"EAST"}, "SVC": {"SVC"}}.items():
        for quarter, lo, hi in (("2025-Q1", dt.date(2025, 1, 1), dt.date(2025, 4, 1)),
                                ("2025-Q2", dt.date(2025, 4, 1), dt.date(2025, 7, 1))):
            want = expected("t_dst", [r for r in ROWS if r[1] in units and lo <= r[0] < hi])
            assert got.get(("t_dst", org, quarter)) == want, (org, quarter)


# Rows with the cases a deduplication can get wrong: an empty value, an empty status (the
# filter is then NULL, which WHERE leaves out), a unit whose rows are all filtered out, a value
# repeated in a month and across months, and a value written as the unit's name, not its code.
TRICKY = [
    (dt.date(2025, 1, 3), "EAST", "c1", 1.0, "ok"),
    (dt.date(2025, 1, 4), "EAST", "c1", 1.0, "ok"),
    (dt.date(2025, 1, 5), "EAST", None, 1.0, "ok"),
    (dt.date(2025, 1, 6), "EAST", "c2", 1.0, None),
    (dt.date(2025, 2, 6), "EAST", "c1", 1.0, "ok"),
    (dt.date(2025, 2, 7), "华南组", "c1", 1.0, "ok"),
    (dt.date(2025, 2, 8), "SOUTH", "c3", 1.0, "ok"),
    (dt.date(2025, 3, 9), "SVC", "c4", 1.0, "cancelled"),
    (dt.date(2025, 3, 9), "SVC", None, 1.0, "ok"),
    (dt.date(2025, 4, 2), "SVC", "c7", 1.0, "cancelled"),
    (dt.date(2025, 5, 1), "SOUTH", "c5", 1.0, "ok"),
    (dt.date(2025, 6, 1), "X-OLD", "c6", 1.0, "ok"),
]


@pytest.mark.parametrize(("flt", "grain", "first", "last", "ytd"), [
    (None, "month", "2025-01", "2025-06", False),
    ("status = 'ok'", "month", "2025-01", "2025-06", False),
    ("status = 'ok'", "quarter", "2025-Q1", "2025-Q2", False),
    ("status = 'ok'", "month", "2025-01", "2025-06", True),
    (None, "quarter", "2025-Q1", "2025-Q2", True),
    ("status <> 'cancelled' and customer <> 'c3'", "year", "2025", "2025", False),
])
def test_distinct_from_deduplicated_rows_equals_distinct_from_rows(wh, flt, grain, first, last, ytd):
    from kpi_core.query import cache

    import_arrow(wh, "tickets", _table(TRICKY), source="t")
    dictionary.apply_metrics(wh, [Metric(code="t_dst", name="t_dst", source={
        "dataset": "tickets", "measure": "count(distinct customer)", "filter": flt,
        "time_column": "day", "org_column": "unit"})], reason="distinct")
    q = Query(("t_dst",), "HQ", "subtree", grain, first, last, ytd)
    with wh.connect() as con:
        assert aggregate.ready(con, dictionary.get(wh, "t_dst"), 1)
    fast = run(wh, q)
    with wh.transaction() as con:  # forget the deduplicated rows: the same query reads the dataset's rows
        con.execute("DELETE FROM agg_batch WHERE table_name = 'dst_t_dst_v1'")
    for c in (cache.VALUES, cache.FACTS, cache.SQL_TEXT):
        c.clear()
    with wh.connect() as con:
        assert not aggregate.ready(con, dictionary.get(wh, "t_dst"), 1)
    slow = run(wh, q)
    assert [(c.org, c.period, c.actual) for c in fast.cells] == [(c.org, c.period, c.actual) for c in slow.cells]
    assert fast.unmapped == slow.unmapped
    assert any(c.actual for c in fast.cells)


def test_a_value_in_two_batches_counts_once_and_a_revert_takes_out_only_what_it_brought(tickets):
    def sales_q1():
        return values(tickets, ["t_dst"])[("t_dst", "SALES", "2025-Q1")]

    assert sales_q1() == 3
    again = import_arrow(tickets, "tickets", _table([(dt.date(2025, 1, 30), "SOUTH", "c2", 1.0, "ok")]),
                         source="again", mode="append").batch
    assert sales_q1() == 3  # c2 was already EAST's customer in January
    new = import_arrow(tickets, "tickets", _table([(dt.date(2025, 3, 1), "EAST", "c8", 1.0, "ok")]),
                       source="new", mode="append").batch
    assert sales_q1() == 4
    revert(tickets, again, reason="duplicate file")
    assert sales_q1() == 4
    revert(tickets, new, reason="wrong file")
    assert sales_q1() == 3


def test_each_import_adds_its_partials_and_a_revert_leaves_them_out(tickets):
    more = [(dt.date(2025, 1, 20), "EAST", "c7", 5.0, "ok")]
    bid = import_arrow(tickets, "tickets", _table(more), source="more", mode="append").batch
    with tickets.connect() as con:
        assert aggregate.ready(con, dictionary.get(tickets, "t_sum"), 1)
        held = con.execute("SELECT DISTINCT batch_id FROM agg_t_sum_v1 ORDER BY 1").fetchall()
    assert [b for (b,) in held][-1] == bid
    assert values(tickets, ["t_sum"])[("t_sum", "EAST", "2025-Q1")] == 35.0
    revert(tickets, bid, reason="wrong file")
    assert values(tickets, ["t_sum"])[("t_sum", "EAST", "2025-Q1")] == 30.0


def test_a_changed_definition_gets_new_partials(tickets):
    dictionary.apply_metrics(tickets, [Metric(code="t_sum", name="t_sum", source={
        "dataset": "tickets", "measure": "sum(minutes) * 2", "time_column": "day", "org_column": "unit"})],
                             reason="doubled")
    with tickets.connect() as con:
        assert aggregate.ready(con, dictionary.get(tickets, "t_sum"), 2)
    assert values(tickets, ["t_sum"])[("t_sum", "EAST", "2025-Q1")] == 180.0


def test_year_to_date_from_partials(tickets):
    got = values(tickets, ["t_cnt"], grain="month", first="2025-01", last="2025-04", ytd=True)
    assert [got[("t_cnt", "HQ", f"2025-0{k}")] for k in (1, 2, 3, 4)] == [3, 5, 5, 6]


def test_rows_on_no_unit_are_counted_from_partials_and_from_rows(tickets):
    import_arrow(tickets, "tickets", _table([(dt.date(2025, 2, 1), "X-OLD", "c1", 1.0, "ok"),
                                             (dt.date(2025, 8, 1), "X-OLD", "c1", 1.0, "ok")]),
                 source="legacy", mode="append")
    q = Query(("t_sum", "t_dst"), "HQ", "self", "quarter", "2025-Q1", "2025-Q2")
    result = run(tickets, q)
    assert result.unmapped == {"t_sum": 1, "t_dst": 1}  # the August row is outside the periods asked
    with tickets.connect() as con:
        assert aggregate.ready(con, dictionary.get(tickets, "t_sum"), 1)


@pytest.mark.parametrize("measure", ["sum(distinct x)", "avg(distinct x)", "count(distinct x) + 1",
                                     "sum(x) / count(distinct y)"])
def test_a_distinct_inside_any_aggregate_does_not_decompose(measure):
    """The same x in January and February is one value of the quarter: no sum of months gives it."""
    assert aggregate.decompose(sqlglot.parse_one(measure)) is None
