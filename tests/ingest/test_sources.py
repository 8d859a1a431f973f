"""`import db` against real source databases: SQLite (a temp file), PostgreSQL and MariaDB.

The servers come from $KPI_TEST_PG_URL and $KPI_TEST_MYSQL_URL (defaults: the local test
databases). A server that cannot be reached is skipped with the reason, except under CI=true,
where an unreachable server fails the run instead of hiding it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from kpi_core.ingest.sources import CHUNK_ROWS, import_db
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.services.revert import revert
from kpi_core.store import batches, datasets
from kpi_core.store.warehouse import open_warehouse

pytestmark = pytest.mark.db

PG_URL = os.environ.get("KPI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("KPI_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4")
ROOT = Path(__file__).resolve().parents[2]

N_ROWS = 5_000
COLUMNS = ["id", "amount", "ratio", "name", "day", "at", "flag", "maybe", "unit price", "部门"]
DEPTS = ["华东组", "华南组", "客服组", "销售部"]
EDGE_ROWS = [
    # all NULL but the key
    {"id": 9001},
    {"id": 9002, "amount": Decimal("9999999999.99"), "ratio": -1.5e10, "name": "O'Brien \"引号\"\n换行",
     "day": date(1900, 1, 1), "at": datetime(1970, 1, 1), "flag": True, "maybe": 0,
     "unit price": 0.0, "部门": "研发中心"},
    {"id": 9003, "amount": Decimal("-9999999999.99"), "ratio": 0.0, "name": "",
     "day": date(9999, 12, 31), "at": datetime(2099, 12, 31, 23, 59, 59), "flag": False, "maybe": -1,
     "unit price": 1e-9, "部门": ""},
    {"id": 9004, "amount": Decimal("0.01"), "ratio": 1e-300, "name": "😀 表情 ü ß 「全角」１２３",
     "day": date(2024, 2, 29), "at": datetime(2024, 2, 29, 12, 0), "flag": True, "maybe": None,
     "unit price": 123456.78, "部门": "華東（繁體）"},
]
N_ALL = N_ROWS + len(EDGE_ROWS)

# DuckDB types per column; SQLite keeps dates as text and booleans as integers, MariaDB
# booleans are TINYINT(1). Decimal columns land as DOUBLE (sources.py converts them).
TYPES = {
    "postgresql": {"day": "DATE", "at": "TIMESTAMP", "flag": "BOOLEAN"},
    "mysql": {"day": "DATE", "at": "TIMESTAMP", "flag": "BIGINT"},
    "sqlite": {"day": "VARCHAR", "at": "VARCHAR", "flag": "BIGINT"},
}
COMMON_TYPES = {"id": "BIGINT", "amount": "DOUBLE", "ratio": "DOUBLE", "name": "VARCHAR", "maybe": "BIGINT",
                "unit price": "DOUBLE", "部门": "VARCHAR"}


# --- servers and source tables -----------------------------------------------------------------

def require_server(url: str) -> sa.Engine:
    """An engine for `url`, or skip (fail under CI=true) when the server cannot be reached."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = (f"source database {sa.make_url(url).render_as_string(hide_password=True)} is not reachable: "
                  f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: database tests must run)")
        pytest.skip(reason)
    return engine


@dataclass
class Source:
    backend: str  # sqlite, postgresql, mysql (the SQLAlchemy dialect name)
    url: str
    engine: sa.Engine
    schema: str  # the schema that qualifies a table name: main, public, the MariaDB database

    def q(self, name: str) -> str:
        """An identifier quoted for this server."""
        return self.engine.dialect.identifier_preparer.quote_identifier(name)

    def scalar(self, sql: str):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()

    def rows(self, sql: str) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

    def cents_sum(self, table: str, column: str) -> int:
        """SUM of a DECIMAL(12,2) column in cents, computed by the source server."""
        if self.backend == "sqlite":  # no decimal type: sum exact integer cents instead
            return self.scalar(f"SELECT SUM(CAST(ROUND({self.q(column)} * 100) AS INTEGER)) FROM {table}")
        total = self.scalar(f"SELECT SUM({self.q(column)}) FROM {table}")
        assert isinstance(total, Decimal)
        return int(total * 100)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def server(request, tmp_path_factory) -> Source:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'source.db'}"
        engine, schema = sa.create_engine(url), "main"
    else:
        url = PG_URL if request.param == "postgresql" else MYSQL_URL
        engine = require_server(url)
        schema = "public" if request.param == "postgresql" else sa.make_url(url).database
    yield Source(engine.dialect.name, url, engine, schema)
    engine.dispose()


