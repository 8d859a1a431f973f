"""How this process holds a warehouse file open between connections (one Keeper per file).

The keeper: after a thread's last read-only connection closes, an idle connection keeps the
database open for `LINGER` seconds, so the next read costs no open (15 ms on an idle machine,
50–100 ms on a busy one). It lets go at once when another process queues to write, and is never
kept over unfolded writes (a write-ahead log beside the file), so the file alone is then the
whole warehouse and a copy of it is complete.

The openings: DuckDB keeps one database per file per process, read-only or read-write, and
refuses a connection of the other kind while any is open. `Keeper.enter` reserves each
connection's kind: readers share a read-only database (and so read beside other processes),
a writer waits until this process's readers are done, and readers wait for a waiting writer.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from pathlib import Path

import duckdb

from kpi_core.model.errors import WarehouseBusy
from kpi_core.model.messages import Msg
from kpi_core.store import filequeue

LINGER = 5.0   # seconds the database stays open after its last use in this process (0: close at once)
CALM = 2.0     # ... but not while processes contend for it (5 times within this many seconds): as before
_POLL = 0.025  # how often a kept database looks for processes queueing for the file
_GUARD = threading.Lock()


class Keeper:
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
        # How this process has the file open (see the module docstring): "ro" or "rw" while count > 0.
        self.opened = threading.Condition()
        self.kind: str | None = None
        self.count = 0
        self.writers = 0  # threads waiting to open it read-write
        self.readers: dict[int, int] = {}  # thread id → its read-only connections (to refuse a write among them)
        self.commits = 0  # version-bumping transactions this process committed to the file

    def enter(self, write: bool, timeout: float) -> bool:
        """Reserve a connection of this process to the file; True when it is to open read-only."""
        me, deadline = threading.get_ident(), time.monotonic() + timeout
        if self.readers.get(me):  # this thread reads read-only already (through another Warehouse)
            if write:
                raise RuntimeError("a write inside Warehouse.read() of the same thread: open the transaction first")
            with self.opened:  # ahead of any writer, who waits for this thread's reading to end
                self.count += 1
                self.readers[me] += 1
                return True
        with self.opened:
            self.writers += write
        try:
            while True:
                with self.opened:
                    if ((self.count == 0 and (write or not self.writers)) or self.kind == "rw"
                            or (self.kind == "ro" and not write and not self.writers)):
                        if self.count == 0:
                            self.kind = "rw" if write or not self.path.exists() else "ro"
                        self.count += 1
                        if self.kind == "ro":
                            self.readers[me] = self.readers.get(me, 0) + 1
                        return self.kind == "ro"
                    kept = write and self.con is not None
                if kept:  # the keeper's read-only database must close before this process writes
                    self.let_go()
                if time.monotonic() > deadline:
                    raise WarehouseBusy(Msg("store_busy_writing", path=str(self.path), seconds=f"{timeout:g}"))
                with self.opened:
                    self.opened.wait(0.05)
        finally:
            with self.opened:
                self.writers -= write
                self.opened.notify_all()

    def join(self) -> bool:
        """The keeper's own connection: only beside an open read-only one, never ahead of a writer."""
        with self.opened:
            if self.count == 0 or self.kind != "ro" or self.writers:
                return False
            self.count += 1
            return True

    def leave(self, read_only: bool, thread: int | None) -> None:
        """After a connection of this process closed (not before: the database closes with the last one)."""
        with self.opened:
            self.count -= 1
            if read_only and thread is not None:
                left = self.readers.get(thread, 0) - 1
                if left > 0:
                    self.readers[thread] = left
                else:
                    self.readers.pop(thread, None)
            if self.count == 0:
                self.kind = None
            self.opened.notify_all()

    def file_state(self) -> tuple | None:
        """The file as the file system sees it, and whether a write-ahead log is beside it."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, os.path.exists(f"{self.path}.wal")

    def keep(self, read_only: bool) -> None:
        """After a thread's outermost connection (still open): keep the database open for LINGER
        seconds, unless writes wait in the log to be folded into the file, another process waits for
        the file, or a writer of this process waits for the read-only database to close. Only a
        read-only one: a kept read-write database would hold other processes' readers off, and the
        reads of this process would join it instead of reading beside them."""
        with self.lock:
            state = self.file_state()
            if (LINGER <= 0 or not read_only or state is None or state[-1]  # state[-1]: writes wait in the log
                    or self.contended() or self.resting()):
                self._drop()
                return
            if self.con is None:
                if not self.join():
                    return
                try:  # the database is open: no wait, no cost
                    self.con = duckdb.connect(str(self.path), read_only=True)
                except duckdb.Error:
                    self.leave(True, None)
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
        """Whether a process queues to write the file now (noted); readers read beside this one."""
        if filequeue.waiting(self.queue, writers=True):
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
            self.leave(True, None)


_KEEPERS: dict[str, Keeper] = {}


def keeper(path: Path) -> Keeper:
    with _GUARD:
        return _KEEPERS.setdefault(str(path.resolve()), Keeper(path))


@atexit.register
def _let_go_at_exit() -> None:
    for keeper in list(_KEEPERS.values()):
        keeper.let_go()
