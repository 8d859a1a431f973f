"""query.cache: bounded LRU caches, one build per key at a time."""

from __future__ import annotations

import threading
import time

import pytest

from kpi_core.query import cache
from kpi_core.query.cache import Cache
from kpi_core.store.versions import Versions


def test_the_least_recently_used_entry_goes_first():
    c: Cache[int] = Cache("t", 2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a", lambda: 0) == 1  # a used: b is now the oldest
    c.put("c", 3)
    assert (c.peek("a"), c.peek("b"), c.peek("c")) == (1, None, 3)


def test_a_second_thread_waits_for_the_build_under_way_instead_of_building_again():
    c: Cache[int] = Cache("t", 4)
    started, builds, got = threading.Event(), [], []

    def slow():
        builds.append(threading.get_ident())
        started.set()
        time.sleep(0.3)
        return 42

    first = threading.Thread(target=lambda: got.append(c.get("k", slow)))
    first.start()
    started.wait(5)
    got.append(c.get("k", lambda: builds.append("second") or 7))
    first.join()
    assert got == [42, 42] and len(builds) == 1


def test_a_failed_build_lets_the_waiting_thread_build_it():
    c: Cache[int] = Cache("t", 4)
    started = threading.Event()

    def fails():
        started.set()
        time.sleep(0.2)
        raise RuntimeError("source down")

    errors = []
    first = threading.Thread(target=lambda: errors.append(pytest.raises(RuntimeError, c.get, "k", fails)))
    first.start()
    started.wait(5)
    assert c.get("k", lambda: 5) == 5
    first.join()
    assert len(errors) == 1


def test_a_build_that_asks_for_its_own_key_builds_it_instead_of_waiting_on_itself():
    c: Cache[int] = Cache("t", 4)
    assert c.get("k", lambda: c.get("k", lambda: 3) + 1) == 4


def test_one_place_is_worked_out_by_one_thread_at_a_time():
    key = ("file", 7, ("HQ",), ("2026-05",))
    assert cache.place_lock(key) is cache.place_lock(key)
    assert cache.place_lock(key) is not cache.place_lock(("file", 8, ("HQ",), ("2026-05",)))


A, B = "/w/a.duckdb:11", "/w/b.duckdb:12"


@pytest.mark.parametrize(("key", "kept"), [
    ((cache.Stamp(A, 4), "facts", "revenue"), False),   # an older version of the file: dropped
    (("kept", cache.Stamp(A, 3)), False),
    ((cache.Stamp(A, 5), "facts", "revenue"), True),    # the version seen now
    ((cache.Stamp(A, 6), "facts"), True),               # a newer one (another thread's later read)
    ((cache.Stamp(B, 1), "facts"), True),               # another file
    (("SELECT 1", A, 4), True),                          # no stamp: not per version
    ("plain key", True),
])
def test_retire_drops_only_older_versions_of_the_same_file(key, kept):
    c = Cache("test", 8)
    c.put(key, "value")
    assert c.retire(cache.Stamp(A, 5)) == (0 if kept else 1)
    assert (c.peek(key) is not None) == kept


NOW = Versions(data=9, base=5, subjects={"actual:revenue": 8, "dataset:orders": 9})


@pytest.mark.parametrize(("key", "kept"), [
    ((cache.Scope(A, 5, "actual:headcount", 5), "facts"), True),   # not written since the base
    ((cache.Scope(A, 5, "", 5), "thresholds"), True),              # what only a broad write changes
    ((cache.Scope(A, 5, "actual:revenue", 8), "facts"), True),     # the subject's version now
    ((cache.Scope(A, 5, "actual:revenue", 6), "facts"), False),    # written again since
    ((cache.Scope(A, 5, "dataset:orders", 5), "values"), False),
    ((cache.Scope(A, 4, "actual:headcount", 4), "facts"), False),  # an older base: a broad write since
    ((cache.Scope(A, 4, "", 4), "thresholds"), False),
    ((cache.Scope(B, 1, "actual:revenue", 1), "facts"), True),     # another file
    ((cache.Stamp(A, 8), "cockpit"), False),                       # per data version as before
    ((cache.Stamp(A, 9), "cockpit"), True),
])
def test_retire_drops_scoped_entries_of_an_older_base_or_subject(key, kept):
    c = Cache("test", 8)
    c.put(key, "value")
    c.retire(cache.Stamp(A, NOW.data), NOW)
    assert (c.peek(key) is not None) == kept


def test_a_new_data_version_releases_what_the_old_one_kept(demo_path):
    """The first query at a new version drops the old version's entries from every cache."""
    import datetime as dt

    from kpi_core.query import api
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(demo_path)
    q = api.Query(metrics=("revenue", "active_customers", "headcount"), org="HQ", scope="children",
                  first="2026-10", last="2026-10")
    api.run(wh, q, today=dt.date(2026, 11, 27))
    old = api.stamp(wh, wh.data_version())

    def stamped(version_of) -> int:
        return sum(1 for c in cache._ALL for k in list(c._items) if isinstance(k, tuple) and any(
            isinstance(p, cache.Stamp) and p.file == old.file and version_of(p.version) for p in k))

    assert stamped(lambda v: v == old.version) > 0
    with wh.transaction() as con:
        con.execute("UPDATE setting SET value = value WHERE key = 'fiscal_year_start'")  # any write bumps it
    api.run(wh, q, today=dt.date(2026, 11, 27))
    assert stamped(lambda v: v == old.version) == 0
    assert stamped(lambda v: v == old.version + 1) > 0