def unique(prefix: str = "kpi_src") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def generated_rows() -> list[dict]:
    rng = random.Random(20250101)
    rows = []
    for i in range(1, N_ROWS + 1):
        cents = rng.randrange(-1_000_000, 100_000_000) if i % 7 else rng.randrange(-100, 10_000) * 100
        rows.append({
            "id": i,
            "amount": Decimal(cents).scaleb(-2),
            "ratio": rng.random(),
            "name": f"客户{i}号·{DEPTS[i % 4]}" + ("😀" if i % 500 == 0 else ""),
            "day": date(2024, 1, 1) + timedelta(days=i % 730),
            "at": datetime(2024, 1, 1, 8) + timedelta(minutes=37 * i),
            "flag": i % 3 == 0,
            "maybe": None if i % 4 == 0 else i * 10,
            "unit price": round(rng.uniform(0, 1000), 2),
            "部门": DEPTS[i % 4],
        })
    return rows + [{c: r.get(c) for c in COLUMNS} for r in EDGE_ROWS]


@pytest.fixture(scope="module")
def source_table(server: Source) -> str:
    """A table with ~5,000 rows of mixed types on `server`; dropped afterwards."""
    md = sa.MetaData()
    table = sa.Table(
        unique(), md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("amount", sa.Numeric(12, 2)),
        sa.Column("ratio", sa.Double),
        sa.Column("name", sa.String(60)),
        sa.Column("day", sa.Date),
        sa.Column("at", sa.DateTime),
        sa.Column("flag", sa.Boolean(create_constraint=False)),
        sa.Column("maybe", sa.Integer),
        sa.Column("unit price", sa.Double),
        sa.Column("部门", sa.String(20)),
        mysql_charset="utf8mb4",
    )
    md.create_all(server.engine)
    try:
        with server.engine.begin() as conn:
            conn.execute(table.insert(), generated_rows())
        yield table.name
    finally:
        md.drop_all(server.engine)


@pytest.fixture
def wh(tmp_path):
    """A fresh warehouse (overrides conftest's: no org or metrics needed), its connection kept
    open for the test so that every check does not reopen the file."""
    warehouse = open_warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.connect():
        yield warehouse


# --- warehouse helpers -------------------------------------------------------------------------

def duck(wh, sql: str, params=None) -> list[tuple]:
    with wh.connect() as con:
        return con.execute(sql, params or []).fetchall()


def view(name: str) -> str:
    return '"' + datasets.view_name(name) + '"'


def count(wh, name: str) -> int:
    return duck(wh, f"SELECT count(*) FROM {view(name)}")[0][0]


def duck_types(wh, name: str) -> dict[str, str]:
    return {c["name"]: c["type"] for c in datasets.columns(wh, name)}


def snapshot(wh) -> tuple:
    """Everything an import writes: batches, datasets, the tables behind them, the audit log."""
    return (
        duck(wh, "SELECT id, status FROM batch ORDER BY id"),
        duck(wh, "SELECT name, columns FROM dataset ORDER BY name"),
        duck(wh, "SELECT * FROM dataset_batch ORDER BY batch_id"),
        duck(wh, "SELECT table_name FROM information_schema.tables ORDER BY table_name"),
        duck(wh, "SELECT id FROM audit_log ORDER BY id"),
    )


