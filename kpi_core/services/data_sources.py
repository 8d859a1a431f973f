"""Source databases for the admin's data-source form: a connection from its fields, a test that
shows the table's columns and first rows, the import (the same `import db` as the CLI), the
datasets with where they came from, and a refusal a person can act on (host unreachable, wrong
password, no such database or table).

The password is given to the functions that connect and to nothing else: it is never in a
`Connection`'s text, a message, a batch's source or the audit log (`shown` and every record hide
it). A later "link" of a dataset (SPEC §8, `datasets link`) takes the same `Connection` and
`Read`: `url()` is the SQLAlchemy URL to link, `Read` the table or query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from kpi_core.ingest.datasets import Mode
from kpi_core.ingest.sources import import_db, safe_url
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.problems import ImportResult
from kpi_core.services import linked
from kpi_core.store import batches
from kpi_core.store import linked as catalog
from kpi_core.store.datasets import list_datasets, live_batches
from kpi_core.store.warehouse import Warehouse

# Product names are the same in every language; "url" is any SQLAlchemy URL.
DRIVERS: dict[str, str] = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}
BRANDS: dict[str, str] = {"postgresql": "PostgreSQL", "mysql": "MySQL / MariaDB"}
PORTS: dict[str, int] = {"postgresql": 5432, "mysql": 3306}
CONNECT_TIMEOUT = 8  # seconds before an unreachable host is said to be one
SAMPLE_ROWS = 10


class SourceRefused(KpiError):
    """The source database refused or could not be reached: the message says what to do, `detail`
    is what the database itself said (its own words, for an administrator who needs them)."""

    def __init__(self, message: Msg, detail: str = ""):
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class Connection:
    """Where the source is: a driver with host, port, database and user, or a whole URL ("url").
    The password is kept apart from every text made of the connection."""

    driver: str
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    text: str = ""  # the SQLAlchemy URL, for driver "url" (its password, if any, is replaced by `password`)

    def url(self) -> sa.URL:
        """The URL to connect with (holding the password: never shown, logged or stored)."""
        if self.driver == "url":
            try:
                u = sa.make_url(self.text.strip())
            except sa.exc.ArgumentError:
                raise KpiError(Msg("services_source_bad_url")) from None
            return u.set(password=self.password) if self.password else u
        if self.driver not in DRIVERS:
            raise KpiError(Msg("services_source_bad_url"))
        if not self.host.strip():
            raise KpiError(Msg("services_source_needs", what=Msg("services_source_host")))
        if not self.database.strip():
            raise KpiError(Msg("services_source_needs", what=Msg("services_source_database")))
        return sa.URL.create(DRIVERS[self.driver], username=self.user.strip() or None,
                             password=self.password or None, host=self.host.strip(),
                             port=self.port or PORTS[self.driver], database=self.database.strip(),
                             query={"connect_timeout": str(CONNECT_TIMEOUT)})

    def shown(self) -> str:
        """The URL as it may be shown: the password hidden, and the form's own connect timeout left out."""
        return plain(self.url().render_as_string(hide_password=False))


@dataclass(frozen=True)
class Read:
    """What to read from the source: a table (schema.table allowed) or a SELECT."""

    table: str = ""
    query: str = ""

    def checked(self) -> tuple[str | None, str | None]:
        table, query = self.table.strip() or None, self.query.strip() or None
        if (table is None) == (query is None):
            raise KpiError(Msg("services_source_table_or_query"))
        return table, query


@dataclass
class Sample:
    """What a test of the connection shows: the columns and the first rows."""

    columns: list[str]
    rows: list[tuple]


def test(connection: Connection, read: Read, *, user: Actor | str, rows: int = SAMPLE_ROWS) -> Sample:
    """Connect and read the first rows of the table or query (nothing is written)."""
    require(as_actor(user), "datasets")
    table, query = read.checked()
    url = connection.url()
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError):
        raise KpiError(Msg("services_source_bad_url")) from None
    try:
        with engine.connect() as conn:
            if table is not None:
                schema, _, name = table.rpartition(".")
                stmt = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None)).limit(rows)
            else:
                stmt = sa.text(query)
            result = conn.execution_options(stream_results=True).execute(stmt)
            sample = Sample(list(result.keys()), [tuple(r) for r in result.fetchmany(rows)])
            result.close()
            return sample
    except sa.exc.SQLAlchemyError as exc:
        raise SourceRefused(explain(exc, connection, read), said(exc)) from None
    finally:
        engine.dispose()


def link(wh: Warehouse, name: str, connection: Connection, read: Read, *, time_column: str, org_column: str,
         watermark: str | None = None, user: Actor | str) -> linked.Refreshed:
    """Link the table or query as dataset `name` (its rows stay at the source), as `datasets link`
    does; a refusal said as `test` says it."""
    table, query = read.checked()
    text = connection.text.strip()
    url = text if connection.driver == "url" and text.startswith("spark://") else \
        connection.url().render_as_string(hide_password=False)
    try:
        return linked.link(wh, name, url, table=table, query=query, time_column=time_column,
                           org_column=org_column, watermark=watermark or None, user=user)
    except KpiError as exc:
        cause = exc.__cause__
        if isinstance(cause, sa.exc.SQLAlchemyError):
            raise SourceRefused(explain(cause, connection, read), said(cause)) from None
        raise


