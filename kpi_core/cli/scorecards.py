"""kpi scorecards: each unit's scorecard as code (apply, export, show, history, remove, cascade)."""

from __future__ import annotations

import datetime as dt

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, number_text, warehouse_of
from kpi_core.model import access
from kpi_core.present.cockpit import default_period
from kpi_core.query.api import latest_month
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.services.scorecards import cascade
from kpi_core.store import scorecards as store
from kpi_core.store.org import tree as org_tree


@main.group("scorecards")
def scorecards_group() -> None:
    """What each org unit is judged on: its KPIs with weights, inherited down the tree."""


@scorecards_group.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", help="Why (needed when anything changes).")
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@format_option
@click.pass_context
def scorecards_apply(ctx, path: str, reason: str | None, dry_run: bool) -> None:
    """Create or update the scorecards in a YAML file; all checked first, nothing saved on a problem."""
    r = store.apply_file(warehouse_of(ctx), path, reason=reason, user=actor_of(ctx), dry_run=dry_run)
    emit(ctx, r.as_dict(), f"created {len(r.created)}, updated {len(r.updated)}, unchanged {len(r.unchanged)}"
         + (" (dry run: nothing written)" if dry_run else ""))


@scorecards_group.command("export")
@click.option("--out", help="Write to this file instead of stdout.")
@click.pass_context
def scorecards_export(ctx, out: str | None) -> None:
    """Every unit's own scorecard as YAML that applies back unchanged."""
    access.require(actor_of(ctx), "read")
    text = store.export(warehouse_of(ctx), out)
    if out:
        echo(f"scorecards written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@scorecards_group.command("show")
@click.argument("org")
@click.option("--period", help="e.g. 2026-10, 2026-Q3 or 2026 (default: the last full month).")
@format_option
@click.pass_context
def scorecards_show(ctx, org: str, period: str | None) -> None:
    """The unit's scorecard (own, inherited or default), each metric's share and score, total and grade."""
    wh = warehouse_of(ctx)
    tree = org_tree(wh)
    actor = actor_of(ctx)
    org = tree.resolve(org)
    access.check(actor, tree, "read", org)
    card = unit_scorecard(wh, tree, org, period or default_period(dt.date.today(), latest_month(wh, dt.date.today())),
                          actor=actor)
    data = {"org": card.org, "period": card.period, "origin": card.origin, "source": card.source,
            "items": card.items, "dropped": card.dropped, "perspectives": card.perspectives,
            "score": card.score, "grade": card.grade}
    head = {"own": f"{org}: own scorecard", "inherited": f"{org}: inherited from {card.source}",
            "default": f"{org}: no scorecard set here or above (all metrics with data, weighted equally)"}
    lines = [head[card.origin] + f", {card.period}"]
    lines += [f"  {i['metric']:<26} {i['share']:>6.1%} {number_text(i['score']):>8}  {i['status']}" for i in card.items]
    if card.dropped:
        lines.append(f"  left out (no data or target here): {', '.join(card.dropped)}")
    lines.append(f"score {number_text(card.score)}  grade {card.grade or '-'}")
    emit(ctx, data, "\n".join(lines))


@scorecards_group.command("history")
@click.argument("org")
@format_option
@click.pass_context
def scorecards_history(ctx, org: str) -> None:
    """Every version of the unit's own scorecard: who, when, why."""
    rows = store.history(warehouse_of(ctx), org)
    emit(ctx, rows, "\n".join(f"v{r['version']} {r['at'][:16]} {r['user']:<12} "
                              f"{'removed' if r['removed'] else len(r['definition']['metrics'])} {r['reason']}"
                              for r in rows) or f"({org} has never had its own scorecard)")


@scorecards_group.command("remove")
@click.argument("org")
@click.option("--reason", help="Why (required).")
@format_option
@click.pass_context
def scorecards_remove(ctx, org: str, reason: str | None) -> None:
    """The unit stops having its own scorecard and inherits its nearest ancestor's."""
    store.remove(warehouse_of(ctx), org, reason=reason, user=actor_of(ctx))
    emit(ctx, {"removed": org}, f"{org}: own scorecard removed")


@scorecards_group.command("cascade")
@click.argument("org")
@click.option("--period", help="Keep each child's copy to the metrics it has data or a target for then.")
@click.option("--replace", is_flag=True, help="Also overwrite children that have their own scorecard.")
@click.option("--reason", help="Why (needed unless --dry-run).")
@click.option("--dry-run", is_flag=True)
@format_option
@click.pass_context
def scorecards_cascade(ctx, org: str, period: str | None, replace: bool, reason: str | None, dry_run: bool) -> None:
    """Copy the unit's scorecard to its direct children as their starting point."""
    plan = cascade(warehouse_of(ctx), org, period=period, replace=replace, reason=reason, user=actor_of(ctx),
                   dry_run=dry_run)
    data = {"source": plan.source, "children": {c.org: c.definition()["metrics"] for c in plan.cards},
            "kept_own": plan.kept_own, "dropped": plan.dropped, "empty": plan.empty, "written": plan.written}
    lines = [f"{c.org:<16} {', '.join(c.codes)}" for c in plan.cards]
    lines += [f"{c:<16} keeps its own scorecard" for c in plan.kept_own]
    lines += [f"{c:<16} has nothing for any of them: left as it is" for c in plan.empty]
    lines.append("(dry run: nothing written)" if dry_run else f"{len(plan.cards)} scorecard(s) written")
    emit(ctx, data, "\n".join(lines))

