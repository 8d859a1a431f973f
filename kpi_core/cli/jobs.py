"""kpi jobs: what runs on its own — list the jobs and how they last went, run one now, or serve
them in the foreground (for a server that runs no app)."""

from __future__ import annotations

import datetime as dt
import signal
import threading

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.jobs.schedule import JOBS
from kpi_core.jobs.scheduler import Scheduler
from kpi_core.model import access
from kpi_core.store import jobs as job_store


@main.group("jobs")
def jobs_group() -> None:
    """The scheduled jobs: alert checks, deliveries, subscriptions, reminders (started with the app)."""


@jobs_group.command("list")
@format_option
@click.pass_context
def jobs_list(ctx) -> None:
    """Each job, how often it runs, and how its last run went."""
    access.require(actor_of(ctx), "settings")
    state = {s.name: s for s in job_store.states(warehouse_of(ctx))}
    rows = []
    for job in JOBS:
        s = state.get(job.name)
        rows.append({"name": job.name, "every_seconds": int(job.every.total_seconds()),
                     "last_started": s.last_started.isoformat() if s and s.last_started else None,
                     "last_ok": s.last_ok if s else None, "last_error": s.last_error if s else None,
                     "last_summary": s.last_summary if s else None, "runs": s.runs if s else 0,
                     "failures": s.failures if s else 0, "ran_by": s.ran_by if s else None})
    emit(ctx, rows, "\n".join(
        f"{r['name']:<14} every {r['every_seconds']:>5} s  last {r['last_started'] or 'never':<32} "
        f"{'ok' if r['last_ok'] else ('FAILED: ' + (r['last_error'] or '')) if r['last_ok'] is False else ''}"
        f" {r['last_summary'] or ''}".rstrip() for r in rows))


@jobs_group.command("run")
@click.argument("name", type=click.Choice([j.name for j in JOBS]))
@click.option("--now", "now_text", help="Act as if it were this moment (ISO 8601; default: now).")
@format_option
@click.pass_context
def jobs_run(ctx, name: str, now_text: str | None) -> None:
    """Run one job now (its result is recorded like a scheduled run's)."""
    access.require(actor_of(ctx), "settings")
    now = dt.datetime.fromisoformat(now_text) if now_text else None
    if now is not None and now.tzinfo is None:
        now = now.astimezone()
    summary = Scheduler(warehouse_of(ctx), JOBS).run(name, now)
    state = {s.name: s for s in job_store.states(warehouse_of(ctx))}[name]
    emit(ctx, {"name": name, "ok": state.last_ok, "summary": summary, "error": state.last_error},
         f"{name}: {summary or ''}" if state.last_ok else f"{name} failed: {state.last_error}")
    if not state.last_ok:
        ctx.exit(1)


@jobs_group.command("serve")
@click.pass_context
def jobs_serve(ctx) -> None:
    """Run the jobs on their schedule in the foreground until stopped (Ctrl-C). Only one process
    per warehouse runs them; another waits and takes over when that one stops."""
    access.require(actor_of(ctx), "settings")
    s = Scheduler(warehouse_of(ctx), JOBS)
    s.start()
    echo("jobs: running" if s.leader else "jobs: another process runs them; waiting to take over", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        s.shutdown()
