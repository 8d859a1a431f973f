"""The scheduler: jobs run on their interval and are recorded; one process per warehouse file
runs them; `serve.py` starts them with the server, before anyone opens a page."""

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpi_core.jobs import schedule
from kpi_core.jobs.scheduler import Job, Scheduler
from kpi_core.store import jobs as job_store
from kpi_core.store import subscriptions as sub_store
from kpi_core.store.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parents[2]


def ok(_wh, now):
    return f"at {now:%H:%M}"


def boom(_wh, _now):
    raise RuntimeError("the mail server is down")


def test_a_run_is_recorded_and_a_failure_does_not_raise(wh):
    s = Scheduler(wh, [Job("ok", dt.timedelta(hours=1), ok), Job("boom", dt.timedelta(hours=1), boom)])
    assert s.run("ok", dt.datetime(2026, 11, 30, 8, 5, tzinfo=dt.UTC)) == "at 08:05"
    assert s.run("boom") is None
    s.run("boom")
    state = {x.name: x for x in job_store.states(wh)}
    assert (state["ok"].last_ok, state["ok"].last_summary, state["ok"].runs) == (True, "at 08:05", 1)
    assert (state["boom"].last_ok, state["boom"].runs, state["boom"].failures) == (False, 2, 2)
    assert state["boom"].last_error == "RuntimeError: the mail server is down"


def test_jobs_run_on_their_interval(wh):
    s = Scheduler(wh, [Job("tick", dt.timedelta(seconds=0.2), ok)])
    s.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not [x for x in job_store.states(wh) if x.runs >= 3]:
            time.sleep(0.1)
    finally:
        s.shutdown()
    assert [x.runs >= 3 for x in job_store.states(wh)] == [True]


def test_soon_runs_a_job_at_once_instead_of_at_its_interval(wh):
    s = Scheduler(wh, [Job("imports", dt.timedelta(hours=1), ok)])
    assert not s.soon("imports")  # not started: nothing to run it
    s.start()
    try:
        assert s.soon("imports")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not job_store.states(wh):
            time.sleep(0.05)
    finally:
        s.shutdown()
    assert [x.runs for x in job_store.states(wh)] == [1]


def test_a_write_by_another_process_runs_the_job_the_watch_names(wh):
    asked = []
    s = Scheduler(wh, [Job("imports", dt.timedelta(hours=1), ok)], watch=lambda w: asked.append(1) or "imports")
    s.start()
    try:
        assert s.look() is None and asked == []  # the file as it was: not even asked
        other = open_warehouse(wh.path)  # stands for the CLI's import: a write to the file
        with other.transaction() as con:
            con.execute("UPDATE setting SET value = '1' WHERE key = 'fiscal_year_start'")
        other.let_go()
        wh.let_go()
        assert s.look() == "imports" and asked == [1]
        assert s.look() is None and asked == [1]  # nothing changed since
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not job_store.states(wh):
            time.sleep(0.05)
        assert [x.name for x in job_store.states(wh)] == ["imports"]
    finally:
        s.shutdown()


def test_the_watch_names_the_imports_job_until_it_has_seen_the_newest_batch(demo_path):
    wh = open_warehouse(demo_path)
    assert schedule.new_import(wh) == "imports"  # the demo's batches: never looked at
    with wh.connect() as con:
        newest = sub_store.newest_batch(con)
    job_store.set_marker(wh, "imports", str(newest))
    assert schedule.new_import(wh) is None


def test_only_one_scheduler_per_file_runs_the_jobs(wh):
    first, second = Scheduler(wh, []), Scheduler(wh, [])
    assert first.try_lead() and not second.try_lead()
    first.shutdown()  # the leader stops: the other takes over at its next try
    assert second.try_lead()
    second.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_starts_the_jobs_with_the_server_before_any_visit(demo_path):
    env = {**os.environ, "KPI_WAREHOUSE": str(demo_path), "KPI_JOBS": "on", "KPI_TODAY": "2026-11-27"}
    proc = subprocess.Popen([sys.executable, "serve.py", "--server.port", str(free_port()), "--server.headless",
                             "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wh = open_warehouse(demo_path)
        deadline = time.monotonic() + 90
        seen = []
        while time.monotonic() < deadline and not seen:
            time.sleep(2)
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            seen = [x for x in job_store.states(wh) if x.runs and x.ran_by and x.ran_by.endswith(f":{proc.pid}")]
        assert seen, "no job ran within 90 s of the server's start"
        assert all(x.last_ok for x in seen), [(x.name, x.last_error) for x in seen]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
