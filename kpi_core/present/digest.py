"""A subscription's digest: its metrics at one unit, this period against the previous one — what
turned red or green, the biggest movers — as text, rows, an Excel sheet and a PNG, in the
reader's language and within their access."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import altair as alt
import openpyxl
import pandas as pd
import vl_convert as vlc
from openpyxl.styles import Font, PatternFill

from kpi_core.model import display as fmt
from kpi_core.model.access import Actor
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import parse_period
from kpi_core.model.safe_export import neutralise
from kpi_core.present.board_export import FILLS
from kpi_core.query.api import Cell, Query, run
from kpi_core.store.warehouse import Warehouse

MOVERS = 3
STATUS_COLOURS = {"green": "#009E73", "amber": "#E69F00", "red": "#D55E00", "no_data": "#BBBBBB",
                  "no_target": "#56B4E9"}
COLUMNS = ("metric", "unit", "actual", "target", "attainment", "previous", "status")


@dataclass(frozen=True)
class Line:
    metric: str
    now: Cell
    before: Cell | None

    @property
    def change(self) -> float | None:
        """Attainment now minus the previous period's (None where either is missing)."""
        if self.before is None or self.now.attainment is None or self.before.attainment is None:
            return None
        return self.now.attainment - self.before.attainment


@dataclass(frozen=True)
class Digest:
    org: str
    period: str
    lines: list[Line]

    @property
    def turned_red(self) -> list[Line]:
        return [x for x in self.lines if x.now.status == "red" and (x.before is None or x.before.status != "red")]

    @property
    def turned_green(self) -> list[Line]:
        return [x for x in self.lines
                if x.now.status == "green" and x.before is not None and x.before.status != "green"]

    @property
    def movers(self) -> list[Line]:
        """The largest moves in attainment, either way, largest first."""
        moved = [x for x in self.lines if x.change]
        return sorted(moved, key=lambda x: (-abs(x.change), x.metric))[:MOVERS]

    @property
    def has_data(self) -> bool:
        return any(x.now.status != "no_data" for x in self.lines)


def build(wh: Warehouse, metrics: list[str], org: str, period: str, *, today: dt.date,
          actor: Actor | None = None) -> Digest:
    """Each metric at `org`, `period` against the period before (the query API's own cells)."""
    p = parse_period(period)
    q = Query(tuple(dict.fromkeys(metrics)), org=org, grain=p.grain, first=p.shift(-1).label, last=p.label)
    cells = {(c.metric, c.period): c for c in run(wh, q, today=today, actor=actor).cells}
    lines = [Line(m, cells[(m, p.label)], cells.get((m, p.shift(-1).label)))
             for m in q.metrics if (m, p.label) in cells]
    return Digest(org, p.label, lines)


def _name(m: str, metrics: dict[str, Metric], lang: str) -> str:
    return metrics[m].display_name(lang) if m in metrics else m


def _status(status: str, lang: str) -> str:
    return Msg(f"jobs_digest_status_{status}").render(lang)


def rows(d: Digest, metrics: dict[str, Metric], tree: OrgTree, lang: str) -> list[dict]:
    """The digest as a table, its headers in the reader's language."""
    unit = tree.units[d.org].name
    head = [Msg(f"jobs_digest_col_{c}").render(lang) for c in COLUMNS]
    out = []
    for x in d.lines:
        u = metrics[x.metric].unit if x.metric in metrics else None
        out.append(dict(zip(head, [
            _name(x.metric, metrics, lang), unit, fmt.value(x.now.actual, u, lang), fmt.value(x.now.target, u, lang),
            fmt.attainment(x.now.attainment), fmt.attainment(x.before.attainment if x.before else None),
            _status(x.now.status, lang)], strict=True)))
    return out


def text(d: Digest, metrics: dict[str, Metric], tree: OrgTree, lang: str, link: str | None = None) -> str:
    """The e-mail's and inbox's words: what turned red or green, the biggest movers."""
    if not d.has_data:
        return Msg("jobs_digest_no_data", period=d.period).render(lang)
    unit = tree.units[d.org].name
    sep = "、" if lang == "zh" else ", "

    def items(lines: list[Line]) -> str:
        return sep.join(Msg("jobs_digest_item", metric=_name(x.metric, metrics, lang), unit=unit).render(lang)
                        for x in lines)

    out = []
    if d.turned_red:
        out.append(Msg("jobs_digest_turned_red", items=items(d.turned_red)).render(lang))
    if d.turned_green:
        out.append(Msg("jobs_digest_turned_green", items=items(d.turned_green)).render(lang))
    if not d.turned_red and not d.turned_green:
        out.append(Msg("jobs_digest_none_turned").render(lang))
    if d.movers:
        moved = sep.join(Msg("jobs_digest_mover", metric=_name(x.metric, metrics, lang), unit=unit,
                             change=f"{x.change * 100:+.1f} pp").render(lang) for x in d.movers)
        out.append(Msg("jobs_digest_movers", items=moved).render(lang))
    if link:
        out.append(Msg("jobs_digest_open", link=link).render(lang))
    return "\n".join(out)


def excel(table: list[dict], title: str, statuses: list[str]) -> bytes:
    """The rows as a workbook: a title line, a header, one row per metric coloured by status."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "digest"
    ws["A1"] = neutralise(title)
    ws["A1"].font = Font(bold=True, size=13)
    head = list(table[0]) if table else []
    for j, h in enumerate(head, start=1):
        ws.cell(row=3, column=j, value=h).font = Font(bold=True)
    for i, (row, status) in enumerate(zip(table, statuses, strict=True), start=4):
        for j, v in enumerate(row.values(), start=1):
            cell = ws.cell(row=i, column=j, value=neutralise(v))
            if j == len(head) and status in FILLS:
                cell.fill = PatternFill("solid", fgColor=FILLS[status])
    for j in range(1, len(head) + 1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width = 18
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def png(d: Digest, metrics: dict[str, Metric], lang: str, title: str) -> bytes | None:
    """Attainment by metric as bars coloured by status (None when nothing has an attainment)."""
    df = pd.DataFrame([{"metric": _name(x.metric, metrics, lang), "attainment": x.now.attainment,
                        "status": x.now.status} for x in d.lines if x.now.attainment is not None])
    if df.empty:
        return None
    label = Msg("jobs_digest_col_attainment").render(lang)
    chart = alt.Chart(df).mark_bar().encode(
        y=alt.Y("metric:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("attainment:Q", title=label, axis=alt.Axis(format="%")),
        color=alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
                        legend=None),
    ).properties(title=title, width=480)
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    with alt.utils.schemapi.debug_mode(False):
        spec = (chart + rule).to_dict(validate=False)
    return vlc.vegalite_to_png(spec, scale=2)
