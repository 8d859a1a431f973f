"""The scheduler: runs the jobs on their intervals in a background thread of this process (the
app's, or `jobs serve`), for one warehouse file. Several app processes may serve one file; only
the one holding the file's jobs lock runs the jobs (the others try again every LEAD_RETRY), so a
check or a delivery never runs twice at once."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from kpi_core.store import jobs as job_store
from kpi_core.store.warehouse import Warehouse

log = logging.getLogger(__name__)
LEAD_RETRY = dt.timedelta(seconds=30)
WATCH = dt.timedelta(seconds=1)  # how often the leader looks at the file for another process's write


@dataclass(frozen=True)
class Job:
    """A job: its name, how often it runs and what it does (returns a one-line summary)."""

    name: str
    every: dt.timedelta
    run: Callable[[Warehouse, dt.datetime], str | None]


def lock_path(wh: Warehouse) -> Path:
    return wh.path.with_name(wh.path.name + ".jobs.lock")


def file_state(path: Path) -> tuple:
    """The warehouse file and its write-ahead log as the file system sees them (a stat each)."""
    out = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = os.stat(p)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scheduler:
    """Runs `jobs` for `wh` while this process leads (holds the file's jobs lock).

    `watch`, when given, is asked which job is due now whenever the file changed (every WATCH):
    an import by another process (the CLI, a cron job) is then acted on within a second or two
    instead of at the job's next interval. It only reads, so its look changes nothing."""

    def __init__(self, wh: Warehouse, jobs: Sequence[Job],
                 watch: Callable[[Warehouse], str | None] | None = None):
        self.wh = wh
        self.jobs = {j.name: j for j in jobs}
        self._watch, self._seen = watch, file_state(wh.path)
        self._lock_file = None
        self._guard = threading.Lock()   # one job at a time in this process: they share the file
        self._aps = BackgroundScheduler(timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                       "misfire_grace_time": 60})

    @property
    def leader(self) -> bool:
        return self._lock_file is not None

    def try_lead(self) -> bool:
        """Take the file's jobs lock if no other process holds it (it is let go when this one ends)."""
        if self._lock_file is None:
            f = open(lock_path(self.wh), "a+")  # noqa: SIM115 - held for the life of the process
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                return False
            self._lock_file = f
            log.info("jobs: this process (%s) runs the jobs for %s", job_store.me(), self.wh.path)
        return True

    def start(self) -> None:
        """Schedule every job (each waits for its first interval) and keep trying to lead."""
        for job in self.jobs.values():
            self._aps.add_job(self._tick, "interval", args=[job.name], id=job.name, name=job.name,
                              seconds=job.every.total_seconds())
        self._aps.add_job(self.try_lead, "interval", id="_lead", seconds=LEAD_RETRY.total_seconds())
        if self._watch is not None:
            self._aps.add_job(self.look, "interval", id="_watch", seconds=WATCH.total_seconds())
        self.try_lead()
        self._aps.start()

    def soon(self, name: str) -> bool:
        """Run the job at once in the scheduler's thread (an import just committed in this process),
        instead of at its next interval; False when this process does not lead."""
        if not (self.leader and self._aps.running):
            return False
        self._aps.modify_job(name, next_run_time=utc_now())
        return True

    def look(self) -> str | None:
        """If the file changed since the last look, run at once the job `watch` names (if any)."""
        state = file_state(self.wh.path)
        if not self.leader or self._watch is None or state == self._seen:
            return None
        self._seen = state
        try:
            due = self._watch(self.wh)
        except Exception:  # noqa: BLE001 - the file busy or being replaced: the next look tries again
            log.debug("jobs: could not look at %s", self.wh.path, exc_info=True)
            self._seen = None
            return None
        if due is not None and self.soon(due):
            return due
        return None

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _tick(self, name: str) -> None:
        if self.leader:
            self.run(name)

    def run(self, name: str, now: dt.datetime | None = None) -> str | None:
        """Run one job now and record how it went; an error is recorded and logged, not raised
        (the next interval tries again)."""
        job = self.jobs[name]
        with self._guard:
            started = utc_now()
            try:
                summary = job.run(self.wh, now or started)
            except Exception as exc:  # noqa: BLE001 - a failing job must not stop the scheduler
                log.exception("job %s failed", name)
                self._record(name, started, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
                return None
            self._record(name, started, ok=True, summary=summary)
            return summary

    def _record(self, name: str, started: dt.datetime, **kw) -> None:
        try:
            job_store.record(self.wh, name, started=started, finished=utc_now(), **kw)
        except Exception:  # noqa: BLE001 - the warehouse busy: the next run records again
            log.warning("job %s: could not record its run", name, exc_info=True)