def same_value(got, want) -> bool:
    """A value as DuckDB returns it equals the source driver's value exactly."""
    if isinstance(want, Decimal):  # DECIMAL(12,2) lands as DOUBLE: its repr is the decimal exactly
        return got is not None and Decimal(repr(got)) == want
    if type(want) is int and type(got) is float:  # SQLite: a NUMERIC column's whole values come as int
        return got == want
    return type(got) is type(want) and got == want if want is not None else got is None


# --- table and query pulls ---------------------------------------------------------------------

def test_table_import_keeps_rows_names_types_and_values(server: Source, source_table: str, wh):
    result = import_db(wh, "源数据 orders", server.url, table=source_table)

    assert (result.rows, result.loaded, result.rejected, result.errors) == (N_ALL, N_ALL, 0, [])
    assert count(wh, "源数据 orders") == N_ALL
    assert [c["name"] for c in datasets.columns(wh, "源数据 orders")] == COLUMNS
    assert duck_types(wh, "源数据 orders") == COMMON_TYPES | TYPES[server.backend]
    [listed] = datasets.list_datasets(wh)
    assert (listed["name"], listed["rows"]) == ("源数据 orders", N_ALL)

    # sums computed by the source server, exact: ids, and the decimal column to the cent
    v = view("源数据 orders")
    [(ids, cents, maybes, nulls)] = duck(
        wh, f'SELECT sum(id), sum(CAST(round(amount * 100) AS HUGEINT)), sum(maybe), count(*) - count(maybe) FROM {v}')
    t = source_table
    assert ids == server.scalar(f"SELECT SUM(id) FROM {t}")
    assert cents == server.cents_sum(t, "amount")
    assert maybes == server.scalar(f"SELECT SUM(maybe) FROM {t}")
    assert nulls == server.scalar(f"SELECT COUNT(*) - COUNT(maybe) FROM {t}") == N_ROWS // 4 + 2

    # every value of every row round-trips (Chinese, emoji, quotes, newlines, extreme dates)
    cols = ", ".join(server.q(c) for c in COLUMNS)
    want = server.rows(f"SELECT {cols} FROM {t} ORDER BY id")
    got = duck(wh, f"SELECT {', '.join(chr(34) + c + chr(34) for c in COLUMNS)} FROM {v} ORDER BY id")
    assert len(got) == len(want) == N_ALL
    bad = [(w[0], c, g[i], w[i]) for g, w in zip(got, want, strict=True)
           for i, c in enumerate(COLUMNS) if not same_value(g[i], w[i])]
    assert bad == []
    edge = dict(zip(COLUMNS, next(r for r in got if r[0] == 9004), strict=True))
    assert (edge["name"], edge["部门"]) == ("😀 表情 ü ß 「全角」１２３", "華東（繁體）")


def test_query_import_with_filter_and_aliases(server: Source, source_table: str, wh):
    q = server.q
    where = f"WHERE {q('部门')} = '华东组' AND id <= 4000"
    sql = (f"SELECT id, amount AS {q('金额 CNY')}, name AS {q('客户')}, day FROM {source_table} {where}")

    result = import_db(wh, "east", server.url, query=sql)

    expected = server.scalar(f"SELECT COUNT(*) FROM {source_table} {where}")
    assert expected == 1000
    assert result.loaded == count(wh, "east") == expected
    assert [c["name"] for c in datasets.columns(wh, "east")] == ["id", "金额 CNY", "客户", "day"]
    assert duck_types(wh, "east")["金额 CNY"] == "DOUBLE"
    assert duck_types(wh, "east")["day"] == TYPES[server.backend]["day"]
    [(cents, depts)] = duck(wh, f'SELECT sum(CAST(round("金额 CNY" * 100) AS HUGEINT)), '
                                f'count(*) FILTER (WHERE "客户" LIKE \'%·华东组%\') FROM {view("east")}')
    assert cents == server.cents_sum(f"{source_table} {where}", "amount")
    assert depts == expected


def test_schema_qualified_table(server: Source, source_table: str, wh):
    result = import_db(wh, "qualified", server.url, table=f"{server.schema}.{source_table}")
    assert result.loaded == count(wh, "qualified") == N_ALL
    [b] = batches.list_batches(wh)
    assert b["source"].endswith(f"table {server.schema}.{source_table}")


