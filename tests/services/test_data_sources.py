"""The admin's data-source form (services/data_sources.py) against the real PostgreSQL and MariaDB:
a connection made from its fields, a test that shows the columns and first rows, the import as a
dataset (the same `import db` as the CLI), the datasets listed with their source, refusals said so
a person can act on them, and a password that is never stored, listed or logged.

The servers are the local test databases ($KPI_TEST_PG_URL, $KPI_TEST_MYSQL_URL); one that cannot
be reached is skipped with the reason, or fails the run under CI=true."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, KpiError
from kpi_core.model.messages import Msg, render
from kpi_core.services import data_sources as sources
from kpi_core.services.data_sources import Connection, Read, SourceRefused
from kpi_core.store import datasets
from tests.ingest.test_sources import MYSQL_URL, PG_URL, require_server

pytestmark = pytest.mark.db

ADMIN = Actor("root", "admin")
SECRET = "pw-" + uuid.uuid4().hex  # a password no record may hold
ROWS = [("2026-01-05", "EAST", Decimal("100.50"), "ok"), ("2026-01-20", "SOUTH", Decimal("20.00"), "cancelled"),
        ("2026-02-03", "EAST", Decimal("7.25"), None)]


@pytest.fixture(scope="module", params=["postgresql", "mysql"])
def source(request):
    """(the form's driver, its fields from the test URL, a table the test made) on each server."""
    url = PG_URL if request.param == "postgresql" else MYSQL_URL
    engine = require_server(url)
    table = f"kpi_form_{uuid.uuid4().hex[:8]}"
    q = engine.dialect.identifier_preparer.quote_identifier
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {q(table)} (order_date DATE, dept VARCHAR(20), amount DECIMAL(10,2), "
                             f"{q('状态')} VARCHAR(20))"))
        conn.execute(sa.text(f"INSERT INTO {q(table)} VALUES (:d, :o, :a, :s)"),
                     [dict(zip("doas", r, strict=True)) for r in ROWS])
    u = sa.make_url(url)
    login = u.username or ""
    if request.param == "mysql":  # a user of its own, signing in with the secret
        login = f"kpi_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE USER '{login}'@'%' IDENTIFIED BY '{SECRET}'"))
            conn.execute(sa.text(f"GRANT SELECT ON {q(u.database)}.* TO '{login}'@'%'"))
    # PostgreSQL trusts local connections: the secret is sent and not needed.
    yield request.param, Connection(request.param, u.host, u.port, u.database, login, SECRET), table
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {q(table)}"))
        if request.param == "mysql":
            conn.execute(sa.text(f"DROP USER '{login}'@'%'"))
    engine.dispose()


def test_test_shows_the_columns_and_the_first_rows(source):
    _, connection, table = source
    sample = sources.test(connection, Read(table=table), user=ADMIN)
    assert sample.columns == ["order_date", "dept", "amount", "状态"]
    assert sorted(r[1] for r in sample.rows) == ["EAST", "EAST", "SOUTH"]
    one = sources.test(connection, Read(query=f"SELECT dept, amount FROM {table} WHERE dept = 'SOUTH'"), user=ADMIN,
                       rows=5)
    assert (one.columns, [tuple(r) for r in one.rows]) == (["dept", "amount"], [("SOUTH", Decimal("20.00"))])


def test_import_makes_a_dataset_listed_with_its_source(source, wh):
    driver, connection, table = source
    r = sources.pull(wh, "orders_db", connection, Read(table=table), mode="replace", user=ADMIN)
    assert r.ok and (r.rows, r.loaded, r.rejected) == (3, 3, 0)
    cols = {c["name"]: c["type"] for c in datasets.columns(wh, "orders_db")}
    assert cols == {"order_date": "DATE", "dept": "VARCHAR", "amount": "DOUBLE", "状态": "VARCHAR"}
    with wh.connect() as con:
        total = con.execute('SELECT sum(amount), count(*) FROM "ds_orders_db"').fetchall()
    assert total == [(127.75, 3)]
    again = sources.pull(wh, "orders_db", connection, Read(query=f"SELECT * FROM {table} WHERE dept = 'EAST'"),
                         mode="append", user=ADMIN)
    assert again.loaded == 2
    [row] = [d for d in sources.dataset_rows(wh, user=ADMIN) if d.name == "orders_db"]
    assert (row.rows, row.columns, row.batch) == (5, 4, again.batch)
    shown = {lang: render(row.source, lang) for lang in ("en", "zh")}
    scheme = sources.DRIVERS[driver]
    assert shown["en"].startswith(f"{scheme}://{connection.user}") and shown["en"].endswith(" query")
    assert shown["zh"].endswith(" 查询") and ":***@" in shown["en"] and row.last_import is not None


