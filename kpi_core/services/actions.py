"""Action items (SPEC §9): opened from a red cell or an alert, with an owner and a due date,
closed with a note; who may do what, the KPI's movement since the action was opened, and
reminders to the owners of overdue actions.

Who may: a user who may change the unit — an admin anywhere, a manager or team lead within
their units' subtrees — opens, edits and closes its actions; the owner may close their own.
The owner must be an active user who can read the unit. Everyone who can read a unit sees its
actions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from kpi_core.auth import users
from kpi_core.model import access, display
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.notice import Notice
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import parse_period
from kpi_core.model.text import visible
from kpi_core.query.api import Query, context, latest_month, run
from kpi_core.store import actions as store
from kpi_core.store import prefs
from kpi_core.store.actions import Action, Baseline, NewAction
from kpi_core.store.org import tree as org_tree
from kpi_core.store.outbox import notify_user
from kpi_core.store.warehouse import Warehouse
from kpi_core.store.warehouse import now as wh_now

CELL = "cell"  # the origin of an action opened from a cell of the cockpit (a red one, as a rule)
ALERT = "alert"
ACTING_ROLES = ("manager", "team_lead")  # besides the admin: who may change a unit's actions
RANK = {"red": 0, "amber": 1, "green": 2}  # statuses that say how a KPI stands, worst first
REMIND_EVERY = dt.timedelta(days=1)  # an overdue action's owner is reminded at most this often


@dataclass(frozen=True)
class AlertRef:
    """What an alert's reference names: "alert:RULE:METRIC:ORG:PERIOD"."""

    rule: str
    metric: str
    org: str
    period: str

    def __str__(self) -> str:
        return ":".join((ALERT, self.rule, self.metric, self.org, self.period))


def parse_alert_ref(ref: str) -> AlertRef:
    """An alert reference's parts; ValidationFailed when it is not "alert:RULE:METRIC:ORG:PERIOD"."""
    parts = str(ref or "").strip().split(":")
    if len(parts) != 5 or parts[0] != ALERT or not all(p.strip() for p in parts[1:]):
        raise ValidationFailed(Msg("action_bad_alert_ref", ref=visible(ref)))
    return AlertRef(*(p.strip() for p in parts[1:]))


# --- who may -----------------------------------------------------------------------------------


def may_manage(actor: Actor, tree: OrgTree, org: str) -> bool:
    """Whether the actor may open, edit and close the unit's actions."""
    if actor.is_admin:
        return True
    if actor.role not in ACTING_ROLES:
        return False
    return any(o in tree and org in tree.subtree(o) for o in actor.orgs)


def may_close(actor: Actor, tree: OrgTree, action: Action) -> bool:
    """Those who manage the unit's actions, and the action's owner."""
    return actor.name == action.owner or may_manage(actor, tree, action.org)


def _check_manage(actor: Actor, tree: OrgTree, org: str) -> None:
    if not may_manage(actor, tree, org):
        raise AccessDenied(Msg("action_not_allowed", who=actor.describe(), unit=org))


def _check_read(actor: Actor, tree: OrgTree, action: Action) -> None:
    # Named by id only: someone who may not read the unit is not told which unit it is about.
    if not access.can(actor, tree, "read", action.org):
        raise AccessDenied(Msg("action_not_readable", who=actor.describe(), id=action.id))


def check_owner(wh: Warehouse, tree: OrgTree, owner: str, org: str) -> str:
    """The owner's user name as stored; refused unless an active user who can read the unit."""
    try:
        u = users.get(wh, owner)
    except NotFound:
        raise ValidationFailed(Msg("action_owner_unknown", owner=visible(owner))) from None
    if not u.active:
        raise ValidationFailed(Msg("action_owner_disabled", owner=u.name))
    if not access.can(u.actor(), tree, "read", org):
        raise ValidationFailed(Msg("action_owner_cannot_read", owner=u.name, unit=org))
    return u.name


def owners(wh: Warehouse, tree: OrgTree, org: str) -> list[str]:
    """The active users who can read the unit: whom an action on it may be given to."""
    return [u.name for u in users.list_users(wh) if u.active and access.can(u.actor(), tree, "read", org)]


def _check_due(due: dt.date, today: dt.date) -> dt.date:
    if not isinstance(due, dt.date):
        raise ValidationFailed(Msg("action_bad_due", due=visible(due)))
    if due < today:
        raise ValidationFailed(Msg("action_due_past", due=due.isoformat(), today=today.isoformat()))
    return due


# --- the KPI then and now ----------------------------------------------------------------------


def cell_at(wh: Warehouse, metric: str, org: str, period: str, *, today: dt.date,
            actor: Actor | None = None) -> Baseline:
    """The KPI's actual, target, attainment and status at a period, from the query API."""
    p = parse_period(period)
    cell = run(wh, Query((metric,), org=org, grain=p.grain, first=p.label, last=p.label), today=today,
               actor=actor).cells[0]
    return Baseline(cell.actual, cell.target, cell.attainment, cell.status)


