"""Source engines of linked datasets: where a URL points, in which SQL dialect, and running a
query's text there to an Arrow table.

SQLAlchemy URLs (PostgreSQL, MySQL/MariaDB and the MySQL-protocol MPP engines, Trino, ClickHouse,
any dialect with a driver installed) and `spark://local[N]` or a Spark master URL (pyspark; a
local session, or the same code against a cluster). Engines are kept per URL in this process;
the URL holds the password, so it is never logged, put in a message or shown (`safe`).
"""

from __future__ import annotations

import atexit
import decimal
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg

log = logging.getLogger(__name__)

# SQLAlchemy backend name -> sqlglot dialect.
DIALECT_OF = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "starrocks": "starrocks",
              "doris": "doris", "trino": "trino", "clickhouse": "clickhouse", "snowflake": "snowflake",
              "bigquery": "bigquery", "duckdb": "duckdb", "sqlite": "sqlite", "mssql": "tsql", "oracle": "oracle"}
CONNECT_TIMEOUT = 10  # seconds
SPARK_CONF = {  # a local session that stays inside the machine, quiet, and out of the working folder
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.catalogImplementation": "in-memory",  # no Hive/Derby metastore files
    "spark.driver.memory": os.environ.get("KPI_SPARK_DRIVER_MEMORY", "1g"),
    "spark.sql.shuffle.partitions": os.environ.get("KPI_SPARK_SHUFFLE_PARTITIONS", "4"),
    "spark.driver.bindAddress": "127.0.0.1",  # every listener on loopback, none on the machine's address
    "spark.driver.host": "127.0.0.1",
}
# Spark's own log: errors only, and not the "Setting default log level" banner of a shell.
LOG4J2 = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
logger.gw.name = org.apache.spark.api.python.PythonGatewayServer
logger.gw.level = error
"""


SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token", "key", "credential", "auth")


def safe(url: str) -> str:
    """The URL with its password hidden, for lists, batches and messages: the password part and
    any query parameter that may hold one (?password=, ?access_token=, …)."""
    if url.startswith("spark://"):
        return url.split("?", 1)[0]
    try:
        u = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return Msg("store_linked_bad_url")
    hidden = {k: "***" for k in u.query if any(s in k.lower() for s in SECRET_KEYS)}
    return u.update_query_dict(hidden).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def dialect_of(url: str) -> str:
    """The sqlglot dialect of the engine a URL points at."""
    if url.startswith("spark://"):
        return "spark"
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError as exc:
        raise KpiError(Msg("store_linked_bad_url")) from exc
    if backend not in DIALECT_OF:
        raise KpiError(Msg("store_linked_unknown_engine", engine=backend, known=", ".join(sorted(DIALECT_OF))))
    return DIALECT_OF[backend]


class Source:
    """A source engine: its dialect and a way to run a query's text to an Arrow table."""

    def __init__(self, dialect: str, fetch: Callable[[str], pa.Table]):
        self.dialect, self._fetch = dialect, fetch

    def fetch(self, sql: str) -> pa.Table:
        return self._fetch(sql)


_ENGINES: dict[str, Source] = {}
_GUARD = threading.Lock()


def source(url: str) -> Source:
    """The engine for `url`, opened once per process."""
    with _GUARD:
        if url not in _ENGINES:
            _ENGINES[url] = _spark(url) if url.startswith("spark://") else _sqlalchemy(url)
        return _ENGINES[url]


def _sqlalchemy(url: str) -> Source:
    dialect = dialect_of(url)
    args = {"connect_timeout": CONNECT_TIMEOUT} if dialect in ("postgres", "mysql", "starrocks", "doris") else {}
    engine = sa.create_engine(url, connect_args=args, pool_pre_ping=True)

    # Every value is a literal of the syntax tree, so no parameters go along; drivers that take
    # %-style parameters (psycopg, PyMySQL) still read '%' as one, so it is doubled for them
    # (MySQL's date formats, LIKE patterns).
    percent = engine.dialect.paramstyle in ("format", "pyformat")

    def fetch(sql: str) -> pa.Table:
        with engine.connect() as con:
            result = con.exec_driver_sql(sql.replace("%", "%%") if percent else sql)
            names = list(result.keys())
            rows = result.fetchall()
        return pa.table({n: _array([r[i] for r in rows]) for i, n in enumerate(names)}) if names else pa.table({})

    return Source(dialect, fetch)


def _array(values: list) -> pa.Array:
    """A column as Arrow; exact decimals become float64 only where a number is whole or finite
    enough to be the same (sums of DECIMAL columns come back as Decimal)."""
    if any(isinstance(v, decimal.Decimal) for v in values):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(values)


def _spark(url: str) -> Source:
    try:
        from pyspark.logger import PySparkLogger  # noqa: PLC0415 - heavy (JVM); only for a Spark link
        from pyspark.sql import SparkSession  # noqa: PLC0415
    except ImportError as exc:
        raise KpiError(Msg("store_linked_no_pyspark")) from exc
    # Rows come back through Arrow (toArrow), never pandas: pyspark's warning about pandas 3
    # concerns a path this code does not take.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    master = url.removeprefix("spark://")
    if not master.startswith(("local", "yarn", "k8s")):
        master = f"spark://{master}"
    scratch = Path(tempfile.mkdtemp(prefix="kpi-spark-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)  # Spark leaves its scratch until exit
    (scratch / "tmp").mkdir()
    (scratch / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    java = (f"-Dlog4j2.configurationFile=file:{scratch / 'log4j2.properties'} -Dderby.system.home={scratch / 'derby'} "
            f"-Djava.io.tmpdir={scratch / 'tmp'} -Duser.timezone=UTC")
    builder = SparkSession.builder.master(master).appName("kpi-cockpit")
    for key, value in {**SPARK_CONF, "spark.sql.warehouse.dir": str(scratch / "warehouse"),
                       "spark.local.dir": str(scratch / "local"), "spark.driver.extraJavaOptions": java}.items():
        builder = builder.config(key, value)
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # a whole JVM stack trace per SQL error
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)            # (the exception is still raised)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")

    def fetch(sql: str) -> pa.Table:
        return session.sql(sql).toArrow()

    return Source("spark", fetch)


