"""kpi reviews: review cycles (open, list, show, advance, raters, rate, calibrate, close, export, packet),
feedback (note, plan) and a unit's retrospective (retro)."""

from __future__ import annotations

import datetime as dt

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, number_text, warehouse_of
from kpi_core.model import review
from kpi_core.present import review_packet as packets
from kpi_core.present.review_export import workbook
from kpi_core.query.api import context
from kpi_core.services import review_feedback as feedback
from kpi_core.services import review_results as results
from kpi_core.services import reviews as service
from kpi_core.store.reviews import Cycle


def _cycle_line(c: Cycle) -> str:
    return f"{c.name:<16} {c.period:<8} {c.org:<14} {c.state:<12} opened by {c.opened_by}"


@main.group("reviews")
def reviews_group() -> None:
    """Review cycles: KPI scores and 360° ratings, calibrated, frozen at closing (SPEC §10)."""


@reviews_group.command("open")
@click.argument("name")
@click.option("--period", required=True, help="The period judged: e.g. 2026-Q2 or 2026.")
@click.option("--org", help="The top unit of the subtree reviewed (default: the whole company).")
@format_option
@click.pass_context
def reviews_open(ctx, name: str, period: str, org: str | None) -> None:
    """Open a cycle; it keeps the review settings as they are now."""
    c = service.open_cycle(warehouse_of(ctx), name, period, org, by=actor_of(ctx))
    emit(ctx, c.as_dict() | {"config": c.config.as_dict()}, f"opened review {c.name}: {c.period}, {c.org} and below")


@reviews_group.command("list")
@format_option
@click.pass_context
def reviews_list(ctx) -> None:
    """The cycles you can see, the newest first."""
    found = service.visible_cycles(warehouse_of(ctx), by=actor_of(ctx))
    emit(ctx, [c.as_dict() for c in found], "\n".join(_cycle_line(c) for c in found) or "no review cycles")


@reviews_group.command("advance")
@click.argument("name")
@format_option
@click.pass_context
def reviews_advance(ctx, name: str) -> None:
    """Move a cycle on: open → self → manager → calibration → closed."""
    c = service.advance(warehouse_of(ctx), name, by=actor_of(ctx))
    emit(ctx, c.as_dict(), f"review {c.name} is now: {c.state}")


@reviews_group.command("close")
@click.argument("name")
@format_option
@click.pass_context
def reviews_close(ctx, name: str) -> None:
    """Close a cycle in calibration: every unit's and person's scorecard is frozen with its batches."""
    c = service.close(warehouse_of(ctx), name, by=actor_of(ctx))
    emit(ctx, c.as_dict(), f"review {c.name} closed")


@reviews_group.command("raters")
@click.argument("name")
@click.option("--org", required=True, help="The person reviewed (their unit).")
@click.option("--peer", multiple=True, help="A user who rates as a peer (repeat).")
@click.option("--report", multiple=True, help="A user who rates as a direct report (repeat).")
@click.option("--remove", multiple=True, help="A user who no longer rates (repeat).")
@format_option
@click.pass_context
def reviews_raters(ctx, name: str, org: str, peer: tuple, report: tuple, remove: tuple) -> None:
    """Choose a person's peer and report raters (their ratings are shown only as an average)."""
    chosen = {u: "peer" for u in peer} | {u: "report" for u in report} | {u: "" for u in remove}
    now = service.choose_raters(warehouse_of(ctx), name, org, chosen, by=actor_of(ctx))
    emit(ctx, [{"org": s, "rater": r, "kind": k} for s, r, k in now],
         "\n".join(f"{s}  {k:<7} {r}" for s, r, k in now) or "no raters chosen")


@reviews_group.command("rate")
@click.argument("name")
@click.option("--org", required=True, help="The person rated (their unit).")
@click.option("--as", "kind", required=True, type=click.Choice(review.KINDS), help="Whose rating this is.")
@click.option("--score", required=True, type=float, help="On the cycle's scale (default 1–5).")
@click.option("--competency", help="One competency (default: every competency gets this score).")
@click.option("--comment", help="A comment (peers' and reports' are shown unattributed, sorted).")
@format_option
@click.pass_context
def reviews_rate(ctx, name: str, org: str, kind: str, score: float, competency: str | None,
                 comment: str | None) -> None:
    """Rate a person, as yourself (--as self), their manager, or a chosen peer or report."""
    n = service.rate(warehouse_of(ctx), name, org, kind, score, comment=comment, competency=competency,
                     by=actor_of(ctx))
    emit(ctx, {"cycle": name, "org": org, "kind": kind, "scores": n}, f"rated {org} as {kind}: {n} competencies")


@reviews_group.command("calibrate")
@click.argument("name")
@click.option("--org", required=True, help="The unit or person.")
@click.option("--grade", help="The calibrated grade.")
@click.option("--potential", type=click.Choice(review.POTENTIALS), help="The 9-box potential.")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@format_option
@click.pass_context
def reviews_calibrate(ctx, name: str, org: str, grade: str | None, potential: str | None, reason: str) -> None:
    """Change a grade (or potential) in the calibration stage; the guideline is advice, not a lock."""
    after = service.calibrate(warehouse_of(ctx), name, org, grade=grade, potential=potential, reason=reason,
                              by=actor_of(ctx))
    emit(ctx, {"cycle": name, "org": org, **after},
         f"{org}: grade {after['grade'] or '-'}, potential {after['potential'] or '-'}")


