"""Deterministic demo company 华锐智能制造集团: org tree, metric dictionary, actuals, targets, datasets."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import yaml

from kpi_core.demo.actuals import MANUAL_GENERATORS, Context, Values, dataset_values
from kpi_core.demo.operations import (
    SalesRows,
    customers,
    inventory_snapshots,
    quality_inspections,
    sales_orders,
    survey_responses,
)
from kpi_core.demo.scorecards import demo_scorecards
from kpi_core.demo.shape import METRICS_PATH, SALES_DIVISIONS, DemoCompany
from kpi_core.demo.targets import dataset_targets, formula_targets, manual_targets
from kpi_core.demo.unit_targets import unit_targets
from kpi_core.demo.units import Calendar, build_org, month_calendar

# ------------------------------------------------------------------ assembly


def _facts(values: Mapping[tuple[str, str, str], float]) -> pa.Table:
    """metric, org, period, value table in a stable order."""
    keys = sorted(values)
    return pa.table({
        "metric": pa.array([k[0] for k in keys], pa.string()),
        "org": pa.array([k[1] for k in keys], pa.string()),
        "period": pa.array([k[2] for k in keys], pa.string()),
        "value": pa.array([values[k] for k in keys], pa.float64()),
    })


def _order_counts(cal: Calendar, rows: SalesRows) -> np.ndarray:
    """Months x sales divisions: valid orders of the normal flow."""
    n_div = len(SALES_DIVISIONS)
    ok = rows.status != 1
    counts = np.bincount(rows.month[ok] * n_div + rows.div[ok], minlength=cal.n * n_div)
    return counts.reshape(cal.n, n_div)


def load_metrics(text: str) -> list[dict]:
    """The metric list of a dictionary YAML text."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["metrics"]


def generate(today: datetime.date, seed: int = 20261127) -> DemoCompany:
    """Build the whole demo company for the months up to today; same inputs give the same output."""
    metrics_yaml = METRICS_PATH.read_text(encoding="utf-8")
    metrics = load_metrics(metrics_yaml)
    cal = month_calendar(today)
    org = build_org(np.random.default_rng([seed, 1]))
    cust = customers(np.random.default_rng([seed, 2]), org)
    sales, rows, cost = sales_orders(np.random.default_rng([seed, 3]), cal, org, cust)
    survey = survey_responses(np.random.default_rng([seed, 4]), cal, org, cust)
    datasets = {
        "sales_orders": sales,
        "inventory_snapshots": inventory_snapshots(np.random.default_rng([seed, 5]), cal, org, rows, cost),
        "quality_inspections": quality_inspections(np.random.default_rng([seed, 6]), cal, org),
        "survey_responses": survey.table,
    }
    ctx = Context(cal, org, _order_counts(cal, rows), survey)
    manual: dict[str, Values] = {}
    for number, metric in enumerate(metrics):
        if metric["source"] == "manual":
            rng = np.random.default_rng([seed, 100 + number])
            manual[metric["code"]] = MANUAL_GENERATORS[metric["code"]](rng, ctx)
    actuals = {(code, o, p): v for code, values in manual.items() for (o, p), v in values.items()}

    target_rng = np.random.default_rng([seed, 7])
    values = dataset_values(metrics, datasets, org)
    targets = dataset_targets(target_rng, metrics, values, cal.years)
    targets.update(manual_targets(target_rng, manual, org, cal.years))
    targets.update(formula_targets(metrics, targets, cal.years))
    # Below the divisions, from a stream of its own, never replacing a target planned above.
    below = unit_targets(np.random.default_rng([seed, 8]), metrics, values, manual, org, targets, cal.years)
    targets.update({k: v for k, v in below.items() if k not in targets})
    return DemoCompany(
        org=[(u.code, u.name, u.parent) for u in org.units],
        metrics_yaml=metrics_yaml,
        actuals=_facts(actuals),
        targets=_facts(targets),
        datasets=datasets,
        first_period=cal.labels[0],
        last_period=cal.labels[-1],
        scorecards=tuple(demo_scorecards(org)),
    )
