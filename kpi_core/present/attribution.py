"""Where the gap comes from, as a page shows it: the headline sentence for the largest contributor
("华东销售事业部 explains 72% of the Revenue gap"), a table of the top contributors and offsetters,
and notes for what the children do not explain. Text in the reader's language; no Streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.engine.attribution import RATIO, Attribution, Line
from kpi_core.model import display as fmt
from kpi_core.model.messages import Msg, render
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.present.i18n import t

TOP = 5  # contributors and offsetters shown, each


@dataclass
class GapView:
    headline: str = ""                               # the top contributor's sentence ("" when none)
    rows: list[dict[str, str]] = field(default_factory=list)  # column header -> text
    notes: list[str] = field(default_factory=list)   # the residual, children left out
    unavailable: str = ""                            # why the gap cannot be split ("" when it can)


def unit_name(tree: OrgTree, x: Line) -> Msg | str:
    """A child's name; the pooled line of units the reader may not see, as "2 other units"."""
    if x.others:
        return Msg("present_gap_others", n=x.others)
    return tree.units[x.org].name if x.org in tree.units else x.org


def headline(a: Attribution, metric: Metric, tree: OrgTree, lang: str) -> str:
    """"<unit> explains <share> of the <metric> gap" for the largest contributor to a miss."""
    top = a.contributors[0] if a.missed and a.contributors else None
    if top is None or top.share is None:
        return ""
    return Msg("present_gap_explains", unit=unit_name(tree, top), share=fmt.percent(top.share, 0),
               metric=metric.display_name(lang)).render(lang)


def delta(v: float | None, unit: str | None, lang: str) -> str:
    """A signed difference in the metric's unit; percentage points for a percentage."""
    if not fmt.finite(v):
        return fmt.DASH
    if (unit or "").strip() in {"%", "percent", "pct", "百分比"}:
        points = round(v * 100, 2) or 0.0  # never -0.00
        return f"{points:+,.2f} pt" if points else "0.00 pt"
    return ("+" if v > 0 else "") + fmt.value(v, unit, lang)


def gap_view(a: Attribution, metric: Metric, tree: OrgTree, lang: str, top: int = TOP) -> GapView:
    if not a.available:
        return GapView(unavailable=Msg("present_gap_unavailable", why=a.reason).render(lang))
    ratio = a.kind == RATIO
    rows = []
    for effect, lines in (("gap_widens", a.contributors[:top]), ("gap_narrows", a.offsetters[:top])):
        for x in lines:
            name = unit_name(tree, x)
            row = {t("org_unit", lang): render(name, lang) if isinstance(name, Msg) else f"{name} ({x.org})",
                   t("gap_effect", lang): t(effect, lang),
                   t("actual", lang): fmt.value(x.actual, metric.unit, lang),
                   t("target", lang): fmt.value(x.target, metric.unit, lang),
                   t("gap_contribution", lang): delta(x.contribution, metric.unit, lang),
                   t("gap_share", lang): fmt.percent(x.share)}
            if ratio:
                row[t("gap_rate_effect", lang)] = delta(x.rate_effect, metric.unit, lang)
                row[t("gap_mix_effect", lang)] = delta(x.mix_effect, metric.unit, lang)
            rows.append(row)
    notes = []
    if a.residual:
        notes.append(Msg("present_gap_residual", value=delta(a.residual, metric.unit, lang)).render(lang))
    for org, why in a.excluded:
        name = tree.units[org].name if org in tree.units else ""
        notes.append((Msg("present_gap_left_out", unit=name, why=why) if name
                      else Msg("present_gap_left_out_others", why=why)).render(lang))
    return GapView(headline(a, metric, tree, lang), rows, notes)
