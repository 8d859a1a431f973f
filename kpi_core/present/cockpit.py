"""The executive cockpit as data: headline cards, the BSC view, the children × metrics heat map
and the "what is red and since when" list for one org unit and period.

Two engine queries serve it all: the unit itself over a trailing series of periods (values,
sparklines, change vs last period and last year, how long a metric has been red) and its direct
children over the same series (heat map and their red list).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.engine import attainment as att
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Grain, Period, last_full_month, parse_period
from kpi_core.model.text import visible
from kpi_core.query.api import Cell, Query, run
from kpi_core.store import dictionary, settings
from kpi_core.store.warehouse import Warehouse

PERSPECTIVES = ("financial", "customer", "internal_process", "learning_growth")
# Periods in a series: 13 months / 5 quarters / 5 years hold the same period a year before.
SERIES = {"month": 13, "quarter": 5, "year": 5}
YEAR_BACK = {"month": 12, "quarter": 4, "year": 1}
HEADLINE = 8


@dataclass
class Card:
    metric: str
    cell: Cell
    previous: Cell | None
    last_year: Cell | None
    series: list[Cell]


@dataclass
class RedItem:
    org: str
    metric: str
    since: str
    earlier: bool  # red already at the start of the series: since then or earlier
    cell: Cell


@dataclass
class Cockpit:
    org: str
    period: str
    grain: Grain
    metrics: dict[str, Metric]
    cards: dict[str, Card]
    headline: list[str]
    perspectives: dict[str, list[str]]
    perspective_scores: dict[str, float | None]
    score: float | None
    grade: str | None
    children: list[str]
    heat: dict[tuple[str, str], Cell]  # (child, metric) -> cell at the period
    red: list[RedItem] = field(default_factory=list)

    def perspectives_order(self) -> list[str]:
        """The metric codes, perspective by perspective."""
        return [c for p in PERSPECTIVES for c in self.perspectives.get(p, [])]


def cockpit_metrics(metrics: dict[str, Metric]) -> list[str]:
    """Metrics shown: those with a BSC perspective, in perspective order, then dictionary order."""
    order = {p: i for i, p in enumerate(PERSPECTIVES)}
    chosen = [m for m in metrics.values() if m.perspective in order]
    return [m.code for m in sorted(chosen, key=lambda m: order[m.perspective])]  # sort is stable


def series_range(period: Period) -> tuple[Period, Period]:
    return period.shift(-(SERIES[period.grain] - 1)), period


def build(wh: Warehouse, tree: OrgTree, org: str, period: str, *, today=None, actor: Actor | None = None) -> Cockpit:
    """Everything the cockpit page shows, computed by the engine, within what `actor` may read."""
    if actor is not None:
        access.check(actor, tree, "read", org)
    p = parse_period(period)
    metrics = dictionary.current(wh)
    codes = cockpit_metrics(metrics)
    first, last = series_range(p)
    q = Query(tuple(codes), org, "self", p.grain, first.label, last.label)
    own = _by_key(run(wh, q, today=today, actor=actor).cells) if codes else {}
    children = list(tree.children.get(org, []))
    if actor is not None:
        children = access.visible_units(actor, tree, children)
    kids = _by_key(run(wh, Query(tuple(codes), org, "children", p.grain, first.label, last.label),
                       today=today, actor=actor).cells) if codes and children else {}
    labels = [x.label for x in _periods(first, last)]
    cards = {}
    for code in codes:
        series = [own[(code, org, lab)] for lab in labels]
        cards[code] = Card(code, series[-1], series[-2] if len(series) > 1 else None,
                           own.get((code, org, p.shift(-YEAR_BACK[p.grain]).label)), series)
    groups: dict[str, list[str]] = {}
    for code in codes:
        groups.setdefault(metrics[code].perspective, []).append(code)
    pscores = {pp: att.weighted_score((1.0, cards[c].cell.score) for c in cs) for pp, cs in groups.items()}
    total = att.weighted_score((1.0, s) for s in pscores.values())
    grade = att.grade(total, settings.get(wh, "grade_bands"), settings.get(wh, "lowest_grade"))
    headline = [c for c in codes if metrics[c].kind == "result"][:HEADLINE] or codes[:HEADLINE]
    heat = {(child, code): kids[(code, child, p.label)] for child in children for code in codes}
    red = [item for code in codes
           for item in [_red_since(org, code, [own[(code, org, lab)] for lab in labels])] if item]
    red += [item for child in children for code in codes
            for item in [_red_since(child, code, [kids[(code, child, lab)] for lab in labels])] if item]
    return Cockpit(org, p.label, p.grain, metrics, cards, headline, groups, pscores, total, grade, children,
                   heat, red)


def _by_key(cells: list[Cell]) -> dict[tuple[str, str, str], Cell]:
    return {(c.metric, c.org, c.period): c for c in cells}


def _periods(first: Period, last: Period) -> list[Period]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = p.shift(1)
    return out


def _red_since(org: str, metric: str, series: list[Cell]) -> RedItem | None:
    """A red item when the last cell is red: since the first period of its unbroken red run."""
    if not series or series[-1].status != "red":
        return None
    i = len(series) - 1
    while i > 0 and series[i - 1].status == "red":
        i -= 1
    return RedItem(org, metric, series[i].period, i == 0, series[-1])


# --- places: where the user is, in the URL ---------------------------------------------------------

FINER: dict[str, Grain | None] = {"year": "quarter", "quarter": "month", "month": None}


@dataclass(frozen=True)
class Place:
    org: str
    period: str

    @property
    def grain(self) -> Grain:
        return parse_period(self.period).grain


def default_period(today) -> str:
    """The last full month before today: the latest period whose actuals are usually in."""
    return last_full_month(today).label


def place_from(params: dict, tree: OrgTree, today) -> tuple[Place, list[Msg]]:
    """The place in the query parameters, with what was wrong in them (a bad link falls back)."""
    problems = []
    org = params.get("org") or tree.root
    if org not in tree:
        found = tree.find(org)  # a link typed by hand: ?org=east is EAST
        if len(found) == 1:
            org = found[0]
        else:
            problems.append(Msg("present_no_such_unit", org=visible(org)))
            org = tree.root
    period = params.get("period") or default_period(today)
    try:
        period = parse_period(period).label
    except ValueError as exc:
        problems.append(Msg("present_bad_period", period=visible(period),
                            why=exc.args[0] if exc.args and isinstance(exc.args[0], Msg) else str(exc)))
        period = default_period(today)
    return Place(org, period), problems


def breadcrumb(tree: OrgTree, org: str) -> list[str]:
    """Codes from the top of the tree down to `org`."""
    return list(tree.unit(org).path)


def finer_periods(period: str) -> list[str]:
    """The periods one grain down (a year's quarters, a quarter's months); [] for a month."""
    p = parse_period(period)
    grain = FINER[p.grain]
    if grain is None:
        return []
    return sorted({m.to(grain).label for m in p.months()}, key=parse_period)


def coarser_periods(period: str) -> list[str]:
    """The periods containing this one, coarsest first (for the period breadcrumb)."""
    p = parse_period(period)
    return [p.to(g).label for g in ("year", "quarter") if ["month", "quarter", "year"].index(g)
            > ["month", "quarter", "year"].index(p.grain)]
