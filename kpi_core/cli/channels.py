"""kpi channels: delivery channels (SMTP e-mail, webhooks) and the outbox — apply, list, test,
deliver what is due, the dead letters and retrying them; a channel's secret typed in (never shown)."""

from __future__ import annotations

import datetime as dt

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, warehouse_of
from kpi_core.services import delivery
from kpi_core.store import channels as channels_mod
from kpi_core.store import deliveries


@main.group("channels")
def channels_group() -> None:
    """Delivery channels (e-mail, webhooks) and the outbox of messages to deliver."""


@channels_group.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reason")
@click.option("--dry-run", is_flag=True, help="Check and say what would change; write nothing.")
@format_option
@click.pass_context
def channels_apply(ctx, file: str, reason: str | None, dry_run: bool) -> None:
    """Create or update the channels of FILE's `channels:` list."""
    res = channels_mod.apply_file(warehouse_of(ctx), file, user=actor_of(ctx), reason=reason, dry_run=dry_run)
    emit(ctx, res.as_dict(), f"created {len(res.created)}, updated {len(res.updated)}, "
                             f"unchanged {len(res.unchanged)}" + (" (dry run)" if dry_run else ""))


@channels_group.command("list")
@format_option
@click.pass_context
def channels_list(ctx) -> None:
    """The channels, and whether each one's secret is set (never the secret)."""
    rows = [i.as_dict() for i in channels_mod.list_channels(warehouse_of(ctx), user=actor_of(ctx))]
    emit(ctx, rows, "\n".join(f"{r['name']:<16} {r['kind']:<9} {r.get('url') or r.get('host') or '':<40} "
                              f"{'default ' if r.get('default') else ''}secret: {r['secret']}" for r in rows)
         or "(no channels)")


@channels_group.command("test")
@click.argument("name")
@format_option
@click.pass_context
def channels_test(ctx, name: str) -> None:
    """Send a test message through channel NAME now; exit 1 when it failed."""
    got = delivery.test(warehouse_of(ctx), name, actor_of(ctx), lang="en")
    emit(ctx, got.as_dict(), f"{name}: {got.status}" + (f" ({got.error})" if got.error else "")
         + (f" to {', '.join(got.addresses)}" if got.addresses else ""))
    if got.status != "sent":
        ctx.exit(1)


@channels_group.command("deliver")
@click.option("--now", "at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]),
              help="Deliver what is due at this time (UTC; default: now).")
@format_option
@click.pass_context
def channels_deliver(ctx, at: dt.datetime | None) -> None:
    """Send the outbox messages that are due (failures are retried later with back-off)."""
    got = delivery.deliver_due(warehouse_of(ctx), at.replace(tzinfo=dt.UTC) if at else None)
    text = f"sent {len(got.sent)}, retrying {len(got.retrying)}, dead {len(got.dead)}"
    emit(ctx, got.as_dict(), "\n".join([text, *(f"  #{k}: {v}" for k, v in got.errors.items())]))


@channels_group.command("dead")
@format_option
@click.pass_context
def channels_dead(ctx) -> None:
    """The dead letters: messages given up after their last retry."""
    rows = [d.as_dict() for d in deliveries.letters(warehouse_of(ctx), user=actor_of(ctx))]
    emit(ctx, rows, "\n".join(f"#{r['id']:<6} {r['channel']:<14} {r['address'] or '':<28} {r['attempts']}x  "
                              f"{r['subject']}  [{r['last_error'] or ''}]" for r in rows) or "(no dead letters)")


@channels_group.command("retry")
@click.argument("oid", metavar="ID", type=int)
@format_option
@click.pass_context
def channels_retry(ctx, oid: int) -> None:
    """Put dead letter ID back in the queue; `channels deliver` sends it."""
    delivery.retry(warehouse_of(ctx), oid, user=actor_of(ctx))
    emit(ctx, {"id": oid, "status": "pending"}, f"#{oid} queued again")


@channels_group.command("secret")
@click.argument("name")
@click.option("--clear", is_flag=True, help="Remove the stored secret.")
@format_option
@click.pass_context
def channels_secret(ctx, name: str, clear: bool) -> None:
    """Store channel NAME's secret (signing key or SMTP password), read from a hidden prompt or stdin."""
    secret = None if clear else click.prompt("secret", hide_input=True, err=True)
    channels_mod.set_secret(warehouse_of(ctx), name, secret, user=actor_of(ctx))
    emit(ctx, {"channel": name, "secret": "not set" if clear else "set"},
         f"{name}: secret {'cleared' if clear else 'set'}")


@channels_group.command("remove")
@click.argument("name")
@click.option("--reason")
@format_option
@click.pass_context
def channels_remove(ctx, name: str, reason: str | None) -> None:
    """Delete channel NAME (and its stored secret)."""
    channels_mod.remove(warehouse_of(ctx), name, user=actor_of(ctx), reason=reason)
    emit(ctx, {"removed": name}, f"{name} removed")
