"""`python -m kpi_core explain`: where a gap comes from, as text and as JSON (figures of
tests/query/test_attribution.py, worked out there)."""

import json

import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.query.test_attribution import ACTUALS, TARGETS, table


@pytest.fixture
def company(wh_path):
    wh = open_warehouse(wh_path)
    import_table(wh, "actuals", table(ACTUALS), source="t")
    import_table(wh, "targets", table(TARGETS), source="t")
    return wh_path


def explain(path, *args):
    return cli(path, "explain", *args)


def test_json_lists_contributors_offsetters_and_the_residual(company):
    r = explain(company, "--metric", "revenue", "--org", "SALES", "--period", "2025-01", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k: out[k] for k in ("metric", "org", "period", "status", "kind", "gap", "missed", "residual",
                                "reason")} == {"metric": "revenue", "org": "SALES", "period": "2025-01",
                                               "status": "amber", "kind": "additive", "gap": -30.0,
                                               "missed": True, "residual": 0.0, "reason": None}
    assert [(x["org"], x["name"], x["contribution"]) for x in out["contributors"]] == [("EAST", "华东组", -50.0)]
    assert [(x["org"], x["contribution"]) for x in out["offsetters"]] == [("SOUTH", 20.0)]
    assert out["contributors"][0]["share"] == pytest.approx(50 / 30)


def test_json_of_a_ratio_has_rate_and_mix_effects(company):
    out = json.loads(explain(company, "--format", "json", "--metric", "gross_margin", "--org", "SALES",
                             "--period", "2025-01").stdout)
    assert out["kind"] == "ratio" and [x["org"] for x in out["contributors"]] == ["SOUTH", "EAST"]
    east = out["contributors"][1]
    assert east["rate_effect"] == pytest.approx(100 / 420 * (0.40 - 0.50))
    assert east["mix_effect"] == pytest.approx((100 / 420 - 1 / 3) * (0.50 - 235 / 450))
    assert east["weight"] == pytest.approx(100 / 420) and east["weight_target"] == pytest.approx(1 / 3)


def test_text_names_each_child_and_its_share(company):
    r = explain(company, "--metric", "revenue", "--org", "HQ", "--period", "2025-01")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "revenue at HQ, 2025-01: actual 470.00, target 550.00, gap -80.00 (red)"
    assert lines[2] == "  OPS  运营部: actual 50.00, target 100.00, contribution -50.00, 62.5% of the gap"
    assert lines[3].startswith("  SALES  销售部:") and "37.5% of the gap" in lines[3]


def test_a_metric_that_does_not_split_says_why_and_is_no_error(company):
    r = explain(company, "--metric", "on_time_rate", "--org", "SALES", "--period", "2025-01", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "none" and out["contributors"] == [] and "cannot be split" in out["reason"]


def test_an_unknown_metric_is_refused(company):
    r = explain(company, "--metric", "nope", "--org", "SALES", "--period", "2025-01")
    assert r.returncode == 4 and "no metric" in r.stderr
