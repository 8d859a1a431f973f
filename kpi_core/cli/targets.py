"""kpi targets: cascade a unit's target to its children, reconcile them."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, emit, format_option, key_values, main, number, number_text, warehouse_of
from kpi_core.model.periods import parse_period
from kpi_core.services.cascade import cascade, reconcile


@main.group("targets")
def targets_group() -> None:
    """Cascade a unit's target to its children; reconcile parent and children."""


@targets_group.command("cascade")
@click.option("--metric", required=True)
@click.option("--org", required=True)
@click.option("--year", type=int, required=True)
@click.option("--method", type=click.Choice(["equal", "last_year", "headcount", "weights"]), default="equal",
              show_default=True)
@click.option("--uplift", type=float, default=1.0, show_default=True, help="e.g. 1.05 for +5 %.")
@click.option("--weight", "weights", multiple=True, help="CHILD=W, for --method weights.")
@click.option("--total", type=float, help="Split this total instead of the unit's own target.")
@click.option("--dry-run", is_flag=True)
@click.option("--reason")
@format_option
@click.pass_context
def targets_cascade(ctx, metric, org, year, method, uplift, weights, total, dry_run, reason) -> None:
    """Split the unit's yearly target over its direct children."""
    w = key_values(weights, "--weight", "CHILD=WEIGHT", number)
    splits, result = cascade(warehouse_of(ctx), metric, org, year, method, uplift=uplift, weights=w or None,
                             total=total, dry_run=dry_run, user=actor_of(ctx), reason=reason)
    rows = [{"org": s.child, "share": s.share, "target": s.target} for s in splits]
    emit(ctx, {"batch": result.batch if result else None, "splits": rows},
          "\n".join(f"{r['org']:<16} {r['share']:>7.1%} {r['target']:>16,.2f}" for r in rows)
          + ("\n(dry run: nothing written)" if dry_run else f"\nbatch {result.batch}"))


@targets_group.command("reconcile")
@click.option("--metric", required=True)
@click.option("--org", required=True)
@click.option("--period", required=True, help="e.g. 2026, 2026-Q1 or 2026-03.")
@format_option
@click.pass_context
def targets_reconcile(ctx, metric, org, period) -> None:
    """The unit's target against the sum of its children's."""
    r = reconcile(warehouse_of(ctx), metric, org, period, parse_period(period).grain, actor=actor_of(ctx))
    data = {"parent": r.parent, "children": r.children, "children_total": r.children_total, "gap": r.gap}
    lines = [f"{org:<16} {number_text(r.parent)}"] + [f"  {c:<14} {number_text(v)}" for c, v in r.children.items()]
    lines.append(f"  {'children':<14} {number_text(r.children_total)}   gap {number_text(r.gap)}")
    emit(ctx, data, "\n".join(lines))