def test_replace_append_and_revert(server: Source, source_table: str, wh):
    name = "modes"

    first = import_db(wh, name, server.url, table=source_table)
    assert count(wh, name) == N_ALL

    appended = import_db(wh, name, server.url, table=source_table, mode="append")
    assert count(wh, name) == 2 * N_ALL
    assert duck(wh, f"SELECT count(DISTINCT id) FROM {view(name)}")[0][0] == N_ALL

    revert(wh, appended.batch, reason="wrong file")
    assert count(wh, name) == N_ALL
    assert {b["id"]: b["status"] for b in batches.list_batches(wh)} == {
        first.batch: "loaded", appended.batch: "reverted"}

    import_db(wh, name, server.url, query=f"SELECT * FROM {source_table} WHERE id <= 10", mode="append")
    assert count(wh, name) == N_ALL + 10

    import_db(wh, name, server.url, table=source_table, mode="replace")
    assert count(wh, name) == N_ALL
    assert duck_types(wh, name) == COMMON_TYPES | TYPES[server.backend]


# --- errors: clear messages, nothing written ---------------------------------------------------

@pytest.mark.parametrize("url", [
    "postgresql+psycopg://u:secret@127.0.0.1:1/x",
    "mysql+pymysql://u:secret@127.0.0.1:1/x",
])
def test_unreachable_server_hides_password_and_writes_nothing(url, wh):
    before = snapshot(wh)
    with pytest.raises(KpiError) as err:
        import_db(wh, "unreachable", url, table="orders")
    message = str(err.value)
    assert "secret" not in message
    assert sa.make_url(url).render_as_string(hide_password=True) in message  # u:***@127.0.0.1:1/x
    assert "orders" in message
    assert snapshot(wh) == before
    assert "secret" not in str(duck(wh, "SELECT * FROM batch")) + str(duck(wh, "SELECT * FROM audit_log"))


def test_password_never_stored_on_success(wh):
    """PostgreSQL trust auth ignores the password, so a URL with one still connects."""
    require_server(PG_URL).dispose()
    url = sa.make_url(PG_URL).set(password="secret").render_as_string(hide_password=False)
    import_db(wh, "with password", url, query="SELECT 1 AS a")
    [b] = batches.list_batches(wh)
    assert "secret" not in b["source"] and ":***@" in b["source"]
    with wh.connect() as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()]
        for t in tables:
            assert "secret" not in str(con.execute(f'SELECT * FROM "{t}"').fetchall()), t


def test_unknown_table_names_the_table(server: Source, source_table: str, wh):
    import_db(wh, "kept", server.url, table=source_table)
    before = snapshot(wh)
    missing = unique("nope")
    with pytest.raises(KpiError, match=missing):
        import_db(wh, "kept", server.url, table=missing)
    with pytest.raises(KpiError, match=f"the query .* failed: .*{missing}"):  # the server names it
        import_db(wh, "other", server.url, query=f"SELECT * FROM {missing}")
    assert snapshot(wh) == before
    assert count(wh, "kept") == N_ALL  # a failed replace leaves the dataset as it was


@pytest.mark.parametrize("url", ["postgresql+psycopg://u:secret@127.0.0.1:1/x", "nosuchdialect://x"])
@pytest.mark.parametrize("args", [{"table": "t", "query": "SELECT 1"}, {}], ids=["both", "neither"])
def test_table_or_query_exactly_one_refused_before_connecting(url, args, wh):
    before = snapshot(wh)
    with pytest.raises(KpiError, match="exactly one of --table or --query") as err:
        import_db(wh, "args", url, **args)
    assert "failed" not in str(err.value) and "secret" not in str(err.value)
    assert snapshot(wh) == before


