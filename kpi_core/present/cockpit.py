"""The executive cockpit as data: headline cards, the BSC view, the children × metrics heat map
and the "what is red and since when" list for one org unit and period.

Two engine queries serve it all: the unit itself over a trailing series of periods (values,
sparklines, change vs last period and last year, how long a metric has been red) and its direct
children over the same series (heat map and their red list).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Grain, Period, last_full_month, parse_period
from kpi_core.model.scorecard import NO_PERSPECTIVE, PERSPECTIVES, perspective_of
from kpi_core.model.text import visible
from kpi_core.query.api import Cell, Query, context, run
from kpi_core.query.scorecard import Scorecard, candidate, current_cards, score, settle
from kpi_core.store.warehouse import Warehouse

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
    heat: dict[tuple[str, str], Cell | None]  # (child, metric) -> cell at the period; None: not on its scorecard
    red: list[RedItem] = field(default_factory=list)
    scorecard: Scorecard | None = None  # what the unit is judged on: own, inherited or the default
    heat_rows: list[str] = field(default_factory=list)  # the union of the children's scorecards

    def perspectives_order(self) -> list[str]:
        """The unit's scorecard metrics, perspective by perspective."""
        return [c for p in (*PERSPECTIVES, NO_PERSPECTIVE) for c in self.perspectives.get(p, [])]


def series_range(period: Period) -> tuple[Period, Period]:
    return period.shift(-(SERIES[period.grain] - 1)), period


def build(wh: Warehouse, tree: OrgTree, org: str, period: str, *, today=None, actor: Actor | None = None) -> Cockpit:
    """Everything the cockpit page shows for the unit's scorecard (SPEC §3), computed by the engine,
    within what `actor` may read: its own KPIs, and for the heat map each child's."""
    if actor is not None:
        access.check(actor, tree, "read", org)
    p = parse_period(period)
    _, metrics = context(wh)  # the dictionary the queries below read, kept per data version
    defined = current_cards(wh)
    first, last = series_range(p)
    labels = [x.label for x in _periods(first, last)]
    mine, origin, source = candidate(defined, tree, org, metrics)
    own = _series(wh, mine.codes, org, "self", p, first, today, actor)
    kept, dropped = settle(mine, origin, {c: own[(c, org, p.label)] for c in mine.codes})
    card = score(wh, kept, {c: own[(c, org, p.label)] for c in kept.codes}, metrics, p.label)
    card.origin, card.source, card.dropped = origin, source, dropped
    codes = card.codes
    cards = {}
    for code in codes:
        series = [own[(code, org, lab)] for lab in labels]
        cards[code] = Card(code, series[-1], series[-2] if len(series) > 1 else None,
                           own.get((code, org, p.shift(-YEAR_BACK[p.grain]).label)), series)
    groups: dict[str, list[str]] = {}
    for item in card.items:
        groups.setdefault(item["perspective"], []).append(item["metric"])
    children = list(tree.children.get(org, []))
    if actor is not None:
        children = access.visible_units(actor, tree, children)
    theirs = {child: candidate(defined, tree, child, metrics) for child in children}
    wanted = list(dict.fromkeys(c for d, _, _ in theirs.values() for c in d.codes))
    kids = _series(wh, wanted, org, "children", p, first, today, actor) if children else {}
    on_card = {child: set(settle(d, o, {c: kids[(c, child, p.label)] for c in d.codes})[0].codes)
               for child, (d, o, _) in theirs.items()}
    rows = [c for c in _ordered(wanted, metrics) if any(c in on_card[child] for child in children)]
    heat = {(child, code): kids[(code, child, p.label)] if code in on_card[child] else None
            for child in children for code in rows}
    red = [item for code in codes
           for item in [_red_since(org, code, [own[(code, org, lab)] for lab in labels])] if item]
    red += [item for child in children for code in rows if code in on_card[child]
            for item in [_red_since(child, code, [kids[(code, child, lab)] for lab in labels])] if item]
    return Cockpit(org, p.label, p.grain, metrics, cards, _headline(card, metrics), groups, card.perspectives,
                   card.score, card.grade, children, heat, red, card, rows)


def _series(wh: Warehouse, codes: list[str], org: str, scope: str, p: Period, first: Period, today,
            actor: Actor | None) -> dict[tuple[str, str, str], Cell]:
    if not codes:
        return {}
    return _by_key(run(wh, Query(tuple(codes), org, scope, p.grain, first.label, p.label), today=today,
                       actor=actor).cells)


def _ordered(codes: list[str], metrics: dict[str, Metric]) -> list[str]:
    rank = {pp: i for i, pp in enumerate(PERSPECTIVES)}
    return sorted(codes, key=lambda c: rank.get(perspective_of(metrics.get(c)), len(rank)))


def _headline(card: Scorecard, metrics: dict[str, Metric]) -> list[str]:
    """The cards on top: the scorecard's heaviest metrics (results first on a tie), in its order."""
    share = {it["metric"]: it["share"] for it in card.items}
    chosen = set(sorted(share, key=lambda c: (-round(share[c], 9), metrics[c].kind != "result"))[:HEADLINE])
    return [c for c in card.codes if c in chosen]


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


def default_period(today, latest: str | None = None) -> str:
    """The latest month with data (`latest`, from query.api.latest_month), else the last full month."""
    return latest or last_full_month(today).label


def place_from(params: dict, tree: OrgTree, today, latest: str | None = None) -> tuple[Place, list[Msg]]:
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
    period = params.get("period") or default_period(today, latest)
    try:
        period = parse_period(period).label
        if latest and parse_period(period).months()[0].label > latest:  # nothing to judge there yet
            problems.append(Msg("present_period_after_data", period=period, latest=latest))
            period = latest
    except ValueError as exc:
        problems.append(Msg("present_bad_period", period=visible(period),
                            why=exc.args[0] if exc.args and isinstance(exc.args[0], Msg) else str(exc)))
        period = default_period(today, latest)
    return Place(org, period), problems


def breadcrumb(tree: OrgTree, org: str) -> list[str]:
    """Codes from the top of the tree down to `org`."""
    return list(tree.unit(org).path)


def finer_periods(period: str, latest: str | None = None) -> list[str]:
    """The periods one grain down (a year's quarters, a quarter's months); [] for a month. None
    that starts after the `latest` month with data: it would have no status to show."""
    p = parse_period(period)
    grain = FINER[p.grain]
    if grain is None:
        return []
    finer = sorted({m.to(grain).label for m in p.months()}, key=parse_period)
    return [f for f in finer if latest is None or parse_period(f).months()[0].label <= latest]


def coarser_periods(period: str) -> list[str]:
    """The periods containing this one, coarsest first (for the period breadcrumb)."""
    p = parse_period(period)
    return [p.to(g).label for g in ("year", "quarter") if ["month", "quarter", "year"].index(g)
            > ["month", "quarter", "year"].index(p.grain)]
