"""kpi init: create the warehouse, and load the demo company into an empty one."""

from __future__ import annotations

import click

from kpi_core.cli.app import emit, format_option, main, progress_printer, warehouse_of
from kpi_core.demo.load import load_demo
from kpi_core.store import batches as batches_mod


@main.command()
@click.option("--demo", is_flag=True, help="Load the demo company (org, metrics, data, targets).")
@format_option
@click.pass_context
def init(ctx, demo: bool) -> None:
    """Create the warehouse (and load the demo company)."""
    wh = warehouse_of(ctx)
    summary = {"warehouse": str(wh.path), "schema_version": wh.schema_version()}
    if demo:

        held = batches_mod.list_batches(wh, limit=1)
        if held:  # never pile the demo onto real (or earlier demo) data; `make run` relies on this
            summary["demo"] = f"not loaded: the warehouse already holds data (latest batch {held[0]['id']})"
        else:
            summary["demo"] = load_demo(wh, progress=progress_printer())
    emit(ctx, summary, "\n".join(f"{k}: {v}" for k, v in summary.items()))
