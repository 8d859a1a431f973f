"""The DuckDB warehouse: connections, migrations, transactions and the data version.

A DuckDB file admits one read-write process at a time. Connections here are short-lived
(one per CLI command, one per page render or write), so the app and a CLI import take
turns; a connection that finds the file locked waits with back-off up to `lock_timeout()`
and then fails with a message naming the process that holds the lock.

Opening the file costs 15 ms on an idle machine and 50–100 ms on a busy one, and a page's
rerun makes several short reads (the session check, the data version, cached reads). So after
a thread's last connection closes, the database stays open in this process for `LINGER`
seconds (an idle connection, the keeper, holds it) and the next connection within that time
costs nothing. The keeper lets go at once when another process queues for the file, and is
never kept over unfolded writes (a write-ahead log beside the file): the file alone is then the
whole warehouse, so a copy of it is complete.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from kpi_core.model.config import SQL_DIR, lock_timeout, warehouse_path
from kpi_core.model.errors import DiskFull, KpiError, WarehouseBusy
from kpi_core.model.messages import Msg
from kpi_core.store import filequeue

MIGRATIONS_DIR = SQL_DIR / "migrations"
LINGER = 5.0   # seconds the database stays open after its last use in this process (0: close at once)
CALM = 2.0     # ... but not while processes contend for it (5 times within this many seconds): as before
_POLL = 0.025  # how often a kept database looks for processes queueing for the file
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


class _Keeper:
    """An idle connection that keeps one database file open in this process between uses (see
    LINGER); one per file, shared by every Warehouse on it, so any of them that leaves writes in
    the log lets go and the file is folded."""

    def __init__(self, path: Path):
        self.path, self.queue = path, path.with_name(path.name + ".queue")
        self.con: duckdb.DuckDBPyConnection | None = None
        self.state: tuple | None = None  # the file as it was when kept
        self.used_at = 0.0
        self.contentions: deque[float] = deque(maxlen=5)  # when others last held or queued for the file
        self.lock = threading.Lock()

    def file_state(self) -> tuple | None:
        """The file as the file system sees it, and whether a write-ahead log is beside it."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, os.path.exists(f"{self.path}.wal")

    def keep(self) -> None:
        """After a thread's outermost connection: keep the database open for LINGER seconds, unless
        writes wait in the log to be folded into the file, or another process waits for the file."""
        with self.lock:
            state = self.file_state()
            if (LINGER <= 0 or state is None or state[-1]  # state[-1]: writes wait in the log
                    or self.contended() or self.resting()):
                self._drop()
                return
            if self.con is None:
                try:
                    self.con = duckdb.connect(str(self.path))  # the database is open: no wait, no cost
                except duckdb.Error:
                    return
                threading.Thread(target=self._watch, name=f"kpi-keeper {self.path.name}", daemon=True).start()
            self.state, self.used_at = state, time.monotonic()

    def check(self) -> None:
        """Before a connection: let go if a process queues for the file, or if the file changed
        behind the open database (a write in the log, or the file replaced or copied over)."""
        with self.lock:
            if self.con is not None and (self.contended() or self.file_state() != self.state):
                self._drop()

    def contended(self) -> bool:
        """Whether a process queues for the file now (noted)."""
        if filequeue.waiting(self.queue):
            self.note_contention()
            return True
        return False

    def note_contention(self) -> None:
        self.contentions.append(time.monotonic())

    def resting(self) -> bool:
        """Processes contend for the file (a fifth time within CALM seconds): keep nothing, so each
        one lets go at once as before. An import now and then does not count as that."""
        return len(self.contentions) == self.contentions.maxlen and time.monotonic() - self.contentions[0] < CALM

    def _watch(self) -> None:
        """Close the keeper LINGER seconds after the last use, or as soon as another process queues
        for the file or the file changes."""
        while True:
            time.sleep(_POLL)
            with self.lock:
                if self.con is None:
                    return
                if (time.monotonic() - self.used_at < LINGER and not self.contended()
                        and self.file_state() == self.state):
                    continue
                self._drop()
                return

    def let_go(self) -> None:
        with self.lock:
            self._drop()

    def _drop(self) -> None:
        con, self.con, self.state = self.con, None, None
        if con is not None:
            try:
                con.close()
            except duckdb.Error:  # a full disk at the fold: the next connection folds the log in
                pass


_KEEPERS: dict[str, _Keeper] = {}


