"""kpi forecast: one readable block, every field in JSON, errors as exit codes."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_commands import cli

TODAY = {"KPI_TODAY": "2026-11-27"}  # the demo company's today: 2026-Q4 is in progress


@pytest.fixture(scope="module")
def demo_file(demo_template, tmp_path_factory):
    import shutil

    path = tmp_path_factory.mktemp("fc_cli") / "demo.duckdb"
    shutil.copyfile(demo_template, path)  # its own file: the CLI runs in another process
    return path


def test_json_has_every_field_and_agrees_with_itself(demo_file):
    r = cli(demo_file, "--format", "json", "forecast", "--metric", "revenue", "--org", "D1", "--period", "2026-Q4",
            env=TODAY)
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert {"metric", "org", "period", "method", "value", "low", "high", "actual_to_date", "months_done",
            "months_left", "target", "projected_attainment", "projected_status", "run_rate_needed", "mase", "mape",
            "backtest", "reason"} <= set(f)
    assert (f["metric"], f["org"], f["period"]) == ("revenue", "D1", "2026-Q4")
    assert (f["months_done"], f["months_left"]) == (2, 1)
    assert f["low"] <= f["value"] <= f["high"] and f["reason"] is None
    assert f["run_rate_needed"] == pytest.approx(f["target"] - f["actual_to_date"])


def test_text_is_one_block(demo_file):
    r = cli(demo_file, "forecast", "--metric", "revenue", "--org", "D1", "--period", "2026-Q4", env=TODAY)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("revenue @ D1, 2026-Q4") and "80 % interval" in r.stdout and "MASE" in r.stdout


@pytest.mark.parametrize(("args", "code", "says"), [
    (("--metric", "nope", "--org", "D1", "--period", "2026-Q4"), 4, "nope"),
    (("--metric", "revenue", "--org", "NOWHERE", "--period", "2026-Q4"), 4, "NOWHERE"),
    (("--metric", "revenue", "--org", "D1", "--period", "2026-Q9"), 1, "2026-Q9"),
    (("--metric", "revenue", "--org", "D1"), 2, "--period"),
])
def test_errors_exit_with_their_codes(demo_file, args, code, says):
    r = cli(demo_file, "forecast", *args, env=TODAY)
    assert r.returncode == code, r.stderr
    assert says in r.stderr


def test_no_forecast_for_a_period_over_is_not_an_error(demo_file):
    r = cli(demo_file, "--format", "json", "forecast", "--metric", "revenue", "--org", "D1", "--period", "2026-10",
            env=TODAY)
    assert r.returncode == 0 and json.loads(r.stdout)["reason"].startswith("2026-10 is over")
