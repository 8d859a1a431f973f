"""kpi boards: boards as code (export, apply, list)."""

from __future__ import annotations

from pathlib import Path

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.store import boards as boards_mod


@main.group("boards")
def boards_group() -> None:
    """KPI boards as code: export them to YAML, apply YAML back, list them."""


@boards_group.command("list")
@format_option
@click.pass_context
def boards_list(ctx) -> None:

    rows = [{"code": b.code, "title": b.title, "owner": b.owner, "share": b.share, "tiles": len(b.tiles)}
            for b in boards_mod.visible(warehouse_of(ctx), actor_of(ctx))]
    emit(ctx, rows, "\n".join(f"{r['code']:<24} {r['tiles']:>3} tiles  {r['share']:<9} {r['owner']:<12} {r['title']}"
                               for r in rows) or "(no boards)")


@boards_group.command("export")
@click.option("--out", help="Write to this file instead of stdout.")
@click.pass_context
def boards_export(ctx, out: str | None) -> None:

    text = boards_mod.export(warehouse_of(ctx), out, user=actor_of(ctx))
    if out:
        echo(f"boards written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@boards_group.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason")
@format_option
@click.pass_context
def boards_apply(ctx, path: str, reason: str | None) -> None:
    """Create or update the boards in a YAML file; all checked first, nothing saved on a problem."""


    saved = boards_mod.apply(warehouse_of(ctx), Path(path).read_text(encoding="utf-8"), source=Path(path).name,
                             user=actor_of(ctx), reason=reason)
    emit(ctx, saved, "\n".join(f"{code}: version {v}" for code, v in saved.items()))
