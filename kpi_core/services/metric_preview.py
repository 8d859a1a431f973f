"""A draft metric's values before it is saved: the last periods of the reader's top unit and its
children, computed by the cockpit's own evaluator (query/evaluator.py) over the warehouse as it is.

Nothing is written. The draft stands in the dictionary beside the stored metrics (replacing the
stored version of its code while it is edited), under a version number of its own that no
partial-aggregates table has, so a dataset measure is computed from the dataset's rows; and under
a cache key of its own, so nothing the draft computes is read back for the stored metric.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import duckdb

from kpi_core.engine import attainment as att
from kpi_core.engine.compile import KEYS, org_closure, org_keys
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.periods import Period, fiscal_year
from kpi_core.query.api import latest_month
from kpi_core.query.evaluator import Evaluator, needed
from kpi_core.store import dictionary, settings
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse

PERIODS = {"month": 6, "quarter": 4, "year": 3}  # how far back a preview reaches, by the metric's frequency
_DRAFTS = itertools.count(1)  # each preview its own negative version and cache key


@dataclass(frozen=True)
class PreviewCell:
    actual: float | None
    target: float | None
    attainment: float | None
    status: str  # green, amber, red, no_data, no_target; "" for a period still in progress


@dataclass
class Preview:
    """The draft's values: `units` (the top unit first) × `periods`, oldest first."""

    metric: str
    grain: str
    periods: list[str]
    units: list[str]
    names: dict[str, str]
    cells: dict[tuple[str, str], PreviewCell] = field(default_factory=dict)
    unmapped: int = 0  # dataset rows in these periods whose org value is no unit's
    as_of: str | None = None  # the latest month the draft has a value for

    @property
    def empty(self) -> bool:
        return all(c.actual is None for c in self.cells.values())


def preview(wh: Warehouse, draft: Metric, *, actor: Actor, today: dt.date | None = None) -> Preview:
    """The draft's values for the actor's top unit and its children (those the actor may read),
    over the last periods at the draft's frequency up to its latest data."""
    today = today or dt.date.today()
    try:
        return _preview(wh, draft, actor, today)
    except duckdb.Error as exc:  # a measure that parses but does not run on these columns (sum of text)
        detail = str(exc).strip().splitlines()[0][:300]
        raise KpiError(Msg("services_preview_failed", detail=detail)) from None


def _preview(wh: Warehouse, draft: Metric, actor: Actor, today: dt.date) -> Preview:
    with wh.connect() as con:
        with fiscal_year(int(settings.raw(con, "fiscal_year_start"))):
            tree = load_tree(con)
            root = access.home(actor, tree)
            if root is None:
                return Preview(draft.code, draft.frequency, [], [], {})
            access.check(actor, tree, "read", root)
            units = [root, *access.visible_units(actor, tree, tree.children.get(root, []))]
            metrics = {**dictionary.current(wh), draft.code: draft}
            closure = org_closure(tree)
            n = next(_DRAFTS)
            con.register(KEYS, org_keys(closure))
            try:
                probe = _engine(con, tree, metrics, draft, units, [], closure, n)
                as_of = probe.as_of(draft)
                periods = _periods(draft.frequency, as_of or latest_month(wh, today), today)
                engine = _engine(con, tree, metrics, draft, units, periods, closure, n)
                out = Preview(draft.code, draft.frequency, [p.label for p in periods], units,
                              {u: tree.units[u].name for u in units}, as_of=as_of)
                green, amber = ((draft.thresholds.green, draft.thresholds.amber)
                                if "thresholds" in draft.model_fields_set else engine.default_thresholds())
                for unit in units:
                    for p in periods:
                        out.cells[(unit, p.label)] = _cell(engine, draft, unit, p, as_of, green, amber)
                out.unmapped = engine.unmapped.get(draft.code, 0)
            finally:
                con.unregister(KEYS)
    return out


def _engine(con, tree, metrics: dict[str, Metric], draft: Metric, units: list[str], periods: list[Period],
            closure, n: int) -> Evaluator:
    engine = Evaluator(con, tree, metrics, units, periods, False, closure)
    engine.versions[draft.code] = -n  # no partials table holds this version: computed from rows
    engine.cache_key = ("metric-preview", n)
    engine.wanted = needed(metrics, (draft.code,))
    return engine


def _periods(grain: str, last_month: str | None, today: dt.date) -> list[Period]:
    now = Period("month", today.year, today.month)
    end = min(Period("month", *map(int, last_month.split("-"))), now) if last_month else now
    last = end.to(grain)  # type: ignore[arg-type]
    return [last.shift(-i) for i in reversed(range(PERIODS[grain]))]


def _cell(engine: Evaluator, m: Metric, unit: str, p: Period, as_of: str | None, green: float,
          amber: float) -> PreviewCell:
    actual, _, _ = engine.actual(m, unit, p)
    target = None if m.direction == "in_range" else engine.target(m, unit, p)[0]
    months = p.months()
    if as_of is not None and months[0].label <= as_of < months[-1].label:  # a quarter or year not over
        return PreviewCell(actual, target, None, "")
    low, high = (m.range.low, m.range.high) if m.range else (None, None)
    status = att.status(actual, target, m.direction, low=low, high=high, green=green, amber=amber)
    return PreviewCell(actual, target, att.attainment(actual, target, m.direction, low, high), status.code)
