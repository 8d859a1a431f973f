"""Whether an alert rule's condition holds, for each metric × unit in its scope (SPEC §9).

Numbers come from the query API (kpi_core.query.api) as a trusted reader; who may see a result
is decided when it is told (services/alert_recipients.py). Every condition judges one period:
the latest with data at the rule's grain, except missing data, which judges the latest period
whose due day has passed."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from kpi_core.model.alert import AlertRule
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import Period, fiscal_year
from kpi_core.query.api import Cell, Query, run
from kpi_core.query.forecast import forecast
from kpi_core.query.scorecard import candidate, current_cards
from kpi_core.store import settings
from kpi_core.store.warehouse import Warehouse

SCOPES = {"unit": "self", "children": "children", "subtree": "subtree"}
YEAR_STEPS = {"month": 12, "quarter": 4, "year": 1}
# The anomaly condition: how many periods of history it reads, and how many residuals it needs
# before it judges at all (fewer give a median and MAD that mean little).
HISTORY = {"month": 24, "quarter": 12, "year": 8}
MIN_RESIDUALS = 6
MAD_SCALE = 0.6745       # makes the MAD of normal data comparable to a standard deviation
MEAN_AD_SCALE = 1.253314  # the same for the mean absolute deviation, used when the MAD is 0


@dataclass(frozen=True)
class Judgement:
    """A rule's condition on one metric × unit at one period: does it hold, the value judged, why."""

    metric: str
    org: str
    period: str
    holds: bool
    value: float | None
    reason: Msg


def number(v: float | None) -> str:
    """A value as an alert states it."""
    if v is None or not math.isfinite(v):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    text = f"{v:,.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def percent(v: float) -> str:
    return f"{v:+.1%}"


def status_word(status: str) -> Msg:
    return Msg(f"alert_status_word_{status}")


def units_of(rule: AlertRule, tree: OrgTree) -> list[str]:
    org = rule.scope.org
    return {"unit": [org], "children": list(tree.children.get(org, [])), "subtree": tree.subtree(org)}[
        rule.scope.include]


def metrics_of(wh: Warehouse, rule: AlertRule, tree: OrgTree, metrics: dict[str, Metric]) -> list[str]:
    """The rule's metric, or every metric on its scope unit's scorecard (own, inherited or default)."""
    if rule.metric is not None:
        return [rule.metric]
    card, _origin, _source = candidate(current_cards(wh), tree, rule.scope.org, metrics)
    return card.codes


def latest_period(wh: Warehouse, grain: str, latest_month: str | None) -> Period | None:
    """The period at `grain` holding the latest month with data (it may still be in progress)."""
    if latest_month is None:
        return None
    year, month = map(int, latest_month.split("-"))
    with wh.connect() as con:
        start = int(settings.raw(con, "fiscal_year_start"))
    with fiscal_year(start):
        return Period("month", year, month).to(grain)


def due_date(period: Period, due_day: int) -> dt.date:
    """The day by which a period's actuals are due: `due_day` of the month after it."""
    end = period.end_day()
    return dt.date(end.year, end.month, due_day)


def due_period(grain: str, due_day: int, today: dt.date) -> Period:
    """The latest period at `grain` whose due day has passed by `today`."""
    p = Period("month", today.year, today.month).to(grain)
    while due_date(p, due_day) >= today:
        p = p.shift(-1)
    return p


def _cells(wh: Warehouse, rule: AlertRule, code: str, first: Period, last: Period,
           today: dt.date) -> dict[tuple[str, str], Cell]:
    q = Query((code,), rule.scope.org, SCOPES[rule.scope.include], rule.grain, first.label, last.label)  # type: ignore[arg-type]
    return {(c.org, c.period): c for c in run(wh, q, today=today).cells}


Judge = Callable[[Warehouse, AlertRule, Metric, list[str], Period, dt.date], list[Judgement]]


def _per_cell(test: Callable[[AlertRule, Cell, Cell | None], tuple[bool, float | None, Msg]],
              back: Callable[[Period], Period] | None = None) -> Judge:
    """A condition judged from the cell at the period (and one earlier cell, if `back` says which)."""

    def judge(wh, rule, m, units, p, today):
        before = back(p) if back else None
        cells = _cells(wh, rule, m.code, p, p, today)
        if before is not None:
            cells.update(_cells(wh, rule, m.code, before, before, today))
        out = []
        for u in units:
            cell = cells.get((u, p.label))
            if cell is None:
                continue
            holds, value, why = test(rule, cell, cells.get((u, before.label)) if before else None)
            out.append(Judgement(m.code, u, p.label, holds, value, why))
        return out

    return judge


def _cleared(cell: Cell) -> Msg:
    return Msg("alert_reason_clear", value=number(cell.actual), status=status_word(cell.status))


def _status(rule, cell, _):
    bad = ("red",) if rule.when.status == "red" else ("amber", "red")
    if cell.status in bad:
        return True, cell.actual, Msg("alert_reason_status", status=status_word(cell.status), rule=cell.rule)
    return False, cell.actual, _cleared(cell)


def _status_changed(rule, cell, before):
    judged = ("green", "amber", "red")
    if before is not None and cell.status in judged and before.status in judged and cell.status != before.status:
        return True, cell.actual, Msg("alert_reason_status_changed", before=status_word(before.status),
                                      after=status_word(cell.status), period=before.period)
    return False, cell.actual, _cleared(cell)


def _value(rule, cell, _):
    below, limit = (True, rule.when.value_below) if rule.when.value_below is not None else (False,
                                                                                           rule.when.value_above)
    v = cell.actual
    if v is not None and (v < limit if below else v > limit):
        code = "alert_reason_value_below" if below else "alert_reason_value_above"
        return True, v, Msg(code, value=number(v), limit=number(limit))
    return False, v, _cleared(cell)


