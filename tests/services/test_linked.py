"""Linked datasets against real engines: the same rows embedded in DuckDB and linked in
PostgreSQL, MariaDB and Spark give the same numbers for every metric at every level of a
3-level tree, by month, quarter, year and year to date; refreshes are incremental by watermark,
revertible, and a distinct count sees the rows of the last refresh only.

A server that cannot be reached is skipped with the reason, except under CI=true, where it fails."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import textwrap
import uuid
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from kpi_core.ingest.datasets import import_arrow
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.access import Actor
from kpi_core.model.errors import KpiError
from kpi_core.query import drillthrough
from kpi_core.query.api import Query, run
from kpi_core.services import linked
from kpi_core.services.revert import revert
from kpi_core.store import batches, dictionary, engines
from kpi_core.store import org as org_store
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.ingest.test_sources import MYSQL_URL, PG_URL, require_server

pytestmark = pytest.mark.db

UNITS = [("HQ", "总公司", None), ("D1", "东区", "HQ"), ("D2", "西区", "HQ"),
         ("T11", "东一组", "D1"), ("T12", "东二组", "D1"), ("T21", "西一组", "D2"), ("T22", "西二组", "D2")]
# Rows sit on teams, on a division itself, under a unit's name, on no unit, and on none at all.
KEYS = ["T11", "T12", "T21", "T22", "T11", "T21", "D1", "东二组", "ZZ", None]
METRICS = """
metrics:
  - {code: revenue, name: 收入, source: {dataset: orders, measure: sum(amount), filter: "status <> 'cancelled'",
     time_column: day, org_column: dept}}
  - {code: order_count, name: 订单数, source: {dataset: orders, measure: count(*), time_column: day, org_column: dept}}
  - {code: avg_order, name: 平均单额, time_agg: avg, org_agg: avg,
     source: {dataset: orders, measure: avg(amount), time_column: day, org_column: dept}}
  - {code: biggest, name: 最大单, time_agg: max, org_agg: none,
     source: {dataset: orders, measure: max(amount), time_column: day, org_column: dept}}
  - {code: paid_like, name: 已付收入, source: {dataset: orders, measure: sum(amount), filter: "status LIKE 'pa%'",
     time_column: day, org_column: dept}}
  - {code: customers, name: 付款客户, time_agg: last, org_agg: none,
     source: {dataset: orders, measure: count(distinct customer), filter: "status = 'paid'",
              time_column: day, org_column: dept}}
  - {code: per_customer, name: 客均收入, source: {formula: revenue / customers}}
