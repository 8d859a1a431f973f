"""kpi batches and kpi datasets: what was loaded, and taking a batch back."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, warehouse_of
from kpi_core.services import linked
from kpi_core.services.revert import revert
from kpi_core.store import batches as batches_mod
from kpi_core.store import datasets as datasets_mod


@main.group("batches")
def batches_group() -> None:
    """Import batches: list and revert."""


@batches_group.command("list")
@click.option("--limit", default=50, show_default=True)
@format_option
@click.pass_context
def batches_list(ctx, limit: int) -> None:
    """Newest batches first."""
    rows = batches_mod.list_batches(warehouse_of(ctx), limit, user=actor_of(ctx))
    lines = [f"{b['id']:>5}  {b['created_at']:%Y-%m-%d %H:%M}  {b['kind']:<8} {b['status']:<8} "
             f"{b['rows_loaded']:>10,}  {b['user_name']:<10} {b['dataset'] or '':<20} {b['source']}" for b in rows]
    emit(ctx, rows, "\n".join(lines) or "(no batches)")


@batches_group.command("revert")
@click.argument("batch_id", type=int)
@click.option("--reason")
@format_option
@click.pass_context
def batches_revert(ctx, batch_id: int, reason: str | None) -> None:
    """Revert a batch: the values it replaced become current again."""
    b = revert(warehouse_of(ctx), batch_id, user=actor_of(ctx), reason=reason)
    emit(ctx, {"batch": batch_id, "status": b["status"]}, f"batch {batch_id} reverted")


@main.group("datasets")
def datasets_group() -> None:
    """Datasets: imported into the warehouse, or linked to a source engine (SPEC §8)."""


@datasets_group.command("list")
@format_option
@click.pass_context
def datasets_list(ctx) -> None:
    rows = datasets_mod.list_datasets(warehouse_of(ctx))
    emit(ctx, rows, "\n".join(f"{r['name']:<24} {r['rows']:>10,} rows  "
                               + (f"linked to {r['linked']}  " if r["linked"] else "")
                               + ", ".join(f"{c['name']}:{c['type']}" for c in r["columns"])
                               for r in rows) or "(no datasets)")


def _refreshed(r: linked.Refreshed) -> str:
    if r.batch is None:
        return f"{r.dataset}: nothing new at the source ({r.seconds:.2f} s)"
    how = "incremental" if r.incremental else "full"
    return (f"{r.dataset}: batch {r.batch} ({how}), {r.rows:,} source rows as {r.partials:,} partial rows, "
            f"{r.size:,} bytes, {r.seconds:.2f} s")


@datasets_group.command("link")
@click.argument("name")
@click.option("--url", required=True, help="SQLAlchemy URL, or spark://local[N] / a Spark master")
@click.option("--table", help="table (a Spark table expression such as parquet.`/data/x.parquet` too)")
@click.option("--query", help="a single SELECT in the source's dialect")
@click.option("--time-column", required=True)
@click.option("--org-column", required=True)
@click.option("--watermark", help="a column that only grows as rows are added: refreshes become incremental")
@format_option
@click.pass_context
def datasets_link(ctx, name, url, table, query, time_column, org_column, watermark) -> None:
    """Link a dataset to a table or query where its rows live; only aggregates come back."""
    r = linked.link(warehouse_of(ctx), name, url, table=table, query=query, time_column=time_column,
                    org_column=org_column, watermark=watermark, user=actor_of(ctx))
    emit(ctx, r.row(), _refreshed(r))


@datasets_group.command("refresh")
@click.argument("name")
@click.option("--full", is_flag=True, help="all rows again, even with a watermark")
@format_option
@click.pass_context
def datasets_refresh(ctx, name, full) -> None:
    """Bring a linked dataset's aggregates up to date (only new rows when it has a watermark)."""
    r = linked.refresh(warehouse_of(ctx), name, full=full, user=actor_of(ctx))
    emit(ctx, r.row(), _refreshed(r))
