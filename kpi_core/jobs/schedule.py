"""The jobs and how often each runs (settings as data), and the scheduler the app starts."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from kpi_core.jobs import subscriptions, warm
from kpi_core.jobs.scheduler import Job, Scheduler
from kpi_core.model.config import today
from kpi_core.query import forecast
from kpi_core.services import actions, alerts, delivery
from kpi_core.store import jobs as job_store
from kpi_core.store import subscriptions as sub_store
from kpi_core.store.warehouse import Warehouse

log = logging.getLogger(__name__)


def after_imports(wh: Warehouse, now: dt.datetime) -> str | None:
    """A new import batch since the last look (from any process: the app, the CLI, a database
    import): work out the pages' default places (`warm`: the first viewer finds them kept), check
    the alert rules, send the after-import subscriptions, then make the period-end forecasts of
    the company and its children ahead (at most forecast.WARM_LIMIT)."""
    with wh.read() as con:
        newest = sub_store.newest_batch(con)
    seen = job_store.marker(wh, "imports")
    if newest is None or (seen is not None and int(seen) >= newest):
        return None
    try:  # first: a viewer may open the cockpit right after the import (the check reuses these values)
        warmed = warm.warm(wh, today()).summary()
    except Exception:  # noqa: BLE001 - warming is a saving of time, never a reason for the job to fail
        log.warning("page warming failed", exc_info=True)
        warmed = "page warming failed"
    events = alerts.check(wh, now=now, today=today())
    sent = subscriptions.run_due(wh, now, today=today())
    job_store.set_marker(wh, "imports", str(newest))
    try:
        made = forecast.warm(wh, today())
    except Exception:  # noqa: BLE001
        log.warning("forecast warming failed", exc_info=True)
        made = 0
    return f"batch {newest}: {len(events)} alert events, {warmed}, {len(sent)} subscriptions, {made} forecasts"


def new_import(wh: Warehouse) -> str | None:
    """"imports" when a batch newer than the imports job's bookmark is loaded (the scheduler's
    watch asks this when the file changed; a short wait, as the importer may still hold it)."""
    quick = Warehouse(wh.path, timeout=2.0)
    with quick.read() as con:  # read-only: app processes reading beside it need not step aside
        newest = sub_store.newest_batch(con)
    seen = job_store.marker(quick, "imports")
    return "imports" if newest is not None and (seen is None or int(seen) < newest) else None


def check_alerts(wh: Warehouse, now: dt.datetime) -> str:
    """Every rule on a schedule too: due days pass and snoozes end without an import."""
    return f"{len(alerts.check(wh, now=now, today=today()))} events"


def deliver(wh: Warehouse, now: dt.datetime) -> str:
    r = delivery.deliver_due(wh, now)
    return f"{len(r.sent)} sent, {len(r.retrying)} to retry, {len(r.dead)} dead"


def reminders(wh: Warehouse, now: dt.datetime) -> str:
    return f"{len(actions.remind_overdue(wh, now))} reminders"


def send_subscriptions(wh: Warehouse, now: dt.datetime) -> str:
    return f"{len(subscriptions.run_due(wh, now, today=today()))} sent"


JOBS = (
    Job("imports", dt.timedelta(seconds=15), after_imports),
    Job("deliver", dt.timedelta(seconds=20), deliver),
    Job("subscriptions", dt.timedelta(minutes=1), send_subscriptions),
    Job("alerts", dt.timedelta(minutes=10), check_alerts),
    Job("reminders", dt.timedelta(hours=1), reminders),
)

_started: dict[str, Scheduler] = {}
_lock = threading.Lock()


def nudge(wh: Warehouse) -> bool:
    """An import just committed in this process: run the `imports` job now (alerts, warming,
    subscriptions) rather than within its interval. False when no scheduler here leads."""
    with _lock:
        s = _started.get(str(wh.path.resolve()))
    return s is not None and s.soon("imports")


def start(wh: Warehouse) -> Scheduler:
    """The scheduler of this process for the warehouse file, started once."""
    with _lock:
        key = str(wh.path.resolve())
        if key not in _started:
            s = Scheduler(wh, JOBS, watch=new_import)
            s.start()
            _started[key] = s
        return _started[key]
