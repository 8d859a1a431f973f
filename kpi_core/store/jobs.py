"""What each scheduled job last did (job_state): written after every run, read by the Admin page
and `jobs list`. Not a data change: no version bump."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from kpi_core.store.warehouse import Warehouse

COLUMNS = ("name", "last_started", "last_finished", "last_ok", "last_error", "last_summary", "runs", "failures",
           "marker", "ran_by")


@dataclass(frozen=True)
class JobState:
    name: str
    last_started: dt.datetime | None
    last_finished: dt.datetime | None
    last_ok: bool | None
    last_error: str | None
    last_summary: str | None
    runs: int
    failures: int
    marker: str | None
    ran_by: str | None


def me() -> str:
    """This process, as job_state names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def record(wh: Warehouse, name: str, *, started: dt.datetime, finished: dt.datetime, ok: bool,
           summary: str | None = None, error: str | None = None) -> None:
    """Note one run of a job."""
    with wh.transaction(bump=False) as con:
        con.execute(
            "INSERT INTO job_state (name, last_started, last_finished, last_ok, last_error, last_summary, runs, "
            "failures, ran_by) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "last_started = excluded.last_started, last_finished = excluded.last_finished, "
            "last_ok = excluded.last_ok, last_error = excluded.last_error, last_summary = excluded.last_summary, "
            "runs = job_state.runs + 1, failures = job_state.failures + excluded.failures, ran_by = excluded.ran_by",
            [name, started, finished, ok, error, summary, 0 if ok else 1, me()])


def marker(wh: Warehouse, name: str) -> str | None:
    """A job's bookmark (None before its first)."""
    with wh.read() as con:
        rows = con.execute("SELECT marker FROM job_state WHERE name = ?", [name]).fetchall()
    return rows[0][0] if rows else None


def set_marker(wh: Warehouse, name: str, value: str) -> None:
    with wh.transaction(bump=False) as con:
        con.execute("INSERT INTO job_state (name, marker) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "marker = excluded.marker", [name, value])


def states(wh: Warehouse) -> list[JobState]:
    """Every job that has run or been bookmarked, by name."""
    with wh.connect() as con:
        rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM job_state ORDER BY name").fetchall()
    return [JobState(*r) for r in rows]
