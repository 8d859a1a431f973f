"""The DuckDB warehouse: connections, migrations, transactions and the data version.

A DuckDB file admits one read-write process, or several read-only ones, at a time.
Connections here are short-lived (one per CLI command, one per page render or write). Reads that
a page makes on every click (`Warehouse.read`) open the file read-only, so app processes behind a
proxy read side by side and take turns only with a writer; a connection that finds the file held
waits its turn (store/filequeue.py) up to `lock_timeout()` and then fails with a message naming
the process that holds it. Between connections the file stays open a few seconds in this process
for the next read, and within a process readers and writers take turns (store/keeper.py).
"""

from __future__ import annotations

import errno
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from kpi_core.model.config import SQL_DIR, lock_timeout, warehouse_path
from kpi_core.model.errors import DiskFull, KpiError, WarehouseBusy
from kpi_core.model.messages import Msg
from kpi_core.store import filequeue
from kpi_core.store.keeper import keeper

MIGRATIONS_DIR = SQL_DIR / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower() and isinstance(exc, duckdb.IOException)


def is_disk_full(exc: BaseException) -> bool:
    """A write that failed for want of disk space (DuckDB says so in its message, the OS by errno)."""
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def disk_full(path: Path) -> DiskFull:
    return DiskFull(Msg("store_disk_full", folder=str(path.parent)))


def _holder(message: str) -> str:
    """The 'held in … (PID n)' part of DuckDB's lock message, if any ("another process")."""
    m = re.search(r"held in (.+?\(PID \d+\))", message)
    return m.group(1) if m else Msg("store_another_process")


# One writer at a time per warehouse file within this process. DuckDB locks the file against
# other processes, but the app's sessions are threads of one process sharing one database: two of
# their transactions that both write (every one bumps the data version) fail with "Conflict on
# update" instead of waiting. So they queue here, as other processes queue on the file lock.
_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(str(path.resolve()), threading.RLock())


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless DuckDB already has (a failed COMMIT ends the transaction itself): the
    error that brought us here is the one to report, not "no transaction is active"."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def now() -> datetime:
    """Current time, timezone-aware (stored as TIMESTAMPTZ)."""
    return datetime.now(UTC)


