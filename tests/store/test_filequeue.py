"""Waiting for the warehouse file: first come, first served, across processes, and a waiter that
dies leaves no ticket that blocks the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from kpi_core.model.config import PROJECT_ROOT
from kpi_core.store import filequeue

# A process that waits for the file, says when it is in, holds it a moment (or, given a path, until
# that file exists: the holder lets go only once the waiters are queued, however slowly they start)
# and leaves.
WAITER = textwrap.dedent("""
    import os, sys, time
    from kpi_core.store.warehouse import Warehouse
    wh = Warehouse(sys.argv[1], timeout=60)
    print("waiting", flush=True)
    with wh.connect():
        print("in", sys.argv[2], time.monotonic(), flush=True)
        hold, deadline = sys.argv[3], time.monotonic() + 60
        if hold.endswith(".release"):
            while not os.path.exists(hold) and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            time.sleep(float(hold))
""")


def start(path, name: str, hold: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", WAITER, str(path), name, str(hold)], cwd=PROJECT_ROOT,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "waiting"
    return p


def queued(path) -> int:
    folder = path.with_name(path.name + ".queue")
    return sum(1 for n in os.listdir(folder) if not n.startswith(".")) if folder.exists() else 0


def wait_for_queue(path, n: int) -> None:
    deadline = time.monotonic() + 30
    while queued(path) < n:
        assert time.monotonic() < deadline, f"{queued(path)} waiting, not {n}"
        time.sleep(0.02)


def test_waiters_get_the_file_in_the_order_they_came(wh_path, tmp_path):
    release = tmp_path / "holder.release"
    holder = start(wh_path, "holder", release)
    assert holder.stdout.readline().startswith("in holder")
    waiters = []
    for i in range(5):
        waiters.append(start(wh_path, f"w{i}", 0.05))
        wait_for_queue(wh_path, i + 1)  # w{i} has its ticket before the next one comes
    release.touch()
    entered = sorted((float(line.split()[2]), line.split()[1]) for line in (p.stdout.readline() for p in waiters))
    assert all(p.wait(timeout=60) == 0 for p in waiters) and holder.wait(timeout=60) == 0
    assert [name for _, name in entered] == [f"w{i}" for i in range(5)]
    assert queued(wh_path) == 0


def test_a_killed_waiter_does_not_hold_up_the_queue(wh_path, tmp_path):
    release = tmp_path / "holder.release"
    holder = start(wh_path, "holder", release)
    assert holder.stdout.readline().startswith("in holder")
    doomed = start(wh_path, "doomed", 0)
    wait_for_queue(wh_path, 1)
    later = start(wh_path, "later", 0)
    wait_for_queue(wh_path, 2)
    os.kill(doomed.pid, signal.SIGKILL)  # its ticket stays behind, no longer held
    doomed.wait()
    release.touch()
    line = later.stdout.readline()
    assert line.startswith("in later"), line
    assert later.wait(timeout=60) == 0 and holder.wait(timeout=60) == 0
    assert queued(wh_path) == 0  # the dead ticket was cleared by the waiter behind it


def test_a_ticket_is_first_only_when_no_live_ticket_is_older(tmp_path):
    folder = tmp_path / "q"
    with filequeue.Ticket(folder) as a:
        with filequeue.Ticket(folder) as b:
            assert a.first() and not b.first() and filequeue.waiting(folder)
        assert a.first()
    assert not filequeue.waiting(folder)


@pytest.mark.parametrize(("tickets", "first", "writer_waits"), [
    # (who came, in order), which of them may try now, whether a writer waits
    (["r", "r", "r"], [True, True, True], False),    # readers do not queue behind readers
    (["w", "r", "r"], [True, False, False], True),   # readers behind a writer wait for it
    (["r", "w", "r"], [True, False, False], True),   # the writer waits for the reader ahead; the one after waits too
    (["r", "r", "w"], [True, True, False], True),
    (["w", "w", "r"], [True, False, False], True),
])
def test_readers_pass_readers_but_not_a_writer(tmp_path, tickets, first, writer_waits):
    folder = tmp_path / "q"
    held = [filequeue.Ticket(folder, reader=kind == "r") for kind in tickets]
    try:
        assert [t.first() for t in held] == first
        assert filequeue.waiting(folder, writers=True) == writer_waits
        assert filequeue.waiting(folder)
    finally:
        for t in held:
            t.close()
    assert not filequeue.waiting(folder)
