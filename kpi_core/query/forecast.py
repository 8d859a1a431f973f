"""Period-end forecasts for a metric × org unit (SPEC §9), from the cockpit's own numbers.

The series is the metric's values at its reporting grain (months, or quarters for a quarterly
metric) as the query API gives them, so uploaded, dataset and formula metrics and the roll-ups
are the cockpit's own. The period's value combines its value to date (the query API's) with the
forecasts for the periods left, as the metric's time_agg combines periods (engine.forecast).

A formula metric (a ratio such as gross margin or inventory turnover) is not forecast from its
own monthly series, whose months do not add up to the period's value (turnover over a quarter is
not the mean of three monthly turnovers): each component is forecast to the period end and the
formula is evaluated on them. Its interval is the formula's smallest and largest value over the
corners of the components' intervals (wider than 80 %: the safe side); its method is `formula`,
and the components' own forecasts are listed under `components`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import asdict, dataclass, field

from kpi_core.engine import attainment as att
from kpi_core.engine.forecast import SEASON, Projection, project
from kpi_core.engine.formula import NoValue, components, evaluate
from kpi_core.model import access, config
from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.periods import GRAINS, Period, fiscal_year, parse_period
from kpi_core.model.text import visible
from kpi_core.query.api import Query, context, kept_for, latest_month, run
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.store import settings
from kpi_core.store.warehouse import Warehouse

HISTORY = 36          # periods of history read before the period's end (three seasons of months)
MAX_CORNERS = 6       # components whose interval corners are tried (2**6 formula evaluations)
FORMULA = "formula"
PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
WARM_LIMIT = 24       # forecasts warm() makes after an import (0.1–1.7 s each, in the jobs' thread, which
                      # runs one job at a time: deliveries wait for it; 24 covers the company's cards)

log = logging.getLogger(__name__)


@dataclass
class Forecast:
    """A period-end forecast and how far to trust it. `months_done`/`months_left` count the
    metric's reporting periods (months; quarters for a quarterly metric)."""

    metric: str
    org: str
    period: str
    method: str | None = None
    value: float | None = None
    low: float | None = None                 # the 80 % prediction interval
    high: float | None = None
    actual_to_date: float | None = None
    months_done: int = 0
    months_left: int = 0
    target: float | None = None              # the whole period's target
    projected_attainment: float | None = None
    projected_status: str = "no_data"
    run_rate_needed: float | None = None     # per period left, to reach the target (sum and avg metrics)
    mase: float | None = None
    mape: float | None = None
    backtest: dict[str, dict] = field(default_factory=dict)  # method -> mae, mase, mape, origins, errors
    path: list[dict] = field(default_factory=list)  # the period's value as it builds: period, value, low, high, kind
    components: dict[str, dict] = field(default_factory=dict)  # a formula's components' forecasts
    notes: list[str] = field(default_factory=list)
    reason: str | None = None                # a Msg: why no forecast could be made

    def as_dict(self) -> dict:
        return asdict(self)


def forecast(wh: Warehouse, metric: str, org: str, period: str, *, today: dt.date | None = None,
             actor: Actor | None = None) -> Forecast:
    """The forecast of `metric` at `org` to the end of `period`, within what `actor` may read
    (None: a trusted in-process caller); kept until a write changes the numbers it is made of."""
    metrics, unit, today, start = _where(wh, metric, org, actor, today)
    with fiscal_year(start):
        p = parse_period(period)
        return kept_for(wh, metric, _key(metric, unit, p, today, start),
                        lambda: _forecast(wh, metrics, metrics[metric], unit, p, today))


def _where(wh: Warehouse, metric: str, org: str, actor: Actor | None,
           today: dt.date | None) -> tuple[dict[str, Metric], str, dt.date, int]:
    """(the dictionary, the unit's code, today, the fiscal year's first month); NotFound for an
    unknown metric or unit, AccessDenied for a unit `actor` may not read."""
    tree, metrics = context(wh)
    if metric not in metrics:
        raise NotFound(Msg("forecast_no_metric", metric=visible(metric)))
    unit = tree.resolve(org)
    if actor is not None:
        access.check(actor, tree, "read", unit)
    today = today or config.today()  # $KPI_TODAY pins it (demos, tests)
    with wh.read() as con:
        start = int(settings.raw(con, "fiscal_year_start"))
    return metrics, unit, today, start


