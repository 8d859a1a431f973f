"""kpi import: actuals and targets, datasets from files, datasets from source databases."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, key_values, main, progress_printer, warehouse_of
from kpi_core.ingest.datasets import TYPE_NAMES, import_file
from kpi_core.ingest.error_report import write_error_workbook
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.sources import import_db as pull
from kpi_core.model.problems import ImportResult
from kpi_core.services.alerts import check_quietly


@main.group("import")
def import_group() -> None:
    """Load actuals, targets and datasets."""


def check_alerts(ctx, result: ImportResult) -> None:
    """After a loaded batch, the alert rules are checked (SPEC §9); a check that fails is a
    warning on stderr, never a failed import (the batch is in)."""
    if result.batch is None:
        return
    events, error = check_quietly(warehouse_of(ctx))
    if error:
        echo(f"warning: the alert check after this import failed: {error}", err=True)
    elif events:
        echo(f"alerts: {sum(e.state == 'firing' for e in events)} firing, "
             f"{sum(e.state == 'resolved' for e in events)} resolved (see 'alerts list')", err=True)


def finish_import(ctx, result: ImportResult, *, dry_run: bool = False, errors_out: str | None = None,
                   sheet: str | None = None,
                   source: str | None = None) -> None:
    data = result.as_dict()
    if result.changes:
        data["changes"] = result.changes
    if errors_out and result.errors and source:
        write_error_workbook(source, result.errors, errors_out, sheet=sheet or result.sheet)
    if ctx.find_root().obj["format"] == "json":
        emit(ctx, data)
    else:
        if result.batch is not None:
            echo(f"batch {result.batch}: loaded {result.loaded:,} from {result.rows:,} rows"
                       + (f", rejected {result.rejected:,}" if result.rejected else ""))
        elif dry_run and not result.errors:
            echo(f"dry run: {result.loaded:,} facts would load; nothing written")
        if result.changes:
            c = result.changes
            echo(f"changes: {c['new']:,} new, {c['changed']:,} changed, {c['unchanged']:,} unchanged")
    if result.errors:
        verb = "rejected" if result.batch is None and not dry_run else "problems"
        echo(f"{verb}: {len(result.errors)} problem(s)"
                   + ("; nothing was written" if result.batch is None else ""), err=True)
        for p in result.errors[:200]:
            echo(f"  {p}", err=True)
        if len(result.errors) > 200:
            echo(f"  … and {len(result.errors) - 200} more (use --format json or --errors-out)", err=True)
    if result.batch is None and not (dry_run and not result.errors):
        ctx.exit(1)


def _facts_command(kind: str):
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--sheet", help="Sheet name (default: the visible sheet with data, else the one Excel opens on).")
    @click.option("--year", type=int, help="Year for headers such as 1月 or Q1.")
    @click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
    @click.option("--partial", is_flag=True, help="Load the good facts and reject the bad ones.")
    @click.option("--errors-out", type=click.Path(dir_okay=False),
                  help="Write the problems to this .xlsx (the file with its bad cells marked).")
    @click.option("--reason", help="Why (kept with the batch); needed to change a closed period.")
    @format_option
    @click.pass_context
    def command(ctx, file, sheet, year, dry_run, partial, errors_out, reason):
        result = import_facts(warehouse_of(ctx), kind, file, sheet=sheet, year=year, dry_run=dry_run,
                              partial=partial, user=actor_of(ctx), progress=progress_printer(), reason=reason)
        check_alerts(ctx, result)
        finish_import(ctx, result, dry_run=dry_run, errors_out=errors_out, source=file, sheet=sheet)

    command.__doc__ = f"Import {kind} (long or wide; Excel or CSV)."
    return command


@import_group.command("dataset")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet")
@click.option("--mode", type=click.Choice(["replace", "append"]), default="replace")
@click.option("--type", "types", multiple=True, help="Override a column type: 'COLUMN=date' "
              f"(types: {', '.join(TYPE_NAMES)}).")
@format_option
@click.pass_context
def import_dataset(ctx, name, file, sheet, mode, types) -> None:
    """Load a file as dataset NAME (column names kept as written)."""
    types = key_values(types, "--type", "COLUMN=TYPE", lambda t: t.lower())
    result = import_file(warehouse_of(ctx), name, file, sheet=sheet, mode=mode, types=types, user=actor_of(ctx))
    check_alerts(ctx, result)
    finish_import(ctx, result)


@import_group.command("db")
@click.argument("name")
@click.option("--url", required=True, help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
@click.option("--table", help="Table (schema.table allowed).")
@click.option("--query", help="A SELECT run on the source database.")
@click.option("--mode", type=click.Choice(["replace", "append"]), default="replace")
@format_option
@click.pass_context
def import_db(ctx, name, url, table, query, mode) -> None:
    """Pull a table or query from a source database as dataset NAME."""
    result = pull(warehouse_of(ctx), name, url, table=table, query=query, mode=mode, user=actor_of(ctx))
    check_alerts(ctx, result)
    finish_import(ctx, result)


import_group.command("actuals")(_facts_command("actuals"))
import_group.command("targets")(_facts_command("targets"))
