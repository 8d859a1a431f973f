"""query.cache: bounded LRU caches, one build per key at a time."""

from __future__ import annotations

import threading
import time

import pytest

from kpi_core.query import cache
from kpi_core.query.cache import Cache


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
