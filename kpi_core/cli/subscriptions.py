"""kpi subscriptions: boards and cockpit places sent to users on a schedule or after each import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.jobs import subscriptions as jobs
from kpi_core.model import yamldoc
from kpi_core.model.errors import AccessDenied, NotFound
from kpi_core.model.messages import Msg
from kpi_core.store import subscriptions as store


@main.group("subscriptions")
def subscriptions_group() -> None:
    """A board or a cockpit place sent to a user: daily, weekly, monthly or after each import."""


@subscriptions_group.command("apply")
@click.argument("path", type=click.Path(dir_okay=False))
@format_option
@click.pass_context
def subscriptions_apply(ctx, path: str) -> None:
    """Create or update the subscriptions in a YAML file (`subscriptions:` list); all or none."""
    file = Path(path)
    if not file.is_file():
        raise NotFound(Msg("store_no_such_path", path=path))
    raw = yamldoc.items(file.read_text(encoding="utf-8"), "subscriptions", file.name)
    r = jobs.apply(warehouse_of(ctx), raw, by=actor_of(ctx), source=file.name)
    emit(ctx, r, f"created {len(r['created'])}, updated {len(r['updated'])}, unchanged {len(r['unchanged'])}")


@subscriptions_group.command("list")
@format_option
@click.pass_context
def subscriptions_list(ctx) -> None:
    """The subscriptions (an admin sees everyone's, others their own) and when each last went."""
    actor = actor_of(ctx)
    rows = [{**s.sub.definition(), "key": s.sub.key,
             "last_sent_at": s.last_sent_at.isoformat() if s.last_sent_at else None}
            for s in store.listed(warehouse_of(ctx), None if actor.role == "admin" else actor.name)]
    emit(ctx, rows, "\n".join(f"{r['key']:<40} {r['schedule']:<12} last sent {r['last_sent_at'] or '-'}"
                              for r in rows) or "no subscriptions")


@subscriptions_group.command("run")
@click.option("--now", "now_text", help="Act as if it were this moment (ISO 8601; default: now).")
@click.option("--key", help="Send this one subscription now, due or not.")
@format_option
@click.pass_context
def subscriptions_run(ctx, now_text: str | None, key: str | None) -> None:
    """Send the subscriptions that are due (to the inbox, and by e-mail when set up)."""
    actor = actor_of(ctx)
    if actor.role != "admin":
        raise AccessDenied(Msg("store_subscription_not_yours"))
    try:
        now = dt.datetime.fromisoformat(now_text) if now_text else dt.datetime.now(dt.UTC)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 moment: {now_text}", param_hint="--now") from None
    if now.tzinfo is None:
        now = now.astimezone()
    if key is not None:
        store.get(warehouse_of(ctx), key)  # NotFound: exit 4
    sent = jobs.run_due(warehouse_of(ctx), now, force=key)
    emit(ctx, {"sent": sent}, f"sent {len(sent)}" + (f": {', '.join(sent)}" if sent else ""))


@subscriptions_group.command("remove")
@click.argument("key")
@format_option
@click.pass_context
def subscriptions_remove(ctx, key: str) -> None:
    """Stop a subscription (KEY as `subscriptions list` shows it: user:board:CODE or user:cockpit:ORG)."""
    jobs.remove(warehouse_of(ctx), key, by=actor_of(ctx))
    echo(f"removed {key}")