def _keeper(path: Path) -> _Keeper:
    with _WRITERS_GUARD:
        return _KEEPERS.setdefault(str(path.resolve()), _Keeper(path))


@atexit.register
def _let_go_at_exit() -> None:
    for keeper in list(_KEEPERS.values()):
        keeper.let_go()


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
        self._keeper = _keeper(self.path)  # keeps the file open between uses (see LINGER)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    def _open(self) -> duckdb.DuckDBPyConnection:
        """A connection to the file, in turn: when another process holds it, wait in the queue
        (filequeue.py) and try only when first, up to `timeout` seconds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        queue = self.path.with_name(self.path.name + ".queue")
        if self._keeper.con is not None:
            self._keeper.check()
        if not filequeue.waiting(queue):  # nobody is waiting: try at once
            con = self._try_connect()
            if con is not None:
                self.waited += time.monotonic() - start
                return con
        self._keeper.note_contention()  # others hold or wait for the file
        try:
            ticket = filequeue.Ticket(queue)
        except OSError:  # a folder we may not write in: wait without a queue
            ticket = None
        try:
            return self._wait_for_turn(ticket, start)
        finally:
            if ticket is not None:
                ticket.close()

    def _wait_for_turn(self, ticket: filequeue.Ticket | None, start: float) -> duckdb.DuckDBPyConnection:
        deadline, told = start + self.timeout, False
        while True:
            head = ticket is None or ticket.first()
            if head:
                con = self._try_connect()
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

    def _try_connect(self) -> duckdb.DuckDBPyConnection | None:
        """A connection, or None while another process holds the file (noting which one)."""
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            if is_disk_full(exc):
                raise disk_full(self.path) from exc
            if not _is_lock_error(exc):
                raise KpiError(Msg("store_cannot_open", path=str(self.path), error=str(exc))) from exc
            self._holder = _holder(str(exc))
            return None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for this thread; nested calls share it, the outermost closes it."""
        con = getattr(self._local, "con", None)
        if con is not None:
            self._local.depth += 1
            try:
                yield con
            finally:
                self._local.depth -= 1
            return
        con = self._open()
        self._local.con, self._local.depth = con, 1
        done = False
        try:
            yield con
            done = True
        finally:
            self._local.con, self._local.depth = None, 0
            if done:
                self._keeper.keep()  # before closing: the database stays open for the next connection
            else:  # after an error the next connection opens the file afresh
                self._keeper.let_go()
            try:
                con.close()
            except duckdb.Error as exc:
                # Closing folds the write-ahead log into the file; what committed is in the log
                # either way, and the next connection folds it in once there is room.
                if not is_disk_full(exc):
                    raise

    def let_go(self) -> None:
        """Close the keeper now: the file is free once no connection of this process is open."""
        self._keeper.let_go()

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction that bumps the data version (unless `bump` is False: a write no
        number depends on, such as a user's language); all or nothing."""
        with self.connect() as con:
            if getattr(self._local, "in_tx", False):
                yield con
                return
            lock = _writer_lock(self.path)
            if not lock.acquire(timeout=self.timeout):
                raise WarehouseBusy(Msg("store_busy_writing", path=str(self.path), seconds=f"{self.timeout:g}"))
            try:
                con.execute("BEGIN TRANSACTION")
                self._local.in_tx = True
                try:
                    yield con
                    if bump:
                        con.execute(
                            "UPDATE setting SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                            "WHERE key = 'data_version'"
                        )
                    con.execute("COMMIT")
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
                    self._local.in_tx = False
            finally:
                lock.release()

    def migrate(self) -> list[str]:
        """Apply the migrations in sql/migrations not yet applied; return their names."""
        applied: list[str] = []
        with self.connect() as con:
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
        with self.connect() as con:
            try:
                row = next(iter(con.execute("SELECT max(version) FROM schema_migration").fetchall()), None)
            except duckdb.CatalogException:
                return 0
        return int(row[0] or 0)

    def data_version(self) -> int:
        """A counter every committed write bumps; cached reads key on it."""
        with self.connect() as con:
            row = next(iter(con.execute("SELECT value FROM setting WHERE key = 'data_version'").fetchall()))
        return int(row[0])

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.connect() as con:
            row = next(iter(con.execute("SELECT value FROM setting WHERE key = ?", [key]).fetchall()), None)
        return row[0] if row else default


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
