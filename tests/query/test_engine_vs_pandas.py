"""The engine against an independent pandas computation on the whole demo company: every
division and department × every quarter of 2025, for sums, ratios of sums, distinct counts
and averages (read from the partials or from the rows)."""

import numpy as np
import pandas as pd
import pytest

from kpi_core.query.api import Query, run
from kpi_core.store import org
from kpi_core.store.warehouse import open_warehouse

pytestmark = pytest.mark.slow

# metric -> (dataset, pandas function of the unit's rows in the period)
REFERENCE = {
    "revenue": lambda d: d.loc[d.status != "cancelled", "amount"].sum(),
    "gross_profit": lambda d: (lambda x: (x.amount - x.cost).sum())(d[d.status != "cancelled"]),
    "return_rate": lambda d: (lambda x: x.loc[x.status == "returned", "amount"].sum() / x.amount.sum())(
        d[d.status != "cancelled"]),
    "active_customers": lambda d: d.loc[d.status != "cancelled", "customer_id"].nunique(),
    "on_time_delivery": lambda d: (lambda x: (x.delivery_date <= x.promised_date).mean())(
        d[(d.status == "completed") & d.delivery_date.notna()]),
}


@pytest.fixture(scope="module")
def demo(demo_template):
    return open_warehouse(demo_template)


@pytest.fixture(scope="module")
def orders(demo):
    with demo.connect() as con:
        df = con.execute("SELECT * FROM ds_sales_orders WHERE order_date >= DATE '2025-01-01' "
                         "AND order_date < DATE '2026-01-01'").df()
    df["quarter"] = "2025-Q" + pd.to_datetime(df.order_date).dt.quarter.astype(str)
    return df


def test_dataset_metrics_agree_with_pandas(demo, orders):
    tree = org.tree(demo)
    units = [c for c in tree.units if tree.unit(c).depth in (1, 2)]  # divisions and departments
    cells = run(demo, Query(tuple(REFERENCE), "HQ", "subtree", "quarter", "2025-Q1", "2025-Q4")).cells
    got = {(c.metric, c.org, c.period): c.actual for c in cells}
    checked = 0
    for unit in units:
        keys = set(tree.subtree(unit))
        rows = orders[orders.sales_rep.isin(keys)]
        for quarter, part in rows.groupby("quarter"):
            for metric, reference in REFERENCE.items():
                want = reference(part)
                have = got.get((metric, unit, quarter))
                if want is None or (isinstance(want, float) and np.isnan(want)):
                    assert have is None
                else:
                    assert have == pytest.approx(float(want), rel=1e-9), (metric, unit, quarter)
                checked += 1
    assert checked >= 150  # units with sales rows × 4 quarters × 5 metrics


def test_year_to_date_agrees_with_pandas(demo, orders):
    """Year to date by month for the divisions: distinct customers from their first month seen,
    sums and ratios from the partials."""
    tree = org.tree(demo)
    divisions = tree.children[tree.root]
    cells = run(demo, Query(tuple(REFERENCE), tree.root, "children", "month", "2025-01", "2025-12", ytd=True)).cells
    got = {(c.metric, c.org, c.period): c.actual for c in cells}
    months = pd.to_datetime(orders.order_date).dt.month
    checked = 0
    for unit in divisions:
        inside = orders.sales_rep.isin(set(tree.subtree(unit)))
        for month in (1, 5, 12):
            part = orders[inside & (months <= month)]
            for metric, reference in REFERENCE.items():
                have = got[(metric, unit, f"2025-{month:02d}")]
                if part.empty:  # a division without sales: no value, not 0
                    assert have is None
                else:
                    assert have == pytest.approx(float(reference(part)), rel=1e-9), (metric, unit, month)
                checked += 1
    assert checked == len(divisions) * 3 * len(REFERENCE)
