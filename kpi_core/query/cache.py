"""Per-process caches of what queries compute, each bounded and evicting the least recently used.

Every key that depends on data includes a `Stamp`: the warehouse file's identity and its data
version, which each write bumps. A stale entry is never read again: when a process first sees a
newer version of a file, `retire` drops that file's older entries from every cache at once, so
memory held for old versions is given back at the next import rather than when the bounds push
it out. No cache is cleared wholesale, so a busy process keeps its hot entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, Protocol, TypeVar

V = TypeVar("V")


class Stamp(NamedTuple):
    """A warehouse file (path and inode: a file rebuilt at the same path starts its version again)
    at one data version; part of every data-dependent key."""

    file: str
    version: int


class Scope(NamedTuple):
    """What is kept for one subject of a warehouse file (a metric's facts, a dataset's rows; ""
    for what only a broad write changes): the base version and the subject's own version. Unlike a
    `Stamp` it outlives writes to other subjects, so an upload of one metric's actuals leaves every
    other metric's values kept."""

    file: str
    base: int
    subject: str
    version: int


class Now(Protocol):
    """The versions of a file as a read saw them (`store.versions.Versions`)."""

    base: int

    def of(self, subject: str) -> int: ...


_ALL: list[Cache] = []  # every cache made, for retire()


WAIT = 60.0  # seconds a thread waits for another's build of the same key before building itself


class Cache(Generic[V]):
    """A thread-safe mapping of at most `size` entries, least recently used evicted first.

    One build per key at a time (single flight): a thread that asks for a key another thread is
    building waits for that build instead of doing the same work beside it (a viewer right after
    an import waits for warm-on-write's build of the same place; both would want the same cores)."""

    def __init__(self, name: str, size: int):
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.name, self.size = name, size
        _ALL.append(self)
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, tuple[threading.Event, int]] = {}

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The value kept for `key`, built (outside the lock) and kept if there is none."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                under_way = self._building.get(key)
                if under_way is None:
                    done = threading.Event()
                    self._building[key] = (done, threading.get_ident())
                    break
            if under_way[1] == threading.get_ident():  # asked again inside its own build
                return build()
            # Another thread builds it: wait, then look again (its build may have failed, or the
            # entry been evicted at once; then this thread builds it).
            if not under_way[0].wait(WAIT):
                return build()
        try:
            value = build()
            self.put(key, value)
            return value
        finally:
            with self._lock:
                self._building.pop(key, None)
            done.set()

    def peek(self, key: Hashable) -> V | None:
        """The value kept for `key`, or None; does not count as a use."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def retire(self, now: Stamp, versions: Now | None = None) -> int:
        """Drop the entries stamped with an older version of the same file, and (given its
        `versions`) those scoped to an older base or an older version of their subject; how many."""
        with self._lock:
            old = [k for k in self._items if isinstance(k, tuple) and any(_old(part, now, versions) for part in k)]
            for k in old:
                del self._items[k]
        return len(old)

    def clear(self) -> None:
        """Forget everything (benchmarks measure a cold process this way)."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# The bounds, by what an entry holds. SQL text and facts about the warehouse are small; dataset
# values are a metric's month × unit figures (a few MB at most for the demo's largest board).
SQL_TEXT: Cache[str] = Cache("SQL text per compiled metric", 1024)
FACTS: Cache[object] = Cache("live batches, columns and partials readiness per data version", 4096)
VALUES: Cache[tuple[dict, int]] = Cache("a dataset metric's values per data version, units and periods", 512)
CONTEXT: Cache[tuple] = Cache("org tree, closure and dictionary per warehouse file", 16)
PLACES: Cache[threading.RLock] = Cache("a lock per place whose values are being worked out", 4096)


def _old(part: object, now: Stamp, versions: Now | None) -> bool:
    if isinstance(part, Stamp):
        return part.file == now.file and part.version < now.version
    if isinstance(part, Scope) and versions is not None and part.file == now.file:
        return part.base < versions.base or part.version < versions.of(part.subject)
    return False


def retire(now: Stamp, versions: Now | None = None) -> int:
    """Drop every cache's entries of older versions of `now.file`; how many."""
    return sum(c.retire(now, versions) for c in list(_ALL))


def place_lock(key: Hashable) -> threading.RLock:
    """The lock of one place (data version, units, periods): two threads working out the same
    place's values take turns, so the second finds the first one's values kept. A lock evicted
    while held only costs that single flight, never a wrong value."""
    return PLACES.get(key, threading.RLock)