@dataclass(frozen=True)
class Movement:
    """How the KPI moved since the action was opened: the baseline against the latest period with
    data at the same grain."""

    since: str                         # the period the action was opened on
    latest: str | None                 # the latest period at that grain (None: no data at all)
    then: Baseline
    now: Baseline | None
    change: float | None               # actual now − actual then
    attainment_change: float | None    # attainment now − then (fractions: 0.05 is 5 points)
    trend: str                         # better | worse | same | unknown

    def as_dict(self) -> dict:
        return asdict(self)


def latest_period(wh: Warehouse, grain: str, today: dt.date) -> str | None:
    """The latest period at `grain` holding the latest month with data."""
    month = latest_month(wh, today)
    return None if month is None else parse_period(month).to(grain).label  # type: ignore[arg-type]


def trend(then: Baseline, now: Baseline | None) -> str:
    """Better or worse by status (red, amber, green), else by attainment; unknown without both."""
    if now is None:
        return "unknown"
    if then.status in RANK and now.status in RANK and then.status != now.status:
        return "better" if RANK[now.status] > RANK[then.status] else "worse"
    if then.attainment is None or now.attainment is None:
        return "same" if then.status == now.status and then.status in RANK else "unknown"
    diff = now.attainment - then.attainment
    return "better" if diff > 0 else "worse" if diff < 0 else "same"


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def movement(wh: Warehouse, action: Action, today: dt.date, *, actor: Actor | None = None) -> Movement:
    """The KPI's movement since the action was opened (read as `actor`; None: a trusted caller)."""
    latest = latest_period(wh, parse_period(action.period).grain, today)
    try:
        now = None if latest is None else cell_at(wh, action.metric, action.org, latest, today=today, actor=actor)
    except NotFound:  # the metric or the unit is gone since: the action keeps its baseline
        latest, now = None, None
    then = action.baseline
    return Movement(action.period, latest, then, now, _minus(now and now.actual, then.actual),
                    _minus(now and now.attainment, then.attainment), trend(then, now))


# --- open, change, close -----------------------------------------------------------------------


def open_action(wh: Warehouse, *, metric: str, org: str, owner: str, due: dt.date, title: str,
                period: str | None = None, origin: str = CELL, by: str | Actor = "admin",
                today: dt.date | None = None) -> Action:
    """Open an action on a metric × unit (at `period`, default the latest month with data), with
    the KPI's baseline at that period read from the query API."""
    actor, today = as_actor(by), today or dt.date.today()
    tree, metrics = context(wh)
    org = tree.resolve(org)
    _check_manage(actor, tree, org)
    if metric not in metrics:
        raise NotFound(Msg("action_no_metric", metric=visible(metric)))
    if period is None:
        period = latest_period(wh, "month", today)
        if period is None:
            raise ValidationFailed(Msg("action_no_data"))
    label = parse_period(period).label
    new = NewAction(metric, org, label, check_owner(wh, tree, owner, org), _check_due(due, today),
                    store.text(title, "action_title_required", store.MAX_TITLE), origin,
                    cell_at(wh, metric, org, label, today=today, actor=actor))
    return store.add(wh, new, by=actor.name, then=_tell_owner(wh, new.owner, actor, today))


def open_from_alert(wh: Warehouse, ref: str, *, owner: str, due: dt.date, title: str, by: str | Actor = "admin",
                    today: dt.date | None = None) -> Action:
    """Open an action on what an alert is about ("alert:RULE:METRIC:ORG:PERIOD")."""
    a = parse_alert_ref(ref)
    return open_action(wh, metric=a.metric, org=a.org, period=a.period, owner=owner, due=due, title=title,
                       origin=str(a), by=by, today=today)


def read(wh: Warehouse, action_id: int, *, by: str | Actor = "admin") -> Action:
    """One action, if the user can read its unit."""
    action = store.get(wh, action_id)
    _check_read(as_actor(by), org_tree(wh), action)
    return action


def edit(wh: Warehouse, action_id: int, *, by: str | Actor = "admin", owner: str | None = None,
         due: dt.date | None = None, title: str | None = None, today: dt.date | None = None) -> Action:
    """Change an open action's owner, due date or title (None: unchanged)."""
    actor, tree = as_actor(by), org_tree(wh)
    action = read(wh, action_id, by=actor)
    _check_manage(actor, tree, action.org)
    owner = None if owner is None else check_owner(wh, tree, owner, action.org)
    due = None if due is None else _check_due(due, today or dt.date.today())
    told = None if owner in (None, action.owner) else _tell_owner(wh, owner, actor, today or dt.date.today())
    return store.update(wh, action.id, by=actor.name, owner=owner, due=due, title=title, then=told)


def close(wh: Warehouse, action_id: int, *, note: str, by: str | Actor = "admin") -> Action:
    """Close an action with its note (root cause and what was done): by those who manage the
    unit's actions, or by its owner."""
    actor, tree = as_actor(by), org_tree(wh)
    action = read(wh, action_id, by=actor)
    if not may_close(actor, tree, action):
        raise AccessDenied(Msg("action_not_allowed_close", who=actor.describe(), id=action.id))
    return store.close(wh, action.id, by=actor.name, note=note)