def test_the_password_is_never_stored_listed_or_logged(source, wh, wh_path):
    _, connection, table = source
    sources.pull(wh, "secret_check", connection, Read(table=table), user=ADMIN)
    assert SECRET not in repr(connection) and SECRET not in connection.shown()
    listed = sources.dataset_rows(wh, user=ADMIN)
    assert not [d for d in listed if SECRET in render(d.source, "en")]
    with wh.connect() as con:
        held = con.execute("SELECT count(*) FROM batch WHERE source LIKE ?", [f"%{SECRET}%"]).fetchall()
        logged = con.execute("SELECT count(*) FROM audit_log WHERE coalesce(CAST(before AS VARCHAR), '') || "
                             "coalesce(CAST(after AS VARCHAR), '') || coalesce(reason, '') LIKE ?",
                             [f"%{SECRET}%"]).fetchall()
        masked = con.execute("SELECT source FROM batch ORDER BY id DESC LIMIT 1").fetchall()[0][0]
        con.execute("CHECKPOINT")
    assert held == [(0,)] and logged == [(0,)]
    assert ":***@" in masked
    assert SECRET.encode() not in wh_path.read_bytes()


def _refusal(connection: Connection, read: Read) -> Msg:
    with pytest.raises(KpiError) as exc:
        sources.test(connection, read, user=ADMIN)
    return exc.value.args[0]


def test_refusals_say_what_to_fix_in_both_languages(source):
    driver, connection, table = source
    fields = connection.__dict__
    no_table = _refusal(connection, Read(table="no_such_table_here"))
    assert no_table.code == "services_source_no_table"
    assert render(no_table, "zh") == "没有表“no_such_table_here”，或当前用户无权读取"
    closed = _refusal(Connection(**{**fields, "port": 1}), Read(table=table))
    assert closed.code == "services_source_unreachable"
    assert render(closed, "zh").startswith(f"无法连接到 {connection.host}:1：主机名或端口不对")
    no_db = _refusal(Connection(**{**fields, "database": "no_such_db_here"}), Read(table=table))
    assert render(no_db, "en") == (f"{connection.host}:{connection.port} has no database 'no_such_db_here', "
                                    "or this user may not use it")
    stranger = _refusal(Connection(**{**fields, "user": "no_such_user_here", "password": "x"}), Read(table=table))
    assert stranger.code == "services_source_login_failed"
    assert render(stranger, "zh") == (f"用户“no_such_user_here”登录 {connection.host}:{connection.port} "
                                      "失败：用户名或密码不对")
    if driver == "mysql":  # PostgreSQL trusts local connections and takes any password
        wrong = _refusal(Connection(**{**fields, "password": "wrong"}), Read(table=table))
        assert wrong.code == "services_source_login_failed"
    with pytest.raises(SourceRefused) as exc:
        sources.test(connection, Read(query="SELEC 1"), user=ADMIN)
    assert exc.value.args[0].code == "services_source_failed" and exc.value.detail


def test_the_form_is_the_admins(source, wh):
    _, connection, table = source
    with pytest.raises(AccessDenied):
        sources.test(connection, Read(table=table), user=Actor("m", "manager", ("SALES",)))
    with pytest.raises(AccessDenied):
        sources.pull(wh, "x", connection, Read(table=table), user=Actor("m", "manager", ("SALES",)))


@pytest.mark.parametrize("connection, read, code", [
    (Connection("postgresql", "", 5432, "test"), Read(table="t"), "services_source_needs"),
    (Connection("postgresql", "h", 5432, ""), Read(table="t"), "services_source_needs"),
    (Connection("url", text="not a url"), Read(table="t"), "services_source_bad_url"),
    (Connection("postgresql", "h", 5432, "d"), Read(), "services_source_table_or_query"),
    (Connection("postgresql", "h", 5432, "d"), Read(table="t", query="SELECT 1"), "services_source_table_or_query"),
])
def test_a_form_not_filled_in_is_refused_before_connecting(connection, read, code):
    with pytest.raises(KpiError) as exc:
        sources.test(connection, read, user=ADMIN)
    assert exc.value.args[0].code == code


def test_a_url_takes_the_password_from_its_own_field():
    c = Connection("url", password="p@ss:w/rd", text="postgresql+psycopg://me@db.example:5433/sales")
    assert c.url().password == "p@ss:w/rd"
    assert c.shown() == "postgresql+psycopg://me:***@db.example:5433/sales"
    built = Connection("mysql", "db.example", None, "sales", "me", "secret")
    assert built.shown() == "mysql+pymysql://me:***@db.example:3306/sales"
    assert built.url().query == {"connect_timeout": "8"}  # an unreachable host is said in seconds, not minutes
