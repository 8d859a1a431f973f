"""The demo company as loaded into a warehouse: sizes, coverage, and what it is for."""

import json

import pytest

from kpi_core.demo.shape import SEED_CASE_DIVISION, UNMAPPED_ORG_CODE, UNMAPPED_ROWS
from kpi_core.model.metric import smart_gaps
from kpi_core.store import dictionary, org
from kpi_core.store.datasets import list_datasets
from kpi_core.store.summary import warehouse_summary
from kpi_core.store.warehouse import open_warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_template):
    return open_warehouse(demo_template)


def test_sizes(demo):
    t = org.tree(demo)
    depth = {}
    for u in t.units.values():
        depth[u.depth] = depth.get(u.depth, 0) + 1
    assert t.root == "HQ"
    assert depth[1] >= 5 and depth[2] >= 20 and depth[3] >= 60 and depth[4] >= 400
    s = warehouse_summary(demo)
    assert s["metrics"] >= 24 and s["actuals"] > 10_000 and s["targets"] > 1_000
    ds = {d["name"]: d["rows"] for d in list_datasets(demo)}
    assert set(ds) == {"sales_orders", "inventory_snapshots", "quality_inspections", "survey_responses"}
    assert ds["sales_orders"] >= 1_000_000


def test_every_metric_has_a_target_and_every_kind_is_covered(demo):
    metrics = dictionary.current(demo)
    with demo.connect() as con:
        with_target = {m for (m,) in con.execute("SELECT DISTINCT metric FROM target").fetchall()}
    assert set(metrics) == with_target
    assert {m.source_type for m in metrics.values()} == {"manual", "dataset", "formula"}
    assert {m.direction for m in metrics.values()} == {"higher_is_better", "lower_is_better", "in_range"}
    assert {m.time_agg for m in metrics.values()} == {"sum", "avg", "last", "min", "max"}
    assert {m.org_agg for m in metrics.values()} == {"sum", "avg", "none"}
    assert {m.perspective for m in metrics.values()} - {None} == {"financial", "customer", "internal_process",
                                                        "learning_growth"}
    assert {m.kind for m in metrics.values()} - {None} == {"result", "process", "growth"}
    assert any(smart_gaps(m) for m in metrics.values())


def test_dataset_rows_map_to_units_except_the_legacy_ones(demo):
    with demo.connect() as con:
        unmapped = con.execute(
            "SELECT sales_rep, count(*) FROM ds_sales_orders WHERE sales_rep NOT IN (SELECT code FROM org_unit) "
            "GROUP BY 1").fetchall()
    assert unmapped == [(UNMAPPED_ORG_CODE, UNMAPPED_ROWS)]


def test_seed_case_division_exists_and_every_batch_is_revertible(demo):
    assert org.tree(demo).unit(SEED_CASE_DIVISION).depth == 1
    with demo.connect() as con:
        kinds = con.execute("SELECT kind, count(*) FROM batch GROUP BY 1 ORDER BY 1").fetchall()
    assert dict(kinds) == {"actuals": 1, "dataset": 4, "org": 1, "targets": 1}


def test_metrics_export_round_trips_on_the_demo(demo, tmp_path):
    dictionary.export(demo, tmp_path)
    defs = {c: json.dumps(m.definition(), sort_keys=True) for c, m in dictionary.current(demo).items()}
    metrics, problems = dictionary.parse_metrics(dictionary.load_yaml_files(tmp_path))
    assert problems == []
    assert {m.code: json.dumps(m.definition(), sort_keys=True) for m in metrics} == defs
