"""kpi query and kpi scorecard: figures out of the engine, as CSV, JSON or text."""

from __future__ import annotations

import csv
import io

import click

from kpi_core.cli.app import actor_of, dumps, emit, format_option, key_values, main, number, number_text, warehouse_of
from kpi_core.model.periods import parse_period
from kpi_core.model.safe_export import neutralise
from kpi_core.query.api import Query, run
from kpi_core.query.scorecard import scorecard

QUERY_COLUMNS = ["metric", "org", "period", "actual", "target", "attainment", "status"]


@main.command()
@click.option("--metric", "metrics", multiple=True, required=True, help="Metric code (repeat for more).")
@click.option("--org", help="Org unit code (default: the top of the tree).")
@click.option("--children", is_flag=True, help="The unit's direct children instead of the unit itself.")
@click.option("--grain", type=click.Choice(["month", "quarter", "year"]), required=True)
@click.option("--from", "first", help="First period, e.g. 2025-01, 2025-Q1, 2025.")
@click.option("--to", "last", help="Last period.")
@click.option("--ytd", is_flag=True, help="Year-to-date values for each period.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "text"]), default=None,
              help="csv (the default; text is csv too) or json.")
@click.pass_context
def query(ctx, metrics, org, children, grain, first, last, ytd, fmt) -> None:
    """One row per metric × org unit × period: actual, target, attainment, status."""
    fmt = fmt or ("json" if ctx.find_root().obj["format"] == "json" else "csv")
    q = Query(tuple(metrics), org, "children" if children else "self", grain, first, last, ytd)
    result = run(warehouse_of(ctx), q, actor=actor_of(ctx))
    rows = [{k: getattr(c, k) for k in QUERY_COLUMNS} for c in result.cells]
    if fmt == "json":  # JSON adds the full target beside the one judged, and whether the period is in progress
        rows = [r | {"target_full": c.target_full, "in_progress": c.in_progress}
                for r, c in zip(rows, result.cells, strict=True)]
    if fmt == "json":
        click.echo(dumps(rows))
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(QUERY_COLUMNS)
    for r in rows:
        writer.writerow(["" if r[k] is None else (repr(r[k]) if isinstance(r[k], float) else neutralise(r[k]))
                         for k in QUERY_COLUMNS])
    click.echo(out.getvalue(), nl=False)


@main.command("scorecard")
@click.option("--org", required=True)
@click.option("--period", required=True)
@click.option("--weight", "weights", multiple=True, required=True, help="METRIC=W (repeat).")
@click.option("--perspective-weight", "pweights", multiple=True, help="PERSPECTIVE=W (repeat).")
@format_option
@click.pass_context
def scorecard_cmd(ctx, org, period, weights, pweights) -> None:
    """A weighted scorecard: each metric's score, the perspectives' scores, the total and grade."""
    weights = key_values(weights, "--weight", "METRIC=WEIGHT", number)
    pweights = key_values(pweights, "--perspective-weight", "PERSPECTIVE=WEIGHT", number)
    card = scorecard(warehouse_of(ctx), org, period, parse_period(period).grain, weights,
                     perspective_weights=pweights or None, actor=actor_of(ctx))
    data = {"org": card.org, "period": card.period, "items": card.items, "perspectives": card.perspectives,
            "score": card.score, "grade": card.grade}
    lines = [f"{i['metric']:<24} w={i['weight']:<5g} {number_text(i['score']):>8}  {i['status']}" for i in card.items]
    lines += [f"[{p}] {number_text(s)}" for p, s in card.perspectives.items()]
    lines.append(f"score {number_text(card.score)}  grade {card.grade or '-'}")
    emit(ctx, data, "\n".join(lines))
