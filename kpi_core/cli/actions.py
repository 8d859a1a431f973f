"""kpi actions: action items on a KPI (list, add, show with the KPI's movement, edit, close, remind)."""

from __future__ import annotations

import datetime as dt

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, number_text, warehouse_of
from kpi_core.model.errors import AccessDenied
from kpi_core.model.messages import Msg
from kpi_core.services import actions as service
from kpi_core.store.actions import Action


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _when(_ctx, _param, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date and time (ISO 8601)") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _line(a: Action, today: dt.date) -> str:
    late = " OVERDUE" if a.overdue(today) else ""
    return (f"#{a.id:<5} {a.status:<6} {a.metric:<24} {a.org:<14} {a.period:<8} owner {a.owner:<12} "
            f"due {a.due.isoformat()}{late}  {a.title}")


def _data(a: Action, today: dt.date) -> dict:
    return {**a.as_dict(), "overdue": a.overdue(today)}


@main.group("actions")
def actions_group() -> None:
    """Action items: opened on a KPI from an alert or a red cell, with an owner, a due date and a closing note."""


@actions_group.command("list")
@click.option("--org", help="Only actions on this unit and the units below it.")
@click.option("--open", "open_only", is_flag=True, help="Only open actions.")
@click.option("--overdue", is_flag=True, help="Only open actions past their due date.")
@click.option("--owner", help="Only this user's actions.")
@format_option
@click.pass_context
def actions_list(ctx, org: str | None, open_only: bool, overdue: bool, owner: str | None) -> None:
    """The actions you can read: open ones first, the soonest due first."""
    today = dt.date.today()
    found = service.visible_actions(warehouse_of(ctx), by=actor_of(ctx), org=org, open_only=open_only,
                                    overdue_on=today if overdue else None, owner=owner)
    emit(ctx, [_data(a, today) for a in found], "\n".join(_line(a, today) for a in found) or "(no actions)")


@actions_group.command("add")
@click.option("--metric", help="The KPI's metric code.")
@click.option("--org", help="The unit's code.")
@click.option("--owner", required=True, help="The user who carries it out (must be able to read the unit).")
@click.option("--due", required=True, callback=_date, help="Due date, YYYY-MM-DD.")
@click.option("--title", required=True, help="What will be done.")
@click.option("--period", help="The period it is about (default: the latest month with data).")
@click.option("--alert", "alert_ref", help="Open it from an alert: alert:RULE:METRIC:ORG:PERIOD "
                                           "(in place of --metric, --org and --period).")
@format_option
@click.pass_context
def actions_add(ctx, metric: str | None, org: str | None, owner: str, due: dt.date, title: str,
                period: str | None, alert_ref: str | None) -> None:
    """Open an action on a KPI, keeping the KPI as it stands at the period as its baseline."""
    wh, actor = warehouse_of(ctx), actor_of(ctx)
    if alert_ref:
        if metric or org or period:
            raise click.UsageError("--alert names the metric, unit and period: give no --metric, --org or --period")
        a = service.open_from_alert(wh, alert_ref, owner=owner, due=due, title=title, by=actor)
    else:
        if not metric or not org:
            raise click.UsageError("give --metric and --org (or --alert)")
        a = service.open_action(wh, metric=metric, org=org, owner=owner, due=due, title=title, period=period,
                                by=actor)
    emit(ctx, _data(a, dt.date.today()), f"action #{a.id} opened: {a.metric} at {a.org} ({a.period}), "
                                         f"owner {a.owner}, due {a.due.isoformat()}")


@actions_group.command("show")
@click.argument("action_id", type=int)
@format_option
@click.pass_context
def actions_show(ctx, action_id: int) -> None:
    """One action, with the KPI's movement since it was opened."""
    wh, actor, today = warehouse_of(ctx), actor_of(ctx), dt.date.today()
    a = service.read(wh, action_id, by=actor)
    move = service.movement(wh, a, today, actor=actor)
    lines = [_line(a, today), f"  origin {a.origin}, opened by {a.created_by} at {a.created_at:%Y-%m-%d %H:%M}"]
    for label, period, b in (("then", move.since, move.then), ("now ", move.latest, move.now)):
        lines.append(f"  {label} {period or '-':<8} actual {number_text(b.actual) if b else '-':>14}  attainment "
                     f"{'-' if b is None or b.attainment is None else f'{b.attainment:.1%}':>7}  "
                     f"{b.status if b else 'no_data'}")
    lines.append(f"  change {number_text(move.change)}, {move.trend}")
    if a.status == "closed":
        lines.append(f"  closed by {a.closed_by} at {a.closed_at:%Y-%m-%d %H:%M}: {a.note}")
    emit(ctx, {**_data(a, today), "movement": move.as_dict()}, "\n".join(lines))


@actions_group.command("edit")
@click.argument("action_id", type=int)
@click.option("--owner", help="A new owner.")
@click.option("--due", callback=_date, help="A new due date, YYYY-MM-DD.")
@click.option("--title", help="A new title.")
@format_option
@click.pass_context
def actions_edit(ctx, action_id: int, owner: str | None, due: dt.date | None, title: str | None) -> None:
    """Change an open action's owner, due date or title."""
    a = service.edit(warehouse_of(ctx), action_id, by=actor_of(ctx), owner=owner, due=due, title=title)
    emit(ctx, _data(a, dt.date.today()), f"action #{a.id}: owner {a.owner}, due {a.due.isoformat()}, {a.title}")


@actions_group.command("close")
@click.argument("action_id", type=int)
@click.option("--note", required=True, help="Root cause and what was done (required).")
@format_option
@click.pass_context
def actions_close(ctx, action_id: int, note: str) -> None:
    """Close an action with its note (by its owner, or whoever manages its unit)."""
    a = service.close(warehouse_of(ctx), action_id, note=note, by=actor_of(ctx))
    emit(ctx, _data(a, dt.date.today()), f"action #{a.id} closed")


@actions_group.command("remind")
@click.option("--now", "at", callback=_when, help="Act as at this time (ISO 8601; default: now).")
@format_option
@click.pass_context
def actions_remind(ctx, at: dt.datetime | None) -> None:
    """Remind the owners of overdue actions now (each at most once a day); the scheduler does this daily."""
    actor = actor_of(ctx)
    if not actor.is_admin:  # it writes to other people's inboxes
        raise AccessDenied(Msg("action_remind_admin_only", who=actor.describe()))
    sent = service.remind_overdue(warehouse_of(ctx), at)
    emit(ctx, sent, "\n".join(f"action #{s['action']}: reminded {s['owner']}" for s in sent) or "(nothing to remind)")