"""
CODES = ("revenue", "order_count", "avg_order", "biggest", "paid_like", "customers", "per_customer")
QUERIES = [("month", "2025-01", "2026-03", False), ("quarter", "2025-Q1", "2026-Q1", False),
           ("year", "2025", "2026", False), ("month", "2025-01", "2026-03", True)]


def make_rows(n: int, first_id: int = 1, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    start = dt.date(2025, 1, 1)
    return [{"id": first_id + i, "day": start + dt.timedelta(days=rnd.randrange(455)), "dept": rnd.choice(KEYS),
             "customer": f"C{rnd.randrange(150):03d}", "amount": Decimal(rnd.randrange(1, 500_000)) / 100,
             "status": rnd.choice(["paid", "paid", "open", "cancelled"])} for i in range(n)]


def arrow(rows: list[dict]) -> pa.Table:
    return pa.table({"id": pa.array([r["id"] for r in rows], pa.int64()),
                     "day": pa.array([r["day"] for r in rows], pa.date32()),
                     "dept": pa.array([r["dept"] for r in rows], pa.string()),
                     "customer": pa.array([r["customer"] for r in rows], pa.string()),
                     "amount": pa.array([r["amount"] for r in rows], pa.decimal128(12, 2)),
                     "status": pa.array([r["status"] for r in rows], pa.string())})


# Targets, so a period still in progress at the dataset's as-of month (2026-03: the year 2026) is
# judged on its target to date the same way whichever engine holds the rows.
TARGETS = [("revenue", "HQ", "2025", 9e6), ("revenue", "HQ", "2026", 9.6e6), ("revenue", "D1", "2026", 4e6),
           ("revenue", "T11", "2026-Q1", 5e5), ("order_count", "D2", "2026", 1000)]


def targets(wh) -> None:
    import_table(wh, "targets", pa.table({"metric": [t[0] for t in TARGETS], "org": [t[1] for t in TARGETS],
                                          "period": [t[2] for t in TARGETS],
                                          "value": pa.array([float(t[3]) for t in TARGETS])}), source="test")


def company(wh, tmp_path):
    org_store.import_org_rows(wh, UNITS, source="test")
    path = tmp_path / "metrics.yaml"
    path.write_text(textwrap.dedent(METRICS), encoding="utf-8")
    return path


def numbers(wh) -> dict:
    out = {}
    for grain, first, last, ytd in QUERIES:
        for c in run(wh, Query(CODES, "HQ", "subtree", grain, first, last, ytd)).cells:
            out[(c.metric, c.org, c.period, ytd)] = c.actual
            if c.target is not None:
                out[(c.metric, c.org, c.period, ytd, "target", c.in_progress)] = c.target
                out[(c.metric, c.org, c.period, ytd, "attainment")] = c.attainment
    return out


def same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    wrong = [(k, got[k], want[k]) for k in want
             if (got[k] is None) != (want[k] is None) or (want[k] is not None and got[k] != pytest.approx(want[k],
                                                                                                         rel=1e-12))]
    assert not wrong, wrong[:10]
    assert sum(v is not None for v in want.values()) > 500  # the comparison covers real numbers
    assert [k for k in want if len(k) == 6 and k[5]]  # and targets of periods in progress


def fresh(path):
    wh = open_warehouse(path)
    wh.migrate()
    return wh


@pytest.fixture
def embedded(tmp_path):
    """The baseline: the rows imported into a warehouse of their own."""
    def build(rows):
        wh = fresh(tmp_path / f"embedded-{len(rows)}.duckdb")
        import_arrow(wh, "orders", arrow(rows), source="test")
        dictionary.apply(wh, company(wh, tmp_path), reason="test")
        targets(wh)
        return numbers(wh)
    return build


# --- sources ----------------------------------------------------------------------------------

class SqlSource:
    def __init__(self, url: str):
        self.url, self.engine = url, require_server(url)
        self.table = f"kpi_lnk_{uuid.uuid4().hex[:10]}"
        self.meta = sa.MetaData()
        self.t = sa.Table(self.table, self.meta, sa.Column("id", sa.BigInteger), sa.Column("day", sa.Date),
                          sa.Column("dept", sa.String(40)), sa.Column("customer", sa.String(20)),
                          sa.Column("amount", sa.Numeric(12, 2)), sa.Column("status", sa.String(20)))
        self.meta.create_all(self.engine)

    def add(self, rows: list[dict]) -> None:
        with self.engine.begin() as con:
            con.execute(self.t.insert(), rows)

    def link_args(self) -> dict:
        return {"url": self.url, "table": self.table}

    def drop(self) -> None:
        self.meta.drop_all(self.engine)
        self.engine.dispose()


class SparkSource:
    def __init__(self, tmp_path):
        try:
            import pyspark  # noqa: F401
        except ImportError:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("pyspark is not installed (CI=true: Spark tests must run)")
            pytest.skip("pyspark is not installed")
        self.dir = tmp_path / "orders_parquet"
        self.dir.mkdir()
        self.n = 0

    def add(self, rows: list[dict]) -> None:
        self.n += 1
        pq.write_table(arrow(rows), self.dir / f"part-{self.n:03d}.parquet")

    def link_args(self) -> dict:
        return {"url": "spark://local[2]", "table": f"parquet.`{self.dir}`"}

    def drop(self) -> None:
        pass


@pytest.fixture(params=["postgresql", "mariadb", "spark"])
def source(request, tmp_path):
    s = (SqlSource(PG_URL) if request.param == "postgresql" else SqlSource(MYSQL_URL)
         if request.param == "mariadb" else SparkSource(tmp_path))
    yield s
    s.drop()


def linked_company(wh, tmp_path, source, **kw):
    metrics = company(wh, tmp_path)
    # The dataset first (its columns come from the source), then the metrics that read it.
    r = linked.link(wh, "orders", time_column="day", org_column="dept", **source.link_args(), **kw)
    dictionary.apply(wh, metrics, reason="test")
    targets(wh)
    return r


def test_every_metric_agrees_with_the_embedded_dataset_at_every_level(source, tmp_path, embedded):
    rows = make_rows(3000)
    source.add(rows)
    want = embedded(rows)
    lw = fresh(tmp_path / "linked.duckdb")
    r = linked_company(lw, tmp_path, source)
    assert (r.rows, r.incremental) == (3000, False)
    linked.refresh(lw, "orders", user="admin")  # the metrics applied after the link get their partials
    same(numbers(lw), want)
    # The rows behind a cell are read at the source, with the metric's filter.
    got = drillthrough.behind(lw, "revenue", "D1", "2025-03")
    expected = sorted(r["id"] for r in rows if r["dept"] in ("D1", "T11", "T12", "东二组")
                      and r["status"] != "cancelled" and dt.date(2025, 3, 1) <= r["day"] < dt.date(2025, 4, 1))
    assert (sorted(r["id"] for r in got.rows), got.rows_total) == (expected, len(expected))
    assert got.cell.actual == pytest.approx(float(sum(r["amount"] for r in rows if r["id"] in set(expected))))


def test_an_incremental_refresh_adds_only_new_rows_and_can_be_reverted(source, tmp_path, embedded):
    first, more = make_rows(2000), make_rows(1000, first_id=2001, seed=11)
    source.add(first)
    lw = fresh(tmp_path / "linked.duckdb")
    linked_company(lw, tmp_path, source, watermark="id")
    full = linked.refresh(lw, "orders", full=True)
    before = numbers(lw)
    assert linked.refresh(lw, "orders").batch is None  # nothing new at the source
    source.add(more)
    assert numbers(lw) == before  # the distinct count too: the rows of the last refresh only
    r = linked.refresh(lw, "orders")
    assert (r.incremental, r.rows) == (True, 1000)
    assert r.partials < full.partials + 1000  # aggregates, not rows
    same(numbers(lw), embedded(first + more))
    revert(lw, r.batch, reason="wrong rows at the source")
    assert numbers(lw) == before
    with lw.connect() as con:
        assert batches.get(con, r.batch)["status"] == "reverted"


def test_link_refuses_a_column_the_source_lacks_and_hides_the_password(tmp_path):
    s = SqlSource(PG_URL)
    try:
        lw = fresh(tmp_path / "linked.duckdb")
        with pytest.raises(KpiError) as e:
            linked.link(lw, "orders", url=PG_URL, table=s.table, time_column="when", org_column="dept")
        assert '"when"' in str(e.value) and "day" in str(e.value)
        bad = sa.make_url(PG_URL).set(password="s3cret-pw", port=1)
        with pytest.raises(KpiError) as e:
            linked.link(lw, "orders", url=bad.render_as_string(hide_password=False), table=s.table,
                        time_column="day", org_column="dept")
        assert "s3cret-pw" not in str(e.value) and "***" in str(e.value)
    finally:
        s.drop()


def test_the_command_line_links_refreshes_and_lists_without_the_password(tmp_path):
    s = SqlSource(MYSQL_URL)
    try:
        s.add(make_rows(500))
        path = tmp_path / "cli.duckdb"
        fresh(path)
        metrics = company(open_warehouse(path), tmp_path)
        url = sa.make_url(MYSQL_URL).set(password="").render_as_string(hide_password=False)
        got = cli(path, "datasets", "link", "orders", "--url", url, "--table", s.table, "--time-column", "day",
                  "--org-column", "dept", "--watermark", "id", "--format", "json")
        assert got.returncode == 0, got.stderr
        assert (json.loads(got.stdout)["rows"], json.loads(got.stdout)["incremental"]) == (500, False)
        assert cli(path, "metrics", "apply", metrics, "--reason", "test").returncode == 0
        s.add(make_rows(20, first_id=501, seed=3))
        got = json.loads(cli(path, "datasets", "refresh", "orders", "--format", "json").stdout)
        assert (got["rows"], got["incremental"]) == (20, True)
        listed = json.loads(cli(path, "datasets", "list", "--format", "json").stdout)
        assert [(d["name"], d["rows"], d["linked"]) for d in listed] == [("orders", 520, engines.safe(url))]
        q = json.loads(cli(path, "query", "--metric", "order_count", "--org", "HQ", "--grain", "year",
                           "--from", "2025", "--to", "2026", "--format", "json").stdout)
        assert sum(r["actual"] or 0 for r in q) == 500 + 20 - sum(1 for r in make_rows(500) + make_rows(
            20, first_id=501, seed=3) if r["dept"] in ("ZZ", None))
        missing = cli(path, "datasets", "refresh", "nope")
        assert missing.returncode != 0 and "nope" in missing.stderr
    finally:
        s.drop()


def test_metrics_applied_after_the_last_refresh_are_worked_out_at_the_source(source, tmp_path, embedded):
    """Before a refresh brings a new metric's partials, every measure — sums, averages, maximums,
    filters — is the compiler's query run at the source, and gives the same numbers."""
    rows = make_rows(1500, seed=21)
    source.add(rows)
    want = embedded(rows)
    lw = fresh(tmp_path / "linked.duckdb")
    linked_company(lw, tmp_path, source)  # metrics applied after the link's refresh: no partials yet
    with lw.connect() as con:
        assert con.execute("SELECT count(*) FROM agg_batch").fetchall() == [(0,)]
    same(numbers(lw), want)


