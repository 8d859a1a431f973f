"""kpi alerts: rules as code (apply), their states (list), a check, acknowledging and snoozing (SPEC §6, §9)."""

from __future__ import annotations

import datetime as dt

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, warehouse_of
from kpi_core.model.access import acting
from kpi_core.services import alerts as service
from kpi_core.store import alerts as store

LIST_KEYS = ("id", "rule", "metric", "org", "period", "state")


@main.group("alerts")
def alerts_group() -> None:
    """Alert rules, their states and checks."""


def _moment(text: str) -> dt.datetime:
    """An ISO date or time as typed; without a zone it is UTC."""
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not an ISO date or time such as 2026-11-27T09:00",
                                 param_hint="--now") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


@alerts_group.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the rules and show what would change; write nothing.")
@click.option("--reason", help="Why (kept with the new versions).")
@format_option
@click.pass_context
def apply_cmd(ctx, file, dry_run, reason) -> None:
    """Create or update the rules of a YAML file's `alerts:` list (its `channels:` are for 'channels apply')."""
    result, channels = store.apply_file(warehouse_of(ctx), file, reason=reason, user=actor_of(ctx), dry_run=dry_run)
    data = {**result.as_dict(), "dry_run": dry_run, "channels_not_applied": channels}
    lines = [f"{'would be ' if dry_run else ''}{what}: {', '.join(codes)}"
             for what, codes in result.as_dict().items() if codes]
    if channels:
        lines.append(f"channels not applied here: {', '.join(channels)} (use 'channels apply {file}')")
    emit(ctx, data, "\n".join(lines) or "no rules")


@alerts_group.command("list")
@format_option
@click.pass_context
def list_cmd(ctx) -> None:
    """The state of each rule × metric × unit you may read: ok, firing, acknowledged, resolved, snoozed."""
    rows = store.list_states(warehouse_of(ctx), actor_of(ctx))
    data = [{k: r[k] for k in LIST_KEYS} for r in rows]
    text = "\n".join(f"{r['id']:>6}  {r['state']:<12} {r['rule']}  {r['metric']}  {r['org']}  {r['period'] or '-'}"
                     + (f"  {r['reason']}" if r["state"] not in ("ok",) and r["reason"] else "") for r in rows)
    emit(ctx, data, text or "no alert states yet (run 'alerts check')")


@alerts_group.command("check")
@click.option("--now", "at", help="Check as at this ISO time (default: now); its date is today's.")
@format_option
@click.pass_context
def check_cmd(ctx, at) -> None:
    """Evaluate every enabled rule; print the events (firing, resolved) of this check."""
    acting(actor_of(ctx), "settings")
    moment = _moment(at) if at else None
    events = service.check(warehouse_of(ctx), now=moment, today=moment.date() if moment else None)
    data = [e.as_dict() for e in events]
    text = "\n".join(f"{e['state']:<9} {e['rule']}  {e['metric']}  {e['org']}  {e['period'] or '-'}  {e['reason']}"
                     for e in data)
    emit(ctx, data, text or "no new events")


@alerts_group.command("ack")
@click.argument("state_id", metavar="ID", type=int)
@format_option
@click.pass_context
def ack_cmd(ctx, state_id) -> None:
    """Acknowledge a firing alert (ID from 'alerts list'): no more notices until it resolves."""
    s = store.ack(warehouse_of(ctx), state_id, actor_of(ctx))
    emit(ctx, {"id": s.id, "rule": s.rule, "metric": s.metric, "org": s.org, "period": s.period, "state": s.state},
         f"alert {s.id} acknowledged ({s.rule} {s.metric} {s.org})")


@alerts_group.command("snooze")
@click.argument("state_id", metavar="ID", type=int)
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day of the snooze (YYYY-MM-DD).")
@format_option
@click.pass_context
def snooze_cmd(ctx, state_id, until) -> None:
    """No notices for an alert up to and including a date."""
    s = store.snooze(warehouse_of(ctx), state_id, until.date(), actor_of(ctx))
    emit(ctx, {"id": s.id, "rule": s.rule, "metric": s.metric, "org": s.org, "state": "snoozed",
               "snoozed_until": s.snoozed_until.isoformat()},
         f"alert {s.id} snoozed until {s.snoozed_until.isoformat()}")
