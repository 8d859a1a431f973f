"""kpi explain: where a unit's gap to target comes from, split among its direct children."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, warehouse_of
from kpi_core.engine.attribution import Attribution, Line
from kpi_core.model.org import OrgTree
from kpi_core.query.attribution import attribute
from kpi_core.store.org import tree as org_tree


@main.command("explain")
@click.option("--metric", required=True, help="Metric code.")
@click.option("--org", required=True, help="Org unit code.")
@click.option("--period", required=True, help="e.g. 2026-03, 2026-Q3, 2026.")
@click.option("--ytd", is_flag=True, help="Year to date up to the period.")
@format_option
@click.pass_context
def explain(ctx, metric: str, org: str, period: str, ytd: bool) -> None:
    """The unit's gap (actual − target) split among its direct children: the contributors (pushing
    the same way as the gap) and offsetters, each with its contribution and share of the gap
    (for ratios also the rate and mix effects), and the residual the children do not explain."""
    wh = warehouse_of(ctx)
    a = attribute(wh, metric, org, period, actor_of(ctx), ytd=ytd)
    tree = org_tree(wh)
    emit(ctx, as_json(a, tree), as_text(a, tree))


def _line(x: Line, tree: OrgTree) -> dict:
    out = {"org": x.org or None, "name": _name(x, tree), "actual": x.actual, "target": x.target,
           "contribution": x.contribution, "share": x.share}
    if x.rate_effect is not None:
        out |= {"rate_effect": x.rate_effect, "mix_effect": x.mix_effect, "weight": x.weight,
                "weight_target": x.weight_target}
    return out | ({"others": x.others} if x.others else {})


def _name(x: Line, tree: OrgTree) -> str:
    if x.others:
        return f"{x.others} other unit(s)"
    return tree.units[x.org].name if x.org in tree.units else x.org


def as_json(a: Attribution, tree: OrgTree) -> dict:
    contributors, offsetters = a.contributors, a.offsetters
    even = [x for x in a.lines if x not in contributors and x not in offsetters]
    return {"metric": a.metric, "org": a.org, "period": a.period, "status": a.status, "kind": a.kind,
            "direction": a.direction, "actual": a.actual, "target": a.target, "gap": a.gap, "missed": a.missed,
            "reason": a.reason or None, "contributors": [_line(x, tree) for x in contributors],
            "offsetters": [_line(x, tree) for x in offsetters], "even": [_line(x, tree) for x in even],
            "residual": a.residual, "excluded": [{"org": o or None, "reason": why} for o, why in a.excluded]}


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"


def _signed(v: float | None) -> str:
    return "-" if v is None else ("+" if v > 0 else "") + _num(v)


def _share(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def as_text(a: Attribution, tree: OrgTree) -> str:
    head = (f"{a.metric} at {a.org}, {a.period}: actual {_num(a.actual)}, target {_num(a.target)}, "
            f"gap {_signed(a.gap)} ({a.status})")
    if not a.available:
        return f"{head}\nno attribution: {a.reason}"
    lines = [head]
    for title, rows in (("contributors (push the same way as the gap)", a.contributors),
                        ("offsetters (push against it)", a.offsetters)):
        lines.append(f"{title}:" if rows else f"{title}: none")
        for x in rows:
            effects = (f"  rate {_signed(x.rate_effect)}  mix {_signed(x.mix_effect)}"
                       if x.rate_effect is not None else "")
            label = f"{x.org}  {_name(x, tree)}" if x.org else _name(x, tree)
            lines.append(f"  {label}: actual {_num(x.actual)}, target {_num(x.target)}, "
                         f"contribution {_signed(x.contribution)}, {_share(x.share)} of the gap{effects}")
    even = [x.org for x in a.lines if x.contribution == 0 and x.org]
    if even:
        lines.append(f"on target: {', '.join(even)}")
    lines.append(f"residual (not explained by the units below): {_signed(a.residual)}")
    lines += [f"not attributable: {o or 'other units'} ({why})" for o, why in a.excluded]
    return "\n".join(lines)
