"""Checking the alert rules (SPEC §9): judge every enabled rule on its metrics × units, move each
state (ok → firing → acknowledged → resolved, re-armed), and queue what each recipient is told.

A check reads the numbers first, outside any transaction; then one transaction moves the states
from what they are at that moment (so two checks at once never tell anything twice), logs the
events and writes the notices. Delivery over the network happens later (services/delivery.py).
Run twice on unchanged data, the second check finds nothing new and sends nothing."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from kpi_core.model.alert import AlertRule, transition
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.query.api import context, latest_month
from kpi_core.services.alert_conditions import Judgement, evaluate
from kpi_core.services.alert_recipients import (
    DEFAULT_LANG,
    Person,
    Told,
    channels_of,
    failure_notice,
    for_channels,
    for_people,
    people_for,
    staff,
)
from kpi_core.store import alerts as store
from kpi_core.store.outbox import notify_channel, notify_user
from kpi_core.store.warehouse import Warehouse
from kpi_core.store.warehouse import now as clock

log = logging.getLogger(__name__)
MAX_ERROR = 500  # characters of a failing rule's error kept and told


@dataclass(frozen=True)
class Event:
    """A transition one check made: a rule × metric × unit began firing or resolved."""

    id: int            # the state's id (what `alerts ack ID` takes)
    rule: str
    metric: str
    org: str
    period: str | None
    state: str         # firing | resolved
    reason: Msg | None
    value: float | None

    def as_dict(self) -> dict:
        """As `alerts check --format json` prints it."""
        return {"rule": self.rule, "metric": self.metric, "org": self.org, "period": self.period,
                "state": self.state, "reason": None if self.reason is None else str(self.reason)}


def check(wh: Warehouse, *, now: dt.datetime | None = None, today: dt.date | None = None) -> list[Event]:
    """Evaluate every enabled rule and return the events of this check (see the module's text)."""
    at = now or clock()
    today = today or at.date()
    rules = {code: r for code, r in store.current_rules(wh).items() if r.enabled}
    if not rules:
        return []
    tree, metrics = context(wh)
    latest = latest_month(wh, today)
    judged: dict[str, list[Judgement]] = {}
    failed: dict[str, str] = {}
    for code, rule in rules.items():
        try:
            judged[code] = evaluate(wh, rule, tree, metrics, today=today, latest_month=latest)
        except Exception as exc:  # noqa: BLE001 — one broken rule must not stop the others; the admins hear of it
            log.warning("alert rule %s failed", code, exc_info=True)
            failed[code] = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    people, langs = staff(wh), store.channel_langs(wh)
    with wh.transaction(bump=False) as con:
        events, told = _advance(con, rules, judged, at, today, tree, metrics, people)
        _failures(con, set(rules), judged, failed, at, people)
        for name, notice in for_people([(t, users) for t, users, _ in told], people, tree, metrics):
            notify_user(con, name, notice, now=at)
        for channel, notice in for_channels([(t, chans) for t, _, chans in told], langs, tree, metrics):
            notify_channel(con, channel, notice, now=at)
    return events


def _advance(con, rules: dict[str, AlertRule], judged: dict[str, list[Judgement]], at: dt.datetime,
             today: dt.date, tree: OrgTree, metrics: dict[str, Metric],
             people: dict[str, Person]) -> tuple[list[Event], list[tuple[Told, list[str], list[str]]]]:
    """Move each judged state one step (store.alerts), inside the caller's transaction; returns
    the events and what to tell whom (users, channels)."""
    states = store.states_in(con)
    events, told = [], []
    for code, judgements in judged.items():
        rule = rules[code]
        for j in judgements:
            s = states.get((code, j.metric, j.org))
            step = transition(s.state if s else None, j.holds, snoozed=bool(s and s.snoozed(today)),
                              last_notified_at=s.last_notified_at if s else None,
                              renotify=rule.renotify_after, at=at)
            if s is None:
                s = store.new_state(con, code, j.metric, j.org, step.state, period=j.period, value=j.value,
                                    reason=j.reason, at=at)
                before = None
            else:
                before = (s.state, s.period, s.value, store.reason_json(s.reason), s.last_notified_at)
            if step.state != s.state:
                s.since = at
            if step.event == "firing":  # a new firing: nothing told yet, nobody has acknowledged it
                s.last_notified_at, s.acked_by, s.acked_at = None, None, None
            if step.notify:
                s.last_notified_at = at
            s.state, s.period, s.value, s.reason = step.state, j.period, j.value, j.reason
            if before != (s.state, s.period, s.value, store.reason_json(s.reason), s.last_notified_at):
                s.checked_at = at
                store.save_state(con, s)
            if step.event:
                store.add_event(con, s, step.event, at)
                events.append(Event(s.id, code, j.metric, j.org, j.period, step.event, j.reason, j.value))
            if step.notify:
                t = Told(code, j.metric, j.org, j.period, "firing" if step.state == "firing" else "resolved",
                         j.reason, j.value, repeat=step.event is None)
                told.append((t, people_for(rule, metrics.get(j.metric), j.org, tree, people), channels_of(rule)))
    return events, told


def _failures(con, enabled: set[str], judged: dict[str, list[Judgement]], failed: dict[str, str],
              at: dt.datetime, people: dict[str, Person]) -> None:
    """Record failing rules and tell every admin once per failure (not on every check); a rule
    that evaluates again, or is no longer checked, stops counting as failing."""
    for code in store.failures_in(con):
        if code in judged or code not in enabled:
            store.clear_failure(con, code)
    for code, error in failed.items():
        if store.set_failure(con, code, error, at):
            for admin in store.admins_in(con):
                lang = people[admin].lang if admin in people else DEFAULT_LANG
                notify_user(con, admin, failure_notice(code, error, lang), now=at)


def check_quietly(wh: Warehouse, *, today: dt.date | None = None) -> tuple[list[Event], str | None]:
    """A check after an import: its events, or the reason it could not run — a failed check never
    turns the import that triggered it into a failure."""
    try:
        return check(wh, today=today), None
    except Exception as exc:  # noqa: BLE001 — the import is done; the check's trouble is only reported
        log.warning("alert check after import failed", exc_info=True)
        return [], f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