@reviews_group.command("show")
@click.argument("name")
@click.option("--org", help="One unit or person (default: every one you may see).")
@format_option
@click.pass_context
def reviews_show(ctx, name: str, org: str | None) -> None:
    """Scores, ratings as you may see them, overall result and grades (frozen once closed)."""
    wh, actor = warehouse_of(ctx), actor_of(ctx)
    rows = results.result_rows(wh, name, by=actor)
    if org:
        code = context(wh)[0].resolve(org)
        results.outcome(wh, name, code, by=actor)  # refused in words outside what the user may read
        rows = [r for r in rows if r["org"] == code]
    lines = [f"{r['org']:<14} score {number_text(r['score']):>8} {r['grade'] or '-':<2} overall "
             f"{number_text(r['overall']):>8} {r['overall_grade'] or '-':<2} final {r['final_grade'] or '-'}"
             for r in rows]
    emit(ctx, rows, "\n".join(lines) or "nothing to show")


@reviews_group.command("export")
@click.argument("name")
@click.option("--out", required=True, help="The .xlsx file to write.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def reviews_export(ctx, name: str, out: str, lang: str) -> None:
    """The cycle's results as a workbook (for payroll: final grades and incentive coefficients)."""
    wh, actor = warehouse_of(ctx), actor_of(ctx)
    cycle = service.get(wh, name)
    rows = results.result_rows(wh, name, by=actor)
    with open(out, "wb") as f:
        f.write(workbook(cycle.as_dict(), rows, lang))
    echo(f"{len(rows)} rows written to {out}", err=True)


@reviews_group.command("packet")
@click.argument("name")
@click.option("--org", required=True, help="The person or unit.")
@click.option("--out", required=True, help="The file to write: .xlsx or .pdf.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def reviews_packet(ctx, name: str, org: str, out: str, lang: str) -> None:
    """A person's or unit's review packet (scorecard, ratings as you may see them, grades) as Excel or PDF."""
    if not out.lower().endswith((".xlsx", ".pdf")):
        raise click.BadParameter("the file must end in .xlsx or .pdf", param_hint="--out")
    data = feedback.packet(warehouse_of(ctx), name, org, by=actor_of(ctx), lang=lang)
    body = packets.pdf(data, lang) if out.lower().endswith(".pdf") else packets.xlsx(data, lang)
    with open(out, "wb") as f:
        f.write(body)
    echo(f"review packet of {data['subject']} written to {out}", err=True)


@reviews_group.command("note")
@click.argument("name")
@click.option("--org", required=True, help="The person or unit.")
@click.option("--text", "text", required=True, help="The meeting note.")
@format_option
@click.pass_context
def reviews_note(ctx, name: str, org: str, text: str) -> None:
    """Add a review meeting's note on a person or unit (audited)."""
    note_id = feedback.add_note(warehouse_of(ctx), name, org, text, by=actor_of(ctx))
    emit(ctx, {"cycle": name, "org": org, "id": note_id}, f"note {note_id} added")


@reviews_group.command("plan")
@click.argument("name")
@click.option("--org", required=True, help="The person or unit.")
@click.option("--metric", required=True, help="The KPI to improve.")
@click.option("--owner", required=True, help="Who carries it out (a user).")
@click.option("--due", required=True, help="Follow up by (YYYY-MM-DD).")
@click.option("--title", required=True, help="What will be done.")
@format_option
@click.pass_context
def reviews_plan(ctx, name: str, org: str, metric: str, owner: str, due: str, title: str) -> None:
    """Add an improvement plan item: an action item on the KPI, followed up by its date."""
    try:
        when = dt.date.fromisoformat(due.strip())
    except ValueError:
        raise click.BadParameter(f"'{due}' is not a date (YYYY-MM-DD)", param_hint="--due") from None
    a = feedback.add_plan_item(warehouse_of(ctx), name, org, metric=metric, owner=owner, due=when, title=title,
                               by=actor_of(ctx))
    emit(ctx, a.as_dict(), f"plan item #{a.id} added: {a.title} (owner {a.owner}, due {a.due.isoformat()})")


@reviews_group.command("retro")
@click.option("--org", required=True, help="The unit.")
@click.option("--period", required=True, help="e.g. 2026-Q3.")
@format_option
@click.pass_context
def reviews_retro(ctx, org: str, period: str) -> None:
    """A unit's retrospective: what was red, the actions taken in the period, how each KPI moved since."""
    r = feedback.retrospective(warehouse_of(ctx), org, period, by=actor_of(ctx))
    data = {"org": r.org, "period": r.period, "red": r.red,
            "actions": [{**a.as_dict(), "movement": m.as_dict()} for a, m in r.taken]}
    lines = [f"{r.org} {r.period}: {len(r.red)} red, {len(r.taken)} actions"]
    lines += [f"  red  {it['metric']:<24} score {number_text(it['score'])}" for it in r.red]
    lines += [f"  #{a.id:<5} {a.status:<6} {a.metric:<24} {m.trend:<8} {a.title}" for a, m in r.taken]
    emit(ctx, data, "\n".join(lines))