def _key(metric: str, unit: str, p: Period, today: dt.date, start: int) -> tuple:
    return ("forecast", metric, unit, p.label, today.year, today.month, start)


class _NotKept(Exception):
    """kept_forecast's way of reading the keep without making a forecast."""


def _not_kept() -> Forecast:
    raise _NotKept


def kept_forecast(wh: Warehouse, metric: str, org: str, period: str, today: dt.date | None = None, *,
                  actor: Actor | None = None) -> Forecast | None:
    """The forecast `forecast()` has kept for the numbers now, or None when there is none yet
    (or the metric or unit is unknown or out of `actor`'s reach): it never computes one, so a
    page may ask for every card (a cold forecast takes up to ~2 s, a kept one ~3 ms)."""
    try:
        _, unit, today, start = _where(wh, metric, org, actor, today)
    except (NotFound, AccessDenied):
        return None
    with fiscal_year(start):
        key = _key(metric, unit, parse_period(period), today, start)
    # The keep's own lookup: for a forecast not kept it raises, and nothing is kept. Caught inside a
    # connection of our own (an error out of the outermost connection would let the file go).
    with wh.read():
        try:
            return kept_for(wh, metric, key, _not_kept)
        except _NotKept:
            return None


def kept_forecasts(wh: Warehouse, metrics: list[str], org: str, period: str, today: dt.date | None = None, *,
                   actor: Actor | None = None) -> dict[str, Forecast | None]:
    """kept_forecast for each metric at one unit, over one connection."""
    with wh.read():
        return {m: kept_forecast(wh, m, org, period, today, actor=actor) for m in metrics}


def in_progress(wh: Warehouse, today: dt.date | None = None) -> list[str]:
    """The quarters, then the years, in progress: begun by today, with a month after the latest
    month with data still to come; the one holding that latest month first, then today's."""
    today = today or config.today()
    this_month = Period("month", today.year, today.month)
    latest = latest_month(wh, today)
    last = parse_period(latest) if latest else None
    with wh.read() as con:
        start = int(settings.raw(con, "fiscal_year_start"))
    out: list[str] = []
    with fiscal_year(start):
        for grain in ("quarter", "year"):
            for p in (x.to(grain) for x in (last or this_month, this_month)):
                if p.label not in out and p.months()[0] <= this_month and (last is None or last < p.months()[-1]):
                    out.append(p.label)
    return out


def warm(wh: Warehouse, today: dt.date | None = None, *, limit: int = WARM_LIMIT) -> int:
    """Forecasts made ahead (after an import) so that pages find them kept: the company (the tree's
    root) and its children, for the root's scorecard metrics heaviest first (its headline cards
    lead), at the quarter and then the year in progress; at most `limit`. A forecast that fails is
    skipped. Returns how many are kept."""
    tree, _ = context(wh)
    today = today or config.today()
    periods = in_progress(wh, today)
    if tree.root is None or not periods:
        return 0
    card = unit_scorecard(wh, tree, tree.root, periods[0], today=today)
    codes = [it["metric"] for it in sorted(card.items, key=lambda it: -(it.get("share") or 0.0))]
    orgs = [tree.root, *tree.children.get(tree.root, [])]
    made = 0
    for p, metric, org in itertools.islice(itertools.product(periods, codes, orgs), limit):
        try:
            forecast(wh, metric, org, p, today=today)
        except Exception:  # noqa: BLE001 - one series' trouble leaves the others to warm
            log.warning("forecast warming: %s at %s for %s failed", metric, org, p, exc_info=True)
            continue
        made += 1
    return made


def forecasts(wh: Warehouse, metrics: list[str], orgs: list[str], period: str, *, today: dt.date | None = None,
              actor: Actor | None = None) -> dict[tuple[str, str], Forecast]:
    """Forecasts for every metric × unit (a tile, the cockpit); each kept as `forecast` keeps it."""
    return {(m, o): forecast(wh, m, o, period, today=today, actor=actor) for m in metrics for o in orgs}


