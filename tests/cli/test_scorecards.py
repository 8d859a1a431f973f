"""kpi scorecards: apply (a change needs its reason), show, export, cascade, remove, history."""

from __future__ import annotations

import json

import pytest

from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.query.test_scorecard import make_company


def test_cli_apply_show_export_cascade(wh_path, tmp_path):
    make_company(open_warehouse(wh_path))  # no connection held: the CLI runs in its own process
    f = tmp_path / "sc.yaml"
    f.write_text("scorecards:\n  - org: SALES\n    metrics:\n      - {metric: revenue, weight: 3}\n"
                 "      - {metric: on_time_rate, weight: 1}\n", encoding="utf-8")
    r = cli(wh_path, "scorecards", "apply", str(f))
    assert r.returncode == 1 and "reason" in r.stderr  # a change needs its reason
    r = cli(wh_path, "--format", "json", "scorecards", "apply", str(f), "--reason", "plan")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": ["SALES"], "updated": [], "unchanged": []}
    r = cli(wh_path, "--format", "json", "scorecards", "show", "EAST", "--period", "2025-01")
    shown = json.loads(r.stdout)
    assert (shown["origin"], shown["source"]) == ("inherited", "SALES")
    assert [(i["metric"], i["share"]) for i in shown["items"]] == [("revenue", 0.75), ("on_time_rate", 0.25)]
    assert shown["score"] == pytest.approx(0.75 * 90 + 0.25 * 100) and shown["grade"] == "B"
    r = cli(wh_path, "scorecards", "export")
    assert r.returncode == 0 and "org: SALES" in r.stdout and "weight: 3" in r.stdout
    r = cli(wh_path, "--format", "json", "scorecards", "cascade", "SALES", "--period", "2025-01", "--dry-run")
    assert json.loads(r.stdout)["children"] == {"EAST": [{"metric": "revenue", "weight": 3.0},
                                                         {"metric": "on_time_rate", "weight": 1.0}],
                                                "SOUTH": [{"metric": "revenue", "weight": 3.0}]}
    r = cli(wh_path, "scorecards", "remove", "SALES")
    assert r.returncode == 1 and "reason" in r.stderr
    r = cli(wh_path, "--format", "json", "scorecards", "history", "SALES")
    assert [h["version"] for h in json.loads(r.stdout)] == [1]