def pull(wh: Warehouse, name: str, connection: Connection, read: Read, *, mode: Mode = "replace",
         user: Actor | str) -> ImportResult:
    """Import the table or query as dataset `name`, as `import db` does; a failure said as `test` says it."""
    table, query = read.checked()
    url = connection.url().render_as_string(hide_password=False)
    try:
        return import_db(wh, name, url, table=table, query=query, mode=mode, user=user)
    except KpiError as exc:
        cause = exc.__cause__
        if isinstance(cause, sa.exc.SQLAlchemyError):
            raise SourceRefused(explain(cause, connection, read), said(cause)) from None
        raise


# What the drivers say (PostgreSQL through psycopg, MySQL/MariaDB through PyMySQL), by what went wrong.
_SAYS: list[tuple[str, re.Pattern]] = [
    ("unreachable", re.compile(r"could not translate host name|Name or service not known|Connection refused|"
                               r"timeout expired|timed out|No route to host|Network is unreachable|"
                               r"Can't connect to (MySQL|MariaDB) server|Unknown MySQL server host|"
                               r"\(2003|\(2005|server closed the connection", re.I)),
    ("database", re.compile(r"database \".*\" does not exist|\(1049|Unknown database|\(1044|to database '", re.I)),
    ("login", re.compile(r"password authentication failed|no password supplied|role \".*\" does not exist|"
                         r"\(1045|Access denied for user|authentication failed", re.I)),
    ("table", re.compile(r"relation \".*\" does not exist|\(1146|Table '.*' doesn't exist|no such table|"
                         r"schema \".*\" does not exist", re.I)),
]


def explain(exc: BaseException, connection: Connection, read: Read) -> Msg:
    """A source database's refusal as a person can act on it, naming the host, user, database or table."""
    detail = said(exc)
    try:
        u = connection.url()
    except KpiError:
        u = None
    host = (u.host or "") + (f":{u.port}" if u is not None and u.port else "") if u is not None else ""
    for kind, pattern in _SAYS:
        if pattern.search(detail):
            if kind == "unreachable":
                return Msg("services_source_unreachable", host=host or "?")
            if kind == "login":
                return Msg("services_source_login_failed", user=(u.username if u else "") or "?", host=host or "?")
            if kind == "database":
                return Msg("services_source_no_database", database=(u.database if u else "") or "?", host=host or "?")
            return Msg("services_source_no_table", table=read.table.strip() or read.query.strip()[:80])
    return Msg("services_source_failed", detail=detail)


def said(exc: BaseException) -> str:
    """What the database said, on one line (the driver's first line, without SQLAlchemy's notes)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else ""


@dataclass
class DatasetRow:
    """One dataset as the data-source list shows it."""

    name: str
    source: object  # a Msg for a database source (its text in the reader's language), else the file name
    rows: int
    columns: int
    last_import: object  # when its newest live batch was loaded
    batch: int | None


_DB_SOURCE = re.compile(r"^(?P<url>\S+://\S*) (?:table (?P<table>.+)|(?P<query>query))$")


def dataset_rows(wh: Warehouse, *, user: Actor | str) -> list[DatasetRow]:
    """Every dataset with where its rows came from (the password of a source never shows)."""
    require(as_actor(user), "datasets")
    out = []
    with wh.connect() as con:
        for d in list_datasets(wh):
            live = live_batches(con, d["name"])
            batch = batches.get(con, live[-1][0]) if live else None
            lk = catalog.find(con, d["name"])
            source = (_linked_source(lk) if lk is not None else _source(batch["source"]) if batch else "")
            out.append(DatasetRow(d["name"], source, d["rows"], len(d["columns"]),
                                  batch["created_at"] if batch else d["updated_at"], batch["id"] if batch else None))
    return out


def _linked_source(lk: catalog.Linked) -> Msg:
    url = plain(lk.shown_url) if "://" in lk.shown_url and not lk.shown_url.startswith("spark://") else lk.shown_url
    return (Msg("services_source_linked_table", url=url, table=lk.source_table) if lk.source_table is not None
            else Msg("services_source_linked_query", url=url))


def plain(url: str) -> str:
    """A source URL as a person reads it: the password hidden, the connect timeout the form adds left out."""
    try:
        u = sa.make_url(url).difference_update_query(["connect_timeout"])
    except sa.exc.ArgumentError:
        return safe_url(url)
    return u.render_as_string(hide_password=True)


def _source(text: str) -> object:
    """A batch's recorded source: a database's as a message (so it reads in the UI language), with
    the password hidden even in a record made before sources were masked."""
    m = _DB_SOURCE.match(text or "")
    if m is None:
        return text
    url = plain(m["url"])
    return (Msg("ingest_db_source_table", url=url, table=m["table"]) if m["table"] is not None
            else Msg("ingest_db_source_query", url=url))