def _forecast(wh: Warehouse, metrics: dict[str, Metric], m: Metric, unit: str, p: Period, today: dt.date) -> Forecast:
    out = Forecast(m.code, unit, p.label)
    this_month = Period("month", today.year, today.month)
    cell = run(wh, Query((m.code,), unit, "self", p.grain, p.label, p.label), today=today).cells[0]
    out.target = cell.target_full
    if p.months()[0] > this_month:
        return _refused(out, Msg("forecast_not_started", period=p.label))
    if GRAINS.index(p.grain) < GRAINS.index(m.frequency):
        return _refused(out, Msg("forecast_finer_than_reported", period=p.label, frequency=m.frequency))
    if m.source_type == "formula":
        _by_components(wh, metrics, m, unit, p, today, out, cell.actual)
    else:
        _by_series(wh, m, unit, p, today, out, cell.actual)
    if out.reason is None:
        _judge(wh, m, out)
    return out


def _refused(out: Forecast, why: Msg) -> Forecast:
    out.reason = why
    return out


def _series(wh: Warehouse, m: Metric, unit: str, p: Period, today: dt.date) -> tuple[list[str], list[float]]:
    """The unit's values at the metric's grain up to its last value (not after this month), from
    the last gap on: (labels, values)."""
    grain = m.frequency
    end = min(p.months()[-1], Period("month", today.year, today.month)).to(grain)
    first = end.shift(-(HISTORY * PER_YEAR[grain] // 12 - 1))
    cells = run(wh, Query((m.code,), unit, "self", grain, first.label, end.label), today=today).cells
    values = [c.actual for c in cells]
    while values and values[-1] is None:
        values.pop()
    start = max((i + 1 for i, v in enumerate(values) if v is None), default=0)
    return [c.period for c in cells[start:len(values)]], [float(v) for v in values[start:]]


def _by_series(wh: Warehouse, m: Metric, unit: str, p: Period, today: dt.date, out: Forecast,
               to_date: float | None) -> Projection | None:
    labels, history = _series(wh, m, unit, p, today)
    if not history:
        _refused(out, Msg("forecast_no_data", metric=m.code, org=unit))
        return None
    subs = list(dict.fromkeys(x.to(m.frequency).label for x in p.months()))
    last = parse_period(labels[-1])
    done = [s for s in subs if parse_period(s) <= last]
    left = [s for s in subs if parse_period(s) > last]
    if not left:
        out.actual_to_date, out.months_done = to_date, len(done)
        _refused(out, Msg("forecast_period_over", period=p.label))
        return None
    horizon = _steps(last, parse_period(subs[-1]))
    to_date = to_date if done else None
    proj = project(history, horizon, m.time_agg, to_date=to_date, done=len(done), left=len(left),
                   season=SEASON[m.frequency])
    out.method, out.value, out.low, out.high = proj.method, proj.value, proj.low, proj.high
    out.actual_to_date, out.months_done, out.months_left = to_date, len(done), len(left)
    out.mase, out.mape, out.notes = proj.mase, proj.mape, [*proj.notes]
    out.backtest = {k: {"mae": s.mae, "mase": s.mase, "mape": s.mape, "origins": len(s.trials), "errors": s.errors}
                    for k, s in proj.scores.items()}
    out.path = _path(m.time_agg, dict(zip(labels, history, strict=True)), done, left, proj)
    return proj


def _steps(a: Period, b: Period) -> int:
    n, x = 0, a
    while x < b:
        x, n = x.shift(1), n + 1
    return n


def _path(agg: str, known: dict[str, float], done: list[str], left: list[str], proj: Projection) -> list[dict]:
    """The period's value as it builds up, period by period: actual to date, then forecast, the
    interval widening from nothing at the last actual to the period-end interval."""
    rows, running = [], []
    for label in done:
        if label in known:
            running.append(known[label])
            rows.append({"period": label, "value": _agg(agg, running), "low": None, "high": None, "kind": "actual"})
    forecast_part = list(proj.path[len(proj.path) - len(left):])
    for i, label in enumerate(left, start=1):
        v = _agg(agg, running + forecast_part[:i])
        share = i / len(left)
        lo = None if proj.low is None else v - (proj.value - proj.low) * share
        hi = None if proj.high is None else v + (proj.high - proj.value) * share
        rows.append({"period": label, "value": v, "low": lo, "high": hi, "kind": "forecast"})
    return rows


def _agg(agg: str, values: list[float]) -> float:
    return {"sum": sum, "avg": lambda v: sum(v) / len(v), "last": lambda v: v[-1], "min": min, "max": max}[agg](values)


def _by_components(wh: Warehouse, metrics: dict[str, Metric], m: Metric, unit: str, p: Period, today: dt.date,
                   out: Forecast, to_date: float | None) -> None:
    parts = [c for c in components(m.source.formula) if c in metrics]
    subs = {c: _forecast(wh, metrics, metrics[c], unit, p, today) for c in parts}
    for c, sub in subs.items():
        if sub.reason is not None:
            out.reason = Msg("forecast_component_failed", component=c, why=sub.reason)
            return
    try:
        out.value = evaluate(m.source.formula, {c: s.value for c, s in subs.items()})
    except NoValue as exc:
        out.reason = Msg("forecast_formula_no_value", why=exc.args[0] if exc.args else "")
        return
    out.low, out.high = _corners(m.source.formula, subs)
    out.method, out.actual_to_date = FORMULA, to_date if any(s.months_done for s in subs.values()) else None
    out.months_done = min(s.months_done for s in subs.values())
    out.months_left = max(s.months_left for s in subs.values())
    out.components = {c: {"method": s.method, "value": s.value, "low": s.low, "high": s.high, "mase": s.mase,
                          "mape": s.mape} for c, s in subs.items()}
    out.notes = [Msg("forecast_note_formula", components=", ".join(f"{c} ({s.method})" for c, s in subs.items()))]
    if out.actual_to_date is not None:
        out.path = [{"period": _last_done(subs), "value": out.actual_to_date, "low": None, "high": None,
                     "kind": "actual"}]
    out.path.append({"period": p.months()[-1].to(m.frequency).label, "value": out.value, "low": out.low,
                     "high": out.high, "kind": "forecast"})


def _last_done(subs: dict[str, Forecast]) -> str:
    return min(next(r["period"] for r in reversed(s.path) if r["kind"] == "actual") for s in subs.values()
               if any(r["kind"] == "actual" for r in s.path))


def _corners(formula: str, subs: dict[str, Forecast]) -> tuple[float | None, float | None]:
    """The formula's least and greatest value over its components' interval corners."""
    if len(subs) > MAX_CORNERS or any(s.low is None or s.high is None for s in subs.values()):
        return None, None
    values = []
    for corner in itertools.product(*((s.low, s.high) for s in subs.values())):
        try:
            values.append(evaluate(formula, dict(zip(subs, corner, strict=True))))
        except NoValue:
            return None, None  # a corner at zero in a denominator: no bound to give
    return min(values), max(values)


def _judge(wh: Warehouse, m: Metric, out: Forecast) -> None:
    """Projected attainment and status (engine.attainment, the metric's thresholds) and the run rate needed."""
    low, high = (m.range.low, m.range.high) if m.range else (None, None)
    if "thresholds" in m.model_fields_set:
        green, amber = m.thresholds.green, m.thresholds.amber
    else:
        with wh.read() as con:
            green, amber = float(settings.raw(con, "default_green")), float(settings.raw(con, "default_amber"))
    target = None if m.direction == "in_range" else out.target
    out.projected_attainment = att.attainment(out.value, target, m.direction, low, high)
    out.projected_status = att.status(out.value, target, m.direction, low=low, high=high, green=green,
                                      amber=amber).code
    if out.target is None or out.months_left == 0 or m.source_type == FORMULA or m.time_agg not in ("sum", "avg"):
        return
    done = out.actual_to_date or 0.0
    if m.time_agg == "sum":
        out.run_rate_needed = (out.target - done) / out.months_left
    else:  # the mean the periods left must average for the whole period's mean to reach the target
        out.run_rate_needed = (out.target * (out.months_done + out.months_left) - done * out.months_done) \
            / out.months_left

