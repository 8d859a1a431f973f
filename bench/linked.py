"""Benchmark: a linked dataset in PostgreSQL and in Spark (parquet) against the same rows imported
into DuckDB.

    .venv/bin/python bench/linked.py [--rows 20000000] [--engines postgresql,spark]

Generates --rows orders (inside DuckDB: id, day over 2025, a team of a 200-team tree, a customer
of 60,000, an amount, a status) and writes them once as CSV (copied into PostgreSQL) and as
parquet (read by a local Spark session). For each engine it times: the link (a full refresh),
an incremental refresh after 1 % more rows, the bytes that came back, and a board's numbers
(five metrics — four from partials, one count(distinct) at the source — for the company's
divisions by month, and the company by quarter) cold; then the same for the rows imported
into DuckDB. Prints a table and ratios; asserts nothing about time, but exits 1 when a linked
board's numbers differ from the embedded one's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from kpi_core.ingest.datasets import import_file  # noqa: E402
from kpi_core.query import cache  # noqa: E402
from kpi_core.query.api import Query, run  # noqa: E402
from kpi_core.services import linked  # noqa: E402
from kpi_core.store import dictionary  # noqa: E402
from kpi_core.store import org as org_store  # noqa: E402
from kpi_core.store.warehouse import open_warehouse  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TABLE = "bench_linked_orders"
METRICS = """
metrics:
  - {code: revenue, name: 收入, source: {dataset: orders, measure: sum(amount), filter: "status <> 'cancelled'",
     time_column: day, org_column: team}}
  - {code: order_count, name: 订单数, source: {dataset: orders, measure: count(*), time_column: day, org_column: team}}
  - {code: avg_order, name: 平均单额, source: {dataset: orders, measure: avg(amount),
     time_column: day, org_column: team}}
  - {code: biggest, name: 最大单, source: {dataset: orders, measure: max(amount), time_column: day, org_column: team}}
  - {code: customers, name: 客户数, source: {dataset: orders, measure: count(distinct customer),
     time_column: day, org_column: team}}
