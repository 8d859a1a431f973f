"""Source databases through SQLAlchemy (PostgreSQL, MySQL/MariaDB, SQL Server, SQLite, …).

Rows are streamed in chunks into Arrow record batches and land as one dataset batch, so a
large table never sits whole in Python memory.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pyarrow as pa
import sqlalchemy as sa

from .config import Limits
from .datasets import Mode, _check_name, _load
from .errors import KpiError
from .imports.result import ImportResult
from .warehouse import Warehouse

CHUNK_ROWS = 50_000


def safe_url(url: str) -> str:
    """The URL with its password hidden, for batch records and messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid url>"


def _statement(table: str | None, query: str | None) -> sa.Executable:
    if (table is None) == (query is None):
        raise KpiError("give exactly one of --table or --query")
    if query is not None:
        return sa.text(query)
    schema, _, name = table.rpartition(".")
    # A table name is quoted by SQLAlchemy, never pasted into SQL.
    return sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))


def _column(values: list) -> pa.Array:
    if any(isinstance(v, decimal.Decimal) for v in values):
        values = [None if v is None else float(v) for v in values]
    return pa.array(values)


def _batches(url: str, table: str | None, query: str | None) -> Iterator[pa.RecordBatch]:
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise KpiError(f"bad database url {safe_url(url)}: {exc}") from exc
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(_statement(table, query))
            names = list(result.keys())
            while rows := result.fetchmany(CHUNK_ROWS):
                cols = list(zip(*rows, strict=True))
                yield pa.record_batch([_column(list(c)) for c in cols], names=names)
    except sa.exc.SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise KpiError(f"reading {table or 'the query'} from {safe_url(url)} failed: {msg}") from exc
    finally:
        engine.dispose()


def import_db(wh: Warehouse, name: str, url: str, *, table: str | None = None, query: str | None = None,
              mode: Mode = "replace", user: str = "admin") -> ImportResult:
    """Pull a table or a query's rows from a source database into dataset `name`."""
    _check_name(name)
    _statement(table, query)  # fail fast on bad arguments, before connecting
    source = f"{safe_url(url)} {'table ' + table if table else 'query'}"
    return _load(wh, name, mode, {}, user, source, None,
                 record_batches=lambda: _batches(url, table, query), limits=Limits.from_env())
