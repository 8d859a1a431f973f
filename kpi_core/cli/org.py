"""kpi org: import the org tree from a file, list the units you may read."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, warehouse_of
from kpi_core.cli.imports import finish_import
from kpi_core.ingest.org_file import import_org
from kpi_core.model import access
from kpi_core.store import org


@main.group("org")
def org_group() -> None:
    """The org tree."""


@org_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet")
@click.option("--dry-run", is_flag=True)
@format_option
@click.pass_context
def org_import(ctx, file: str, sheet: str | None, dry_run: bool) -> None:
    """Add or update org units from a code, name, parent file (Chinese headers too)."""
    result = import_org(warehouse_of(ctx), file, sheet=sheet, user=actor_of(ctx), dry_run=dry_run)
    finish_import(ctx, result, dry_run=dry_run)


@org_group.command("list")
@format_option
@click.pass_context
def org_list(ctx) -> None:
    """The tree, indented: the part of it the user may read (an employee: their unit and team)."""
    t = org.tree(warehouse_of(ctx))
    codes = access.visible_units(actor_of(ctx), t, t.subtree(t.root)) if t.root else []
    rows = [{"code": u.code, "name": u.name, "parent": u.parent, "depth": u.depth} for u in (t.units[c] for c in codes)]
    emit(ctx, rows, "\n".join(f"{'  ' * r['depth']}{r['code']}  {r['name']}" for r in rows) or "(no org units)")
