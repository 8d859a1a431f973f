"""kpi targets: cascade a unit's target to its children, reconcile them."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, emit, format_option, key_values, main, number, number_text, warehouse_of
from kpi_core.model.periods import parse_period
from kpi_core.services.cascade import cascade_metrics, reconcile


@main.group("targets")
def targets_group() -> None:
    """Cascade a unit's target to its children; reconcile parent and children."""


@targets_group.command("cascade")
@click.option("--metric", "metrics", multiple=True, required=True,
              help="A metric to cascade; repeat it to cascade several in one batch.")
@click.option("--org", required=True)
@click.option("--year", type=int, required=True)
@click.option("--method", type=click.Choice(["equal", "last_year", "headcount", "weights"]), default="equal",
              show_default=True)
@click.option("--uplift", type=float, default=1.0, show_default=True, help="e.g. 1.05 for +5 %.")
@click.option("--weight", "weights", multiple=True, help="CHILD=W, for --method weights.")
@click.option("--total", type=float, help="Split this total instead of the unit's own target (one --metric).")
@click.option("--update-parent", is_flag=True,
              help="Also set the unit's own yearly target to the uplifted total, in the same batch.")
@click.option("--dry-run", is_flag=True)
@click.option("--reason")
@format_option
@click.pass_context
def targets_cascade(ctx, metrics, org, year, method, uplift, weights, total, update_parent, dry_run, reason) -> None:
    """Split the unit's yearly target over its direct children: each child's share, target and basis,
    with a warning for each child left at 0 or without a basis, one child taking 80 % or more, and a
    gap against the parent's own target; after a write, parent against children."""
    codes = list(dict.fromkeys(metrics))
    if total is not None and len(codes) > 1:
        raise click.BadParameter("--total splits one metric; give a single --metric", param_hint="--total")
    w = key_values(weights, "--weight", "CHILD=WEIGHT", number)
    done = cascade_metrics(warehouse_of(ctx), codes, org, year, method, uplift=uplift, weights=w or None,
                           totals={codes[0]: total} if total is not None else None, update_parent=update_parent,
                           dry_run=dry_run, user=actor_of(ctx), reason=reason)
    rows = [{"metric": p.metric, "org": s.child, "share": s.share, "target": s.target, "basis": s.basis}
            for p in done.metrics for s in p.splits]
    parents = ([{"metric": p.metric, "org": done.org, "target": p.uplifted} for p in done.metrics]
               if update_parent else [])
    recs = {code: {"parent": r.parent, "children_total": r.children_total, "gap": r.gap}
            for code, r in done.reconciliation.items()}
    data = {"batch": done.result.batch if done.result else None, "splits": rows, "parents": parents,
            "warnings": [str(m) for m in done.warnings], "reconciliation": None if dry_run else recs}
    lines = []
    for p in done.metrics:
        lines.append(p.metric)
        lines += [f"  {s.child:<16} {s.share:>7.1%} {s.target:>16,.2f}   basis {number_text(s.basis)}"
                  for s in p.splits]
        if update_parent:
            lines.append(f"  {done.org:<16} {'parent':>7} {p.uplifted:>16,.2f}")
    lines += [f"warning: {m}" for m in done.warnings]
    if dry_run:
        lines.append("(dry run: nothing written)")
    else:
        lines.append(f"batch {done.result.batch}")
        lines += [f"{code}: parent {number_text(r.parent)}   children {number_text(r.children_total)}   "
                  f"gap {number_text(r.gap)}" for code, r in done.reconciliation.items()]
    emit(ctx, data, "\n".join(lines))


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