def visible_actions(wh: Warehouse, *, by: str | Actor = "admin", org: str | None = None, open_only: bool = False,
                    overdue_on: dt.date | None = None, owner: str | None = None,
                    limit: int | None = None, tree: OrgTree | None = None) -> list[Action]:
    """The actions the user can read: on `org`'s subtree when given (refused if they may not read
    it), else on every unit they read; open ones first, the soonest due first. `tree`: the org
    tree the caller holds already (a page's cached one), else read."""
    actor, tree = as_actor(by), tree or org_tree(wh)
    readable = access.units(actor, tree, "read")
    if org is not None:
        org = tree.resolve(org)
        access.check(actor, tree, "read", org)
        units = [u for u in tree.subtree(org) if readable is None or u in readable]
    else:
        units = None if readable is None else sorted(readable)
    return store.list_actions(wh, units=units, open_only=open_only, overdue_on=overdue_on, owner=owner, limit=limit)


# --- telling the owner ---------------------------------------------------------------------------


def _kpi_line(code: str, period: str | None, b: Baseline | None, unit: str | None, lang: str) -> Msg:
    """The KPI at a point, its value in the metric's unit as the reader's language writes it."""
    if period is None or b is None:
        return Msg("action_line_no_data")
    return Msg(code, period=period, actual=display.value(b.actual, unit, lang),
               attainment=display.attainment(b.attainment), status=Msg(f"ui_status_{b.status}"))


def notice_for(action: Action, subject: str, lang: str, tree: OrgTree, metrics: dict, move: Movement | None,
               today: dt.date) -> Notice:
    """What the owner is told about an action, in their language (they can read its unit): the
    KPI, the due date, the KPI when opened and, given the movement, now."""
    m = metrics.get(action.metric)
    lines = [Msg("action_line_kpi", metric=m.display_name(lang) if m else action.metric,
                 unit=f"{tree.units[action.org].name} ({action.org})" if action.org in tree else action.org),
             Msg("action_line_due_overdue", due=action.due.isoformat(), days=(today - action.due).days)
             if action.overdue(today) else Msg("action_line_due", due=action.due.isoformat()),
             _kpi_line("action_line_then", action.period, action.baseline, m.unit if m else None, lang)]
    if move is not None:
        lines.append(_kpi_line("action_line_now", move.latest, move.now, m.unit if m else None, lang))
    return Notice("action", Msg(subject, id=action.id, title=action.title).render(lang),
                  "\n".join(x.render(lang) for x in lines), ref=f"action:{action.id}",
                  link=f"actions?org={action.org}&action={action.id}")


def _owner_notice(wh: Warehouse, action: Action, subject: str, today: dt.date) -> tuple[str, str, Notice] | None:
    """(owner, language, notice) for an action's owner, or None when they are no longer an active
    user who can read its unit (then nothing about it is sent to them)."""
    tree, metrics = context(wh)
    try:
        owner = users.get(wh, action.owner)
    except NotFound:
        return None
    if not owner.active or not access.can(owner.actor(), tree, "read", action.org):
        return None
    lang = prefs.get(wh, owner.name, "lang") or "zh"
    move = movement(wh, action, today, actor=owner.actor())
    return owner.name, lang, notice_for(action, subject, lang, tree, metrics, move, today)


def remind_overdue(wh: Warehouse, now: dt.datetime | None = None) -> list[dict]:
    """Tell the owner of each open action past its due date, at most once a day (REMIND_EVERY):
    their inbox, and e-mail where they have an address. Returns what was sent. The messages are
    rendered first, then written in one transaction; delivery happens later, outside it."""
    now = now or wh_now()
    now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    today = now.date()
    plans = []
    for action in store.list_actions(wh, overdue_on=today):
        if action.last_reminded_at is not None and action.last_reminded_at > now - REMIND_EVERY:
            continue
        planned = _owner_notice(wh, action, "action_overdue_subject", today)
        if planned is not None:
            plans.append((action, *planned))
    sent: list[dict] = []
    if not plans:
        return sent
    with wh.transaction(bump=False) as con:
        for action, owner, lang, notice in plans:
            if store.claim_reminder(con, action.id, at=now, every=REMIND_EVERY):
                ids = notify_user(con, owner, notice, now=now)
                sent.append({"action": action.id, "owner": owner, "lang": lang, "subject": notice.subject,
                             "messages": ids})
    return sent


def _tell_owner(wh: Warehouse, owner: str, actor: Actor, today: dt.date) -> store.Then:
    """What tells an action's new owner it is theirs, written with the action (nobody is told of
    an action they gave themselves). Their language and the names are read now, before the write."""
    if owner == actor.name:
        return None
    tree, metrics = context(wh)
    lang = prefs.get(wh, owner, "lang") or "zh"

    def tell(con, action: Action) -> None:
        notify_user(con, owner, notice_for(action, "action_assigned_subject", lang, tree, metrics, None, today),
                    now=wh_now())

    return tell
