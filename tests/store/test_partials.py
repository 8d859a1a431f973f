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


def test_count_distinct_answers_from_rows(tickets):
    assert aggregate.decompose(sqlglot.parse_one("count(distinct x)")) is None
    with tickets.connect() as con:
        assert not aggregate.ready(con, dictionary.get(tickets, "t_dst"), 1)
    assert values(tickets, ["t_dst"])[("t_dst", "SALES", "2025-Q1")] == 3


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