def test_a_link_to_a_query_reads_only_what_the_query_selects(tmp_path, embedded):
    s = SqlSource(PG_URL)
    try:
        rows = make_rows(1500, seed=5)
        s.add(rows)
        lw = fresh(tmp_path / "linked.duckdb")
        metrics = company(lw, tmp_path)
        linked.link(lw, "orders", url=PG_URL, query=f"SELECT * FROM {s.table} WHERE amount >= 100",
                    time_column="day", org_column="dept")
        dictionary.apply(lw, metrics, reason="test")
        targets(lw)
        linked.refresh(lw, "orders")
        same(numbers(lw), embedded([r for r in rows if r["amount"] >= 100]))
    finally:
        s.drop()


def test_a_manager_reads_and_drills_only_their_own_units(tmp_path):
    s = SqlSource(PG_URL)
    try:
        rows = make_rows(1500, seed=9)
        s.add(rows)
        lw = fresh(tmp_path / "linked.duckdb")
        linked_company(lw, tmp_path, s)
        linked.refresh(lw, "orders")
        boss = Actor("lee", "manager", ("T11",))
        cells = run(lw, Query(("revenue", "customers"), "T11", "self", "month", "2025-01", "2025-03"), actor=boss).cells
        assert {c.org for c in cells} == {"T11"} and all(c.actual is not None for c in cells)
        got = drillthrough.behind(lw, "customers", "T11", "2025-02", actor=boss)
        assert got.rows and {r["dept"] for r in got.rows} == {"T11"}
        assert got.rows_total == sum(1 for r in rows if r["dept"] == "T11" and r["status"] == "paid"
                                     and dt.date(2025, 2, 1) <= r["day"] < dt.date(2025, 3, 1))
        for unit in ("D1", "D2"):  # above or beside their unit: refused, nothing asked of the source
            with pytest.raises(KpiError):
                drillthrough.behind(lw, "customers", unit, "2025-02", actor=boss)
    finally:
        s.drop()


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://kpi:pw1@db/sales?password=pw2&sslmode=require",
     "postgresql+psycopg://kpi:***@db/sales?password=***&sslmode=require"),
    ("trino://u@h:8080/c?access_token=tok123", "trino://u@h:8080/c?access_token=***"),
    ("mysql+pymysql://root@127.0.0.1:3306/test", "mysql+pymysql://root@127.0.0.1:3306/test"),
    ("spark://local[2]", "spark://local[2]"),
])
def test_a_url_is_shown_without_any_secret(url, shown):
    assert engines.safe(url) == shown