def _change(rule, cell, before):
    base, v, w = (before.actual if before else None), cell.actual, rule.when
    if base is None or v is None or base == 0:
        return False, None, _cleared(cell)
    change = (v - base) / abs(base)
    holds = change < w.below if w.below is not None else change > w.above
    limit = w.below if w.below is not None else w.above
    versus = Msg(f"alert_change_vs_{w.change_vs}")
    code = "alert_reason_change_below" if w.below is not None else "alert_reason_change_above"
    why = Msg(code, change=percent(change), versus=versus, base=number(base), value=number(v), limit=percent(limit))
    return holds, change, why if holds else Msg("alert_reason_change_clear", change=percent(change), versus=versus)


def _previous(p: Period) -> Period:
    return p.shift(-1)


def _last_year(p: Period) -> Period:
    return p.shift(-YEAR_STEPS[p.grain])


def robust_z(series: list[float | None], lag: int) -> float | None:
    """The robust z-score of the series' last residual against the earlier ones, where a residual
    is the value minus the value `lag` periods before (the seasonal naive forecast's error):
    0.6745·(r − median)/MAD. None when fewer than MIN_RESIDUALS earlier residuals exist or the
    last value is missing."""
    residuals = [None if a is None or b is None else a - b for a, b in zip(series[lag:], series, strict=False)]
    last, history = residuals[-1] if residuals else None, [r for r in residuals[:-1] if r is not None]
    if last is None or len(history) < MIN_RESIDUALS:
        return None
    med = statistics.median(history)
    mad = statistics.median(abs(r - med) for r in history)
    if mad > 0:
        return MAD_SCALE * (last - med) / mad
    mean_ad = statistics.fmean(abs(r - med) for r in history)
    if mean_ad > 0:
        return (last - med) / (MEAN_AD_SCALE * mean_ad)
    return 0.0 if last == med else math.copysign(math.inf, last - med)


def _anomaly(wh, rule, m, units, p, today):
    n = HISTORY[p.grain]
    cells = _cells(wh, rule, m.code, p.shift(-n), p, today)
    labels = [p.shift(-k).label for k in range(n, -1, -1)]
    out = []
    for u in units:
        series = [(cells.get((u, lab)) or Cell(m.code, u, lab)).actual for lab in labels]
        season = YEAR_STEPS[p.grain]
        z = robust_z(series, season)
        if z is None and season > 1:  # too little history for the seasonal residual: the naive one
            z = robust_z(series, 1)
        if z is None or series[-1] is None:
            continue
        holds = abs(z) > rule.when.anomaly
        why = Msg("alert_reason_anomaly" if holds else "alert_reason_anomaly_clear", value=number(series[-1]),
                  z=f"{z:+.1f}", limit=number(rule.when.anomaly))
        out.append(Judgement(m.code, u, p.label, holds, z if math.isfinite(z) else None, why))
    return out


def _missing(wh, rule, m, units, _p, today):
    """Units that reported the period before (an uploaded actual) and have none for the period
    whose due day has passed. A metric without a due day is not judged."""
    if m.due_day is None:
        return []
    p = due_period(rule.grain, m.due_day, today)
    before = p.shift(-1)
    cells = _cells(wh, rule, m.code, before, p, today)
    out = []
    for u in units:
        was, now = cells.get((u, before.label)), cells.get((u, p.label))
        if was is None or was.source != "reported":
            continue
        missing = now is None or now.source != "reported"
        due = due_date(p, m.due_day).isoformat()
        why = (Msg("alert_reason_missing", period=p.label, due=due, before=before.label) if missing
               else Msg("alert_reason_missing_clear", period=p.label))
        out.append(Judgement(m.code, u, p.label, missing, None if now is None else now.actual, why))
    return out


def _projected(wh, rule, m, units, p, today):
    """Units whose period-end forecast (kpi_core.query.forecast) is amber or red: projected to
    end the period short of its target. A unit without a forecast is not judged."""
    out = []
    for u in units:
        f = forecast(wh, m.code, u, p.label, today=today)
        if f.projected_status not in ("green", "amber", "red"):
            continue
        holds = f.projected_status in ("amber", "red")
        why = Msg("alert_reason_projected" if holds else "alert_reason_projected_clear", value=number(f.value),
                  target=number(f.target), status=status_word(f.projected_status))
        out.append(Judgement(m.code, u, p.label, holds, f.value, why))
    return out


JUDGES: dict[str, Judge] = {
    "projected": _projected,
    "status": _per_cell(_status),
    "status_changed": _per_cell(_status_changed, _previous),
    "value_below": _per_cell(_value),
    "value_above": _per_cell(_value),
    "anomaly": _anomaly,
    "missing_after_due_day": _missing,
}


def change_judge(rule: AlertRule) -> Judge:
    return _per_cell(_change, _previous if rule.when.change_vs == "previous" else _last_year)


def evaluate(wh: Warehouse, rule: AlertRule, tree: OrgTree, metrics: dict[str, Metric], *, today: dt.date,
             latest_month: str | None, extra: dict[str, Judge] | None = None) -> list[Judgement]:
    """The rule's condition on every metric × unit of its scope. A rule with no data at all
    judges nothing (missing data excepted: it judges the period that is due)."""
    kind = rule.when.kind
    judge = change_judge(rule) if kind == "change_vs" else {**JUDGES, **(extra or {})}[kind]
    p = latest_period(wh, rule.grain, latest_month)
    if p is None and kind != "missing_after_due_day":
        return []
    units = units_of(rule, tree)
    out: list[Judgement] = []
    for code in metrics_of(wh, rule, tree, metrics):
        out += judge(wh, rule, metrics[code], units, p, today)  # type: ignore[arg-type]
    return out