def test_failure_after_the_first_chunk_writes_nothing(wh):
    """A query that breaks after CHUNK_ROWS rows were read leaves no batch, no table, no dataset."""
    pg = require_server(PG_URL)
    pg.dispose()
    import_db(wh, "steady", PG_URL, query="SELECT n FROM generate_series(1, 10) AS n")
    before = snapshot(wh)
    boom = f"SELECT n, 1 / ({CHUNK_ROWS + 10} - n) AS x FROM generate_series(1, {CHUNK_ROWS + 20}) AS n"
    with pytest.raises(KpiError, match="division by zero"):
        import_db(wh, "steady", PG_URL, query=boom, mode="append")
    assert snapshot(wh) == before
    assert count(wh, "steady") == 10


def test_empty_result_is_refused_and_writes_nothing(server: Source, source_table: str, wh):
    before = snapshot(wh)
    with pytest.raises(KpiError, match="no data rows"):
        import_db(wh, "empty", server.url, query=f"SELECT * FROM {source_table} WHERE id < 0")
    assert snapshot(wh) == before


# --- chunks ------------------------------------------------------------------------------------

def test_streaming_across_chunks_with_late_values(wh):
    """120,000 rows cross CHUNK_ROWS twice; some columns are NULL for the whole first chunk."""
    engine = require_server(PG_URL)
    src = Source("postgresql", PG_URL, engine, "public")
    t = unique()
    late = CHUNK_ROWS + 10_000
    with engine.begin() as conn:
        conn.execute(sa.text(f"""
            CREATE TABLE {t} AS
            SELECT n AS id, (n * 0.01)::numeric(12, 2) AS amount,
                   CASE WHEN n > {late} THEN '后期' || n END AS late_text,
                   CASE WHEN n > {late} THEN DATE '2025-01-01' + n % 365 END AS late_date,
                   CASE WHEN n > {late} THEN (n * 0.5)::numeric(12, 2) END AS late_amount,
                   CASE WHEN n > {late} THEN n END AS late_int,
                   CASE WHEN n > {late} THEN n % 2 = 0 END AS late_flag,
                   NULL::text AS never
            FROM generate_series(1, 120000) AS n"""))
    try:
        result = import_db(wh, "big", PG_URL, table=t)
        assert result.loaded == count(wh, "big") == 120_000
        assert duck_types(wh, "big") == {
            "id": "BIGINT", "amount": "DOUBLE", "late_text": "VARCHAR",
            "late_date": "DATE", "late_amount": "DOUBLE", "late_int": "BIGINT", "late_flag": "BOOLEAN",
            "never": "VARCHAR"}
        [(ids, cents, late_cents, late_ints, texts, dates, flags, nevers)] = duck(wh, f"""
            SELECT sum(id), sum(CAST(round(amount * 100) AS HUGEINT)),
                   sum(CAST(round(late_amount * 100) AS HUGEINT)), sum(late_int),
                   count(late_text), count(late_date), count(*) FILTER (WHERE late_flag), count(never)
            FROM {view("big")}""")
        assert ids == 120_000 * 120_001 // 2
        assert cents == src.cents_sum(t, "amount")
        assert late_cents == src.cents_sum(t, "late_amount")
        assert late_ints == src.scalar(f"SELECT SUM(late_int) FROM {t}")
        assert texts == dates == 120_000 - late
        assert flags == src.scalar(f"SELECT COUNT(*) FROM {t} WHERE late_flag")
        assert nevers == 0
        assert duck(wh, f"SELECT late_text, late_date FROM {view('big')} WHERE id = 120000") == [
            ("后期120000", date(2025, 1, 1) + timedelta(days=120_000 % 365))]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {t}"))
        engine.dispose()


