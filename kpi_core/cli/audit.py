"""kpi audit: who changed what, when and why; listed or exported."""

from __future__ import annotations

from pathlib import Path

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.store import audit as audit_mod


@main.group("audit")
def audit_group() -> None:
    """The change log: who, when, what, before, after, why (admins only)."""


def _audit_filters(f):
    for opt in reversed([
        click.option("--who", "who", help="User name."),
        click.option("--action", help="e.g. import, revert, save, login, login_failed."),
        click.option("--object", "object_type", help="e.g. metric, board, batch, user, period."),
        click.option("--key", "object_key", help="The object's code or id."),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (YYYY-MM-DD)."),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="To this day, inclusive."),
        click.option("--text", help="Words anywhere in before, after or reason."),
        click.option("--limit", default=1000, show_default=True),
    ]):
        f = opt(f)
    return f


def _audit_rows(ctx, who, action, object_type, object_key, since, until, text, limit) -> list[dict]:
    q = audit_mod.Search(who, action, object_type, object_key, since.date() if since else None,
                         until.date() if until else None, text)
    return audit_mod.search(warehouse_of(ctx), q, limit=limit, user=actor_of(ctx))


@audit_group.command("list")
@_audit_filters
@format_option
@click.pass_context
def audit_list(ctx, **kw) -> None:
    """Newest entries first."""
    rows = _audit_rows(ctx, **kw)
    emit(ctx, rows, "\n".join(f"{r['id']:>6}  {r['happened_at']:%Y-%m-%d %H:%M:%S}  {r['user_name']:<12} "
                               f"{r['action']:<12} {r['object_type']:<10} {r['object_key'] or '':<16} "
                               f"{r['reason'] or ''}" for r in rows) or "(no entries)")


@audit_group.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="A .xlsx or .csv file.")
@_audit_filters
@click.pass_context
def audit_export(ctx, out, **kw) -> None:
    """Write the matching entries to an Excel or CSV file."""
    rows = _audit_rows(ctx, **kw)
    data = audit_mod.to_csv(rows) if out.lower().endswith(".csv") else audit_mod.to_xlsx(rows)
    Path(out).write_bytes(data)
    echo(f"{len(rows)} entries written to {out}", err=True)
