"""First come, first served: the processes (and threads) waiting for the warehouse file, in order.

DuckDB admits one process to a file at a time and a waiter can only retry. Retrying alone is a
lottery: under load a newcomer often gets in ahead of someone who has waited for a minute
(10 importers + 10 readers: a worst wait of 39 s against a 60 s timeout). So a waiter takes a
ticket, a file in `<warehouse>.queue/` named by the time it arrived, and only the oldest ticket
tries the file; it gives its ticket up the moment it is in. A ticket is held under an flock by
its owner, so the ticket of a killed process is seen as such and removed by the next waiter.

Readers (read-only connections, which DuckDB lets several processes hold at once) do not queue
behind readers: a reader's ticket (named `…-r`) waits only for the writers' tickets older than
it, and a newcomer reader queues only when a writer waits. A writer waits for every older ticket,
and readers who come after it wait for it, so a stream of readers cannot keep a writer out.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

_SEQ = iter(range(1 << 62))  # tie-breaker for tickets taken in the same nanosecond
_SEQ_LOCK = threading.Lock()


class Ticket:
    """A place in the queue of `folder`; the holder's flock on it says it is still waiting."""

    def __init__(self, folder: Path, *, reader: bool = False):
        self.folder, self.reader = folder, reader
        folder.mkdir(exist_ok=True)
        with _SEQ_LOCK:
            seq = next(_SEQ)
        self.name = f"{time.time_ns():020d}-{os.getpid():08d}-{seq:06d}" + ("-r" if reader else "")
        partial = folder / f".{self.name}"
        self.fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(partial, folder / self.name)  # visible only once locked: never taken for a dead one

    def first(self) -> bool:
        """Whether no live ticket is older than this one (for a reader: no live writer's ticket;
        dead owners' tickets are cleared)."""
        for name in sorted(n for n in os.listdir(self.folder) if not n.startswith(".")):
            if name >= self.name:
                return True
            if self.reader and _is_reader(name):
                continue
            if _alive(self.folder / name):
                return False
        return True

    def close(self) -> None:
        try:
            os.unlink(self.folder / self.name)
        except FileNotFoundError:
            pass
        os.close(self.fd)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _alive(path: Path) -> bool:
    """Whether the ticket's owner still holds it; a dead owner's ticket is removed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False  # given up just now
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return False


def _is_reader(name: str) -> bool:
    return name.endswith("-r")


def waiting(folder: Path, *, writers: bool = False) -> bool:
    """Whether anyone is in the queue (a newcomer then queues too rather than pass them); with
    `writers`, anyone who waits to write (a reader passes readers)."""
    try:
        return any(not n.startswith(".") and not (writers and _is_reader(n)) for n in os.listdir(folder))
    except FileNotFoundError:
        return False