class Warehouse:
    """One DuckDB warehouse file; hands out short-lived connections and transactions."""

    def __init__(self, path: str | Path | None = None, *, timeout: float | None = None,
                 on_wait: Callable[[str], None] | None = None):
        self.path = Path(path) if path else warehouse_path()
        self.timeout = lock_timeout() if timeout is None else timeout
        self.on_wait = on_wait
        self._local = threading.local()
        self.waited = 0.0  # seconds spent getting connections (waiting for other processes), over its life
        self._holder: str = Msg("store_another_process")
        self._keeper = keeper(self.path)  # keeps the file open between uses (see LINGER)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection to the file, in turn: when another process holds it, wait in the queue
        (filequeue.py) and try only when first, up to `timeout` seconds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        queue = self.path.with_name(self.path.name + ".queue")
        if self._keeper.con is not None:
            self._keeper.check()
        if not filequeue.waiting(queue, writers=read_only):  # nobody to wait for: try at once
            con = self._try_connect(read_only)
            if con is not None:
                self.waited += time.monotonic() - start
                return con
        self._keeper.note_contention()  # others hold or wait for the file
        try:
            ticket = filequeue.Ticket(queue, reader=read_only)
        except OSError:  # a folder we may not write in: wait without a queue
            ticket = None
        try:
            return self._wait_for_turn(ticket, start, read_only)
        finally:
            if ticket is not None:
                ticket.close()

    def _wait_for_turn(self, ticket: filequeue.Ticket | None, start: float,
                       read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline, told = start + self.timeout, False
        while True:
            head = ticket is None or ticket.first()
            if head:
                con = self._try_connect(read_only)
                if con is not None:
                    self.waited += time.monotonic() - start
                    return con
            if time.monotonic() >= deadline:
                raise WarehouseBusy(Msg("store_in_use", path=str(self.path), holder=self._holder,
                                        seconds=f"{self.timeout:g}"))
            if self.on_wait and not told and time.monotonic() - start > 0.5:
                self.on_wait(Msg("store_waiting", holder=self._holder))
                told = True
            time.sleep(0.005 if head else 0.02)  # the first in line tries often; the others look

    def _try_connect(self, read_only: bool) -> duckdb.DuckDBPyConnection | None:
        """A connection, or None while another process holds the file (noting which one)."""
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if is_disk_full(exc):
                raise disk_full(self.path) from exc
            if not _is_lock_error(exc):
                raise KpiError(Msg("store_cannot_open", path=str(self.path), error=str(exc))) from exc
            self._holder = _holder(str(exc))
            return None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection for this thread; nested calls share it, the outermost closes it.
        Inside `read()` it is that read-only connection (a write through it fails loudly)."""
        with self._connection(write=not self._reading()) as con:
            yield con

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for reading: read-only, so other processes read the file at the same time,
        unless this process has it open read-write already (then that one, which costs nothing)."""
        with self._connection(write=None) as con:
            yield con

    def _reading(self) -> bool:
        """Whether this thread reads the file read-only now (through any Warehouse on it)."""
        return bool(self._keeper.readers.get(threading.get_ident()))

    @contextmanager
    def _connection(self, write: bool | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """write: True read-write (refused inside a read-only one), None read-only if it can be,
        False as the thread's read-only connection it is inside."""
        con = getattr(self._local, "con", None)
        if con is not None:
            if write and self._local.read_only:
                raise RuntimeError("a write inside Warehouse.read(): open the transaction first")
            self._local.depth += 1
            try:
                yield con
            finally:
                self._local.depth -= 1
            return
        read_only = self._keeper.enter(bool(write), self.timeout)
        try:
            con = self._open(read_only)
        except BaseException:
            self._keeper.leave(read_only, threading.get_ident())
            raise
        self._local.con, self._local.depth, self._local.read_only = con, 1, read_only
        done = False
        try:
            yield con
            done = True
        finally:
            self._local.con, self._local.depth, self._local.read_only = None, 0, False
            if done:
                self._keeper.keep(read_only)  # before closing: the database stays open for the next connection
            else:  # after an error the next connection opens the file afresh
                self._keeper.let_go()
            try:
                con.close()
            except duckdb.Error as exc:
                # Closing folds the write-ahead log into the file; what committed is in the log
                # either way, and the next connection folds it in once there is room.
                if not is_disk_full(exc):
                    raise
            finally:
                self._keeper.leave(read_only, threading.get_ident())

    @property
    def commits(self) -> int:
        """How many version-bumping writes this process has committed to the file: a data version
        read earlier holds for this process's own writes while this count does."""
        return self._keeper.commits

    def let_go(self) -> None:
        """Close the keeper now: the file is free once no connection of this process is open."""
        self._keeper.let_go()

    @contextmanager
    def transaction(self, *, bump: bool = True, narrow: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction that bumps the data version (unless `bump` is False: a write no
        number depends on, such as a user's language); all or nothing.

        `narrow`: the write changes only the subjects it names through `touch` (the facts of some
        metrics, the rows of a dataset), so what is kept for every other subject stays good. Any
        other write, a narrow one that names nothing, or one with a broad write nested inside,
        counts as changing everything (the safe default)."""
        with self._connection(write=True) as con:
            if getattr(self._local, "in_tx", False):
                if not narrow:  # a broad write inside a narrow one widens it
                    self._local.scope = None
                yield con
                return
            lock = _writer_lock(self.path)
            if not lock.acquire(timeout=self.timeout):
                raise WarehouseBusy(Msg("store_busy_writing", path=str(self.path), seconds=f"{self.timeout:g}"))
            try:
                con.execute("BEGIN TRANSACTION")
                self._local.in_tx, self._local.scope = True, (set() if narrow else None)
                try:
                    yield con
                    if bump:
                        _bump(con, self._local.scope)
                    con.execute("COMMIT")
                    self._keeper.commits += bump
                except duckdb.Error as exc:
                    _rollback(con)
                    if is_disk_full(exc):
                        raise disk_full(self.path) from exc
                    if isinstance(exc, duckdb.TransactionException) and "onflict" in str(exc):
                        # a write outside transaction() touched the same rows
                        raise WarehouseBusy(Msg("store_conflict")) from exc
                    raise
                except BaseException:
                    _rollback(con)
                    raise
                finally:
                    self._local.in_tx, self._local.scope = False, None
            finally:
                lock.release()

    def touch(self, subjects) -> None:
        """Name what the narrow transaction under way changes (see `transaction`); a no-op in a
        broad one, which already counts as changing everything."""
        scope = getattr(self._local, "scope", None)
        if scope is not None:
            scope.update(subjects)

    def migrate(self) -> list[str]:
        """Apply the migrations in sql/migrations not yet applied; return their names."""
        applied: list[str] = []
        with self._connection(write=True) as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration "
                "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ)"
            )
            done = {v for (v,) in con.execute("SELECT version FROM schema_migration").fetchall()}
            for path in migration_files():
                version = int(path.name[:3])
                if version in done:
                    continue
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(path.read_text(encoding="utf-8"))
                    con.execute("INSERT INTO schema_migration VALUES (?, ?, ?)",
                                [version, path.name, now()])
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                applied.append(path.name)
        return applied

    def schema_version(self) -> int:
        """Highest applied migration, 0 for a new file."""
        with self.read() as con:
            try:
                row = next(iter(con.execute("SELECT max(version) FROM schema_migration").fetchall()), None)
            except duckdb.CatalogException:
                return 0
        return int(row[0] or 0)

    def data_version(self) -> int:
        """A counter every committed write bumps; cached reads key on it."""
        with self.read() as con:
            row = next(iter(con.execute("SELECT value FROM setting WHERE key = 'data_version'").fetchall()))
        return int(row[0])

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.read() as con:
            row = next(iter(con.execute("SELECT value FROM setting WHERE key = ?", [key]).fetchall()), None)
        return row[0] if row else default


def _bump(con: duckdb.DuckDBPyConnection, subjects: set[str] | None) -> None:
    """Bump the data version; a narrow write marks its subjects with it, any other moves the base."""
    [(version,)] = con.execute(
        "UPDATE setting SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version' "
        "RETURNING CAST(value AS BIGINT)").fetchall()
    if subjects:
        con.execute("INSERT OR REPLACE INTO subject_version SELECT unnest(?), ?", [sorted(subjects), version])
    else:
        con.execute("UPDATE setting SET value = CAST(? AS VARCHAR) WHERE key = 'base_version'", [version])


def migration_files() -> list[Path]:
    """Migration files in order; a misnamed file is an error, not silently skipped."""
    files = sorted(MIGRATIONS_DIR.glob("*.sql"))
    for f in files:
        if not _MIGRATION_NAME.match(f.name):
            raise KpiError(f"Migration file {f.name} must be named NNN_lowercase_name.sql")
    return files


def open_warehouse(path: str | Path | None = None, **kw) -> Warehouse:
    """A migrated warehouse (created if missing)."""
    wh = Warehouse(path, **kw)
    wh.migrate()
    return wh
