"""kpi settings, kpi phasing and kpi periods: company settings, phasing profiles, closed periods."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.store import closing, phasing
from kpi_core.store import settings as settings_mod


@main.group("settings")
def settings_group() -> None:
    """Warehouse settings: fiscal year start, default thresholds, grade bands."""


@settings_group.command("list")
@format_option
@click.pass_context
def settings_list(ctx) -> None:

    values = settings_mod.all_settings(warehouse_of(ctx))
    emit(ctx, values, "\n".join(f"{k:<20} {v:<24} {settings_mod.SETTINGS[k].help}" for k, v in values.items()))


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--reason")
@format_option
@click.pass_context
def settings_set(ctx, key: str, value: str, reason: str | None) -> None:

    settings_mod.put(warehouse_of(ctx), key, value, user=actor_of(ctx), reason=reason)
    emit(ctx, {key: value}, f"{key} = {value}")


@main.group("phasing")
def phasing_group() -> None:
    """Named phasing profiles: how yearly targets spread over the months."""


@phasing_group.command("set")
@click.argument("name")
@click.argument("weights")
@click.option("--reason")
@format_option
@click.pass_context
def phasing_set(ctx, name: str, weights: str, reason: str | None) -> None:
    """WEIGHTS: 12 numbers, comma-separated, from the fiscal year's first month."""
    phasing.set_profile(warehouse_of(ctx), name, [w.strip() for w in weights.split(",")], user=actor_of(ctx),
                        reason=reason)
    emit(ctx, {"profile": name}, f"phasing profile {name} saved")


@phasing_group.command("list")
@format_option
@click.pass_context
def phasing_list(ctx) -> None:

    with warehouse_of(ctx).connect() as con:
        got = phasing.profiles(con)
    emit(ctx, got, "\n".join(f"{k:<20} " + ", ".join(f"{w:g}" for w in v) for k, v in got.items())
          or "(no profiles; built in: even, last_year)")


@main.group("periods")
def periods_group() -> None:
    """Closed periods: changing their actuals or targets needs the admin role and a reason."""


@periods_group.command("close")
@click.argument("period")
@click.option("--reason")
@format_option
@click.pass_context
def periods_close(ctx, period, reason) -> None:
    label = closing.close(warehouse_of(ctx), period, by=actor_of(ctx), reason=reason)
    emit(ctx, {"closed": label}, f"{label} closed")


@periods_group.command("reopen")
@click.argument("period")
@click.option("--reason")
@click.pass_context
def periods_reopen(ctx, period, reason) -> None:
    closing.reopen(warehouse_of(ctx), period, by=actor_of(ctx), reason=reason)
    echo(f"{period} reopened")


@periods_group.command("list")
@format_option
@click.pass_context
def periods_list(ctx) -> None:
    rows = closing.list_closed(warehouse_of(ctx))
    emit(ctx, rows, "\n".join(f"{r['period']:<10} {r['closed_by']:<12} {r['closed_at']:%Y-%m-%d %H:%M}  "
                               f"{r['reason'] or ''}" for r in rows) or "(no closed periods)")
