"""After the scores (SPEC §10): a review meeting's notes, an improvement plan whose items are
action items with follow-up dates (origin `review:CYCLE:SUBJECT`), and a retrospective per unit
and period: what was red, the actions taken with their notes, and how each KPI moved since its
action opened. Notes and plan items are for those who run the review; the person reads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kpi_core.model import access
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.periods import parse_period
from kpi_core.query.api import context
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.services import actions
from kpi_core.services import review_results as results
from kpi_core.services.review_results import check_read
from kpi_core.store import audit
from kpi_core.store import reviews as store
from kpi_core.store.actions import Action
from kpi_core.store.actions import text as checked_text
from kpi_core.store.warehouse import Warehouse

MAX_NOTE = 4000


def plan_origin(cycle: str, subject: str) -> str:
    return f"review:{cycle}:{subject}"


def _subject(wh: Warehouse, name: str, subject: str) -> tuple[str, object]:
    tree, _ = context(wh)
    with wh.read() as con:
        cycle = store.get(con, name)
    code = tree.resolve(subject)
    if code not in set(tree.subtree(cycle.org)):
        raise ValidationFailed(Msg("review_outside_cycle", unit=code, name=name, org=cycle.org))
    return code, cycle


def add_note(wh: Warehouse, name: str, subject: str, note: str, *, by: str | Actor = "admin") -> int:
    """A meeting note on a person or unit of the cycle (those who run its review there); audited."""
    actor = as_actor(by)
    code, _cycle = _subject(wh, name, subject)
    access.check(actor, context(wh)[0], "reviews", code)
    text = checked_text(note, "review_note_required", MAX_NOTE)  # nothing visible is nothing
    with wh.transaction(bump=False) as con:
        note_id = store.add_note(con, name, code, text, actor.name)
        audit.record(con, actor.name, "note", "review", f"{name}:{code}", after={"id": note_id, "note": text})
    return note_id


def notes(wh: Warehouse, name: str, subject: str, *, by: str | Actor = "admin") -> list[dict]:
    """The meeting notes of a person or unit, for whoever may read their review."""
    actor = as_actor(by)
    code, _cycle = _subject(wh, name, subject)
    check_read(actor, context(wh)[0], code)
    with wh.read() as con:
        return store.notes(con, name, code)


def add_plan_item(wh: Warehouse, name: str, subject: str, *, metric: str, owner: str, due: dt.date, title: str,
                  by: str | Actor = "admin", today: dt.date | None = None) -> Action:
    """An improvement plan item: an action item on one of the subject's KPIs at the cycle's
    period, followed up by its due date like any action (reminders, closing note)."""
    actor = as_actor(by)
    code, cycle = _subject(wh, name, subject)
    access.check(actor, context(wh)[0], "reviews", code)
    return actions.open_action(wh, metric=metric, org=code, owner=owner, due=due, title=title, period=cycle.period,
                               origin=plan_origin(name, code), by=actor, today=today)


def plan(wh: Warehouse, name: str, subject: str, *, by: str | Actor = "admin") -> list[Action]:
    """The subject's improvement plan in the cycle, for whoever may read their review."""
    actor = as_actor(by)
    code, _cycle = _subject(wh, name, subject)
    check_read(actor, context(wh)[0], code)
    origin = plan_origin(name, code)
    return [a for a in actions.visible_actions(wh, org=code, by=actor) if a.origin == origin]


@dataclass
class Retrospective:
    org: str
    period: str
    red: list[dict]                                   # the scorecard's red lines at the period
    taken: list[tuple[Action, actions.Movement]]      # actions on the unit's subtree opened in the period


def retrospective(wh: Warehouse, org: str, period: str, *, by: str | Actor = "admin",
                  today: dt.date | None = None) -> Retrospective:
    """What was red on the unit's scorecard at `period`, the actions taken on its subtree opened
    in that period (their notes and status), and how each KPI moved since its action opened."""
    actor, today = as_actor(by), today or dt.date.today()
    tree, _ = context(wh)
    code = tree.resolve(org)
    access.check(actor, tree, "read", code)
    p = parse_period(period)
    months = {m.label for m in p.months()}
    card = unit_scorecard(wh, tree, code, p.label, actor=actor, today=today)
    red = [it for it in card.items if it["status"] == "red"]
    taken = [a for a in actions.visible_actions(wh, org=code, by=actor, tree=tree)
             if {m.label for m in parse_period(a.period).months()} & months]
    return Retrospective(code, p.label, red, [(a, actions.movement(wh, a, today, actor=actor)) for a in taken])


def packet(wh: Warehouse, name: str, subject: str, *, by: str | Actor = "admin", lang: str = "zh",
           today: dt.date | None = None) -> dict:
    """The review packet's data (review_results.packet) with the meeting notes and the
    improvement plan: what a packet prints."""
    data = results.packet(wh, name, subject, by=by, lang=lang, today=today)
    data["notes"] = [n["note"] for n in notes(wh, name, data["subject"], by=by)]
    data["plan"] = [{"title": a.title, "metric": a.metric, "owner": a.owner, "due": a.due.isoformat(),
                     "status": a.status, "note": a.note or ""} for a in plan(wh, name, data["subject"], by=by)]
    return data