"""
CODES = ("revenue", "order_count", "avg_order", "biggest", "customers")


def units() -> list[tuple[str, str, str | None]]:
    out = [("HQ", "总公司", None)]
    for d in range(8):
        out.append((f"D{d}", f"事业部{d}", "HQ"))
        for p in range(5):
            out.append((f"D{d}P{p}", f"部门{d}-{p}", f"D{d}"))
            out.extend((f"D{d}P{p}T{t}", f"团队{d}-{p}-{t}", f"D{d}P{p}") for t in range(5))
    return out


def generate(con: duckdb.DuckDBPyConnection, first: int, n: int, seed: int) -> None:
    """Rows first .. first+n-1 as table `rows` (deterministic from the id)."""
    con.execute(f"""CREATE OR REPLACE TABLE rows AS SELECT i AS id,
        DATE '2025-01-01' + CAST(hash(i * 7 + {seed}) % 365 AS INTEGER) AS day,
        'D' || (hash(i * 3 + {seed}) % 8) || 'P' || (hash(i * 5 + {seed}) % 5) || 'T' || (hash(i * 11 + {seed}) % 5)
            AS team,
        'C' || (hash(i * 13 + {seed}) % 60000) AS customer,
        CAST((hash(i * 17 + {seed}) % 500000) / 100.0 AS DECIMAL(12, 2)) AS amount,
        ['paid', 'paid', 'open', 'cancelled'][CAST(1 + hash(i * 19 + {seed}) % 4 AS BIGINT)] AS status
        FROM range({first}, {first + n}) t(i)""")


def company(path: Path, metrics: Path):
    wh = open_warehouse(path)
    wh.migrate()
    org_store.import_org_rows(wh, units(), source="bench")
    return wh


def board(wh) -> tuple[float, dict]:
    """A board's numbers, cold (the process's caches emptied first): seconds and the values."""
    cache.VALUES.clear()
    cache.FACTS.clear()
    cache.CONTEXT.clear()
    t = time.perf_counter()
    a = run(wh, Query(CODES, "HQ", "children", "month", "2025-01", "2025-12"))
    b = run(wh, Query(CODES, "HQ", "self", "quarter", "2025-Q1", "2025-Q4"))
    seconds = time.perf_counter() - t
    return seconds, {(c.metric, c.org, c.period): c.actual for c in [*a.cells, *b.cells]}


def to_postgres(csv: Path, append: bool) -> float:
    t = time.perf_counter()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test") as con:
        if not append:
            con.execute(f"DROP TABLE IF EXISTS {TABLE}")
            con.execute(f"CREATE TABLE {TABLE} (id BIGINT, day DATE, team TEXT, customer TEXT, amount NUMERIC(12,2), "
                        "status TEXT)")
        with con.cursor().copy(f"COPY {TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)") as cp, open(csv, "rb") as f:
            while chunk := f.read(1 << 20):
                cp.write(chunk)
        con.execute(f"ANALYZE {TABLE}")
    return time.perf_counter() - t


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all((a[k] is None) == (b[k] is None) and (a[k] is None or abs(a[k] - b[k]) <= 1e-9
                                        * max(1.0, abs(b[k]))) for k in b)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--engines", default="postgresql,spark")
    args = ap.parse_args()
    os.environ.setdefault("KPI_MAX_FILE_MB", "8192")  # the embedded reference imports one big CSV
    os.environ.setdefault("KPI_MAX_ROWS", str(2 * args.rows))
    n, more = args.rows, max(1, args.rows // 100)
    tmp = Path(tempfile.mkdtemp(prefix="bench-linked-"))
    metrics = tmp / "metrics.yaml"
    metrics.write_text(textwrap.dedent(METRICS), encoding="utf-8")
    gen = duckdb.connect()
    t = time.perf_counter()
    for name, first, count, seed in (("base", 0, n, 1), ("more", n, more, 2)):
        generate(gen, first, count, seed)
        gen.execute(f"COPY rows TO '{tmp / name}.csv' (HEADER)")
        (tmp / f"{name}_parquet").mkdir()
        gen.execute(f"COPY rows TO '{tmp / name}_parquet/part.parquet' (FORMAT parquet)")
    print(f"generated {n:,} + {more:,} rows in {time.perf_counter() - t:.1f} s ({tmp})")

    results, failed = [], False
    # The embedded reference: the same rows imported into DuckDB.
    ew = company(tmp / "embedded.duckdb", metrics)
    t = time.perf_counter()
    import_file(ew, "orders", tmp / "base.csv", user="admin")
    imported = time.perf_counter() - t
    dictionary.apply(ew, metrics, reason="bench")
    t = time.perf_counter()
    import_file(ew, "orders", tmp / "more.csv", mode="append", user="admin")
    appended = time.perf_counter() - t
    seconds, want = board(ew)
    results.append(("DuckDB (imported)", imported, appended, None, seconds))

    for engine in args.engines.split(","):
        if engine == "postgresql":
            loaded = to_postgres(tmp / "base.csv", append=False)
            print(f"copied {n:,} rows into PostgreSQL in {loaded:.1f} s")
            url, target = PG_URL, {"table": TABLE}
        else:
            url, target = "spark://local[2]", {"table": f"parquet.`{tmp / 'spark'}`"}
            (tmp / "spark").mkdir()
            (tmp / "base_parquet/part.parquet").rename(tmp / "spark/base.parquet")
        lw = company(tmp / f"{engine}.duckdb", metrics)
        t = time.perf_counter()
        first = linked.link(lw, "orders", url, time_column="day", org_column="team", watermark="id", **target)
        dictionary.apply(lw, metrics, reason="bench")
        full = linked.refresh(lw, "orders", full=True)
        link_seconds = time.perf_counter() - t
        if engine == "postgresql":
            to_postgres(tmp / "more.csv", append=True)
        else:
            (tmp / "more_parquet/part.parquet").rename(tmp / "spark/more.parquet")
        inc = linked.refresh(lw, "orders")
        seconds, got = board(lw)
        again, _ = board(lw)
        ok = same(got, want)
        failed |= not ok
        results.append((f"{engine} (linked)", link_seconds, inc.seconds, (full.partials, full.size, inc.partials,
                                                                          inc.size, first.seconds), seconds))
        print(f"{engine}: full refresh {full.seconds:.2f} s, {full.rows:,} rows as {full.partials:,} partial rows "
              f"({full.size:,} bytes); incremental {inc.seconds:.2f} s, {inc.rows:,} rows as {inc.partials:,} "
              f"({inc.size:,} bytes); board cold {seconds * 1000:.0f} ms, again cold {again * 1000:.0f} ms; "
              f"numbers {'agree' if ok else 'DIFFER'}")
        if engine == "postgresql":
            sa.create_engine(PG_URL).connect().execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))

    print()
    print(f"| {n:,} rows | link / import s | +1 % rows s | partial rows (bytes) back | board cold ms |")
    print("|---|---:|---:|---|---:|")
    for name, first_s, inc_s, moved, board_s in results:
        back = "–" if moved is None else f"{moved[0]:,} ({moved[1]:,}) full, {moved[2]:,} ({moved[3]:,}) incremental"
        print(f"| {name} | {first_s:.1f} | {inc_s:.2f} | {back} | {board_s * 1000:.0f} |")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
