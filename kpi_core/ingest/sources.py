"""Source databases through SQLAlchemy (PostgreSQL, MySQL/MariaDB, SQL Server, SQLite, …).

Rows are streamed in chunks into Arrow record batches and land as one dataset batch, so a
large table never sits whole in Python memory.
"""

from __future__ import annotations

import decimal
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from kpi_core.ingest.datasets import Mode, load_batch
from kpi_core.model.access import acting
from kpi_core.model.config import Limits
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.names import check_name
from kpi_core.model.problems import ImportResult
from kpi_core.store.warehouse import Warehouse

CHUNK_ROWS = 50_000


def safe_url(url: str) -> str:
    """The URL with its password hidden, for batch records and messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return Msg("ingest_invalid_url")


def _statement(table: str | None, query: str | None) -> sa.Executable:
    if (table is None) == (query is None):
        raise KpiError(Msg("ingest_table_or_query"))
    if query is not None:
        return sa.text(query)
    schema, _, name = table.rpartition(".")
    # A table name is quoted by SQLAlchemy, never pasted into SQL.
    return sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))


def _column(values: list) -> pa.Array:
    """One chunk of one column; values Arrow cannot type together (SQLite allows any mix) become text."""
    if any(isinstance(v, decimal.Decimal) for v in values):
        values = [None if v is None else float(v) for v in values]
    if not any(isinstance(v, dict) for v in values):
        try:
            return pa.array(values)
        except (pa.ArrowException, OverflowError):
            pass
    return pa.array([_text(v) for v in values], pa.string())


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _wider(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The type that holds a column's values from two chunks (null + date = date, int + float = float)."""
    if a == b:
        return a
    try:
        merged = pa.unify_schemas([pa.schema([("c", a)]), pa.schema([("c", b)])], promote_options="permissive")
    except pa.ArrowException:
        return pa.string()
    return merged.field("c").type


def _conform(rb: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A chunk cast to the types of the whole pull."""
    cols = []
    for col, field in zip(rb.columns, schema, strict=True):
        if col.type != field.type:
            try:
                col = col.cast(field.type)
            except (pa.ArrowException, OverflowError):
                col = pa.array([_text(v) for v in col.to_pylist()], pa.string()).cast(field.type)
        cols.append(col)
    return pa.record_batch(cols, schema=schema)


def _spool(path: Path, rb: pa.RecordBatch) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, rb.schema) as writer:
        writer.write_batch(rb)


def _unspool(path: Path) -> pa.RecordBatch:
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).get_batch(0)


def _pull(url: str, table: str | None, query: str | None, spool: Path) -> tuple[pa.Schema, list[Path]]:
    """Read the source into Arrow files under `spool`; the schema covers the whole pull.

    A chunk's types are only what its own values show: a column can be all NULL in the first
    chunk and dates later, or (SQLite) integers first and reals later. So the chunks are spooled
    while the types of the whole pull are worked out; memory holds one chunk, and the warehouse
    is not locked while a slow source database answers.
    """
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise KpiError(Msg("ingest_bad_db_url", url=safe_url(url), detail=str(exc))) from exc
    parts: list[Path] = []
    names: list[str] = []
    types: list[pa.DataType] = []
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(_statement(table, query))
            names = list(result.keys())
            types = [pa.null()] * len(names)
            while rows := result.fetchmany(CHUNK_ROWS):
                cols = [_column(list(c)) for c in zip(*rows, strict=True)]
                types = [_wider(t, c.type) for t, c in zip(types, cols, strict=True)]
                parts.append(spool / f"{len(parts)}.arrow")
                _spool(parts[-1], pa.record_batch(cols, names=names))
    except sa.exc.SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise KpiError(Msg("ingest_db_read_failed", table=table, url=safe_url(url), detail=msg) if table
                       else Msg("ingest_db_query_failed", url=safe_url(url), detail=msg)) from exc
    finally:
        engine.dispose()
    # A column with no value at all is text, as it is in an imported file.
    schema = pa.schema([(n, pa.string() if pa.types.is_null(t) else t) for n, t in zip(names, types, strict=True)])
    return schema, parts


def _batches(schema: pa.Schema, parts: list[Path]) -> Iterator[pa.RecordBatch]:
    """The spooled chunks, each cast to the pull's schema."""
    if not parts and len(schema):  # no rows: the columns still show, and the load says "no data rows"
        yield pa.RecordBatch.from_pylist([], schema=schema)
    for part in parts:
        yield _conform(_unspool(part), schema)


def import_db(wh: Warehouse, name: str, url: str, *, table: str | None = None, query: str | None = None,
              mode: Mode = "replace", user: str = "admin") -> ImportResult:
    """Pull a table or a query's rows from a source database into dataset `name` (admins only)."""
    user = acting(user, "datasets")
    name = check_name(name)
    _statement(table, query)  # fail fast on bad arguments, before connecting
    source = (Msg("ingest_db_source_table", url=safe_url(url), table=table) if table
              else Msg("ingest_db_source_query", url=safe_url(url)))
    with tempfile.TemporaryDirectory(prefix="kpi-db-pull-") as spool:
        schema, parts = _pull(url, table, query, Path(spool))
        return load_batch(wh, name, mode, {}, user, source, None,
                     record_batches=lambda: _batches(schema, parts), limits=Limits.from_env())