def test_link_and_refresh_refuse_what_would_give_a_wrong_number(tmp_path):
    s = SqlSource(PG_URL)
    try:
        rows = make_rows(600, seed=4)
        s.add(rows)
        lw = fresh(tmp_path / "linked.duckdb")
        metrics = company(lw, tmp_path)
        linked.link(lw, "orders", url=PG_URL, table=s.table, time_column="day", org_column="dept", watermark="id")
        with lw.connect() as con:  # the columns' types, seen in the first rows
            types = {c["name"]: c["type"] for c in json.loads(con.execute(
                "SELECT columns FROM dataset WHERE name = 'orders'").fetchall()[0][0])}
        assert (types["amount"], types["day"], types["id"]) == ("double", "date32[day]", "int64")
        dictionary.apply(lw, metrics, reason="test")
        # A metric by another time column than the link's would be grouped by the link's.
        other = tmp_path / "other.yaml"
        other.write_text("metrics:\n  - {code: by_id, name: 按编号, source: {dataset: orders, measure: sum(amount), "
                         "time_column: day, org_column: customer}}\n", encoding="utf-8")
        with pytest.raises(KpiError) as e:
            dictionary.apply(lw, other, reason="test")
        assert "customer" in str(e.value.problems) and "dept" in str(e.value.problems)
        # Only the newest refresh may be taken back: an older one would leave a hole.
        first = linked.refresh(lw, "orders", full=True)
        s.add(make_rows(10, first_id=601, seed=6))
        newest = linked.refresh(lw, "orders")
        with pytest.raises(KpiError) as e:
            revert(lw, first.batch, reason="test")
        assert str(newest.batch) in str(e.value)
        # Rows without a watermark would never be read by a refresh by it.
        with s.engine.begin() as con:
            con.execute(s.t.insert(), [{**make_rows(1, first_id=700, seed=8)[0], "id": None}])
        with pytest.raises(KpiError) as e:
            linked.refresh(lw, "orders")
        assert "1 row" in str(e.value) and "id" in str(e.value)
        # A linked name must not clash with another dataset's.
        import_arrow(lw, "sales", arrow(rows[:5]), source="test")
        with pytest.raises(KpiError):
            linked.link(lw, "Sales", url=PG_URL, table=s.table, time_column="day", org_column="dept")
    finally:
        s.drop()