def test_sqlite_column_types_that_change_between_chunks(tmp_path, wh):
    """SQLite types each value: ints then reals, ints then text, NULLs then dates as text."""
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    n, c = CHUNK_ROWS + 5_000, CHUNK_ROWS
    import_db(wh, "mixed", url, query=f"""
        WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
        SELECT i AS id, CASE WHEN i <= {c} THEN i ELSE i + 0.25 END AS num,
               CASE WHEN i <= {c} THEN i ELSE 'C' || i END AS code,
               CASE WHEN i > {c} THEN '2025-03-01' END AS later
        FROM s""")

    assert count(wh, "mixed") == n
    assert duck_types(wh, "mixed") == {"id": "BIGINT", "num": "DOUBLE", "code": "VARCHAR", "later": "VARCHAR"}
    [(num, codes, later)] = duck(wh, f'SELECT sum(num), count(DISTINCT code), count(later) FROM {view("mixed")}')
    assert num == sum(range(1, n + 1)) + 0.25 * (n - c)  # no real was rounded to fit an integer column
    assert codes == n and later == n - c
    assert duck(wh, f"SELECT code FROM {view('mixed')} WHERE id IN (1, {n}) ORDER BY id") == [("1",), (f"C{n}",)]


def test_postgres_types_without_a_plain_arrow_type(wh):
    """jsonb arrives as JSON text; uuid, arrays, timestamptz and bytea keep a DuckDB type; a NaN
    or an infinity in a number column is refused naming its row (it would make every total NaN)."""
    require_server(PG_URL).dispose()
    query = """
        SELECT n, jsonb_build_object('键', n, 'b', ARRAY[n]) AS j,
               ('00000000-0000-0000-0000-00000000000' || n)::uuid AS u,
               ARRAY[n, n + 1] AS arr, TIMESTAMPTZ '2025-01-01 08:00+08' AS tz, '\\x01ff'::bytea AS raw,
               CASE WHEN n = 2 THEN {odd} ELSE n END AS num
        FROM generate_series(1, 3) AS n"""
    for odd, shown in (("'NaN'::numeric", "nan"), ("'Infinity'::float8", "inf")):
        with pytest.raises(ValidationFailed) as refused:
            import_db(wh, "pg types", PG_URL, query=query.format(odd=odd))
        assert [(p.row, p.column, p.value) for p in refused.value.problems] == [(2, "num", shown)]
    assert datasets.list_datasets(wh) == []
    import_db(wh, "pg types", PG_URL, query=query.format(odd="-2.5"))
    assert duck_types(wh, "pg types") == {"n": "BIGINT", "j": "VARCHAR", "u": "UUID", "arr": "BIGINT[]",
                                          "tz": "TIMESTAMP WITH TIME ZONE", "raw": "BLOB", "num": "DOUBLE"}
    v = view("pg types")
    [(j, u, arr, raw, utc)] = duck(wh, f"SELECT j, u, arr, raw, tz AT TIME ZONE 'UTC' FROM {v} WHERE n = 1")
    assert json.loads(j) == {"键": 1, "b": [1]} and arr == [1, 2] and raw == b"\x01\xff"
    assert str(u) == "00000000-0000-0000-0000-000000000001" and utc == datetime(2025, 1, 1, 0, 0)
    assert duck(wh, f"SELECT n, num FROM {v} WHERE num < 0") == [(2, -2.5)]


# --- the command line --------------------------------------------------------------------------

def test_cli_import_db_json(tmp_path):
    engine = require_server(PG_URL)
    engine.dispose()
    wh_path = tmp_path / "cli.duckdb"
    url = sa.make_url(PG_URL).set(password="secret").render_as_string(hide_password=False)

    done = subprocess.run(
        [sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), "import", "db", "数列", "--url", url,
         "--query", "SELECT n AS 编号, n * 1.5 AS 值 FROM generate_series(1, 300) AS n", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=os.environ | {"PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["batch"] is not None and out["rows"] == out["loaded"] == 300 and out["rejected"] == 0
    assert "secret" not in done.stdout + done.stderr

    wh = open_warehouse(wh_path)
    assert [(b["id"], b["rows_loaded"]) for b in batches.list_batches(wh)] == [(out["batch"], 300)]
    assert [c["name"] for c in datasets.columns(wh, "数列")] == ["编号", "值"]


# --- the skip / fail rule itself ---------------------------------------------------------------

@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_unreachable_server_skips_or_fails_under_ci(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match=r"127\.0\.0\.1:1/x is not reachable"):
        require_server("postgresql+psycopg://u:secret@127.0.0.1:1/x")
