"""kpi alerts: apply (channels left to 'channels apply'), list, check after an import and on
demand (idempotent), ack, snooze; JSON as SPEC §6 says."""

from __future__ import annotations

import json

from kpi_core.auth import users
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli

RULES = """
alerts:
  - code: low_revenue
    metric: revenue
    scope: {org: SALES, include: children}
    when: {value_below: 100}
    notify: [{user: boss}, {channel: hook}]
channels:
  - {name: hook, kind: webhook, url: "http://127.0.0.1:9/hook"}
"""


def _import(wh_path, tmp_path, value: float, name: str):
    f = tmp_path / name
    f.write_text(f"metric,org,period,value\nrevenue,EAST,2025-01,{value}\nrevenue,SOUTH,2025-01,500\n",
                 encoding="utf-8")
    return cli(wh_path, "import", "actuals", str(f))


def test_apply_import_check_list_ack_snooze(wh_path, tmp_path):
    users.add(open_warehouse(wh_path), "boss", "admin")
    f = tmp_path / "alerts.yaml"
    f.write_text(RULES, encoding="utf-8")
    r = cli(wh_path, "--format", "json", "alerts", "apply", str(f))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": ["low_revenue"], "updated": [], "unchanged": [], "dry_run": False,
                                    "channels_not_applied": ["hook"]}
    r = _import(wh_path, tmp_path, 50, "low.csv")  # the import checks the rules itself
    assert r.returncode == 0 and "1 firing" in r.stderr, r.stderr
    r = cli(wh_path, "--format", "json", "alerts", "check", "--now", "2025-01-20T09:00")
    assert r.returncode == 0 and json.loads(r.stdout) == []  # nothing new on unchanged data
    r = cli(wh_path, "--format", "json", "alerts", "list")
    listed = {s["org"]: s for s in json.loads(r.stdout)}
    assert {k: v for k, v in listed["EAST"].items() if k != "id"} == {
        "rule": "low_revenue", "metric": "revenue", "org": "EAST", "period": "2025-01", "state": "firing"}
    assert listed["SOUTH"]["state"] == "ok"
    r = cli(wh_path, "alerts", "ack", str(listed["EAST"]["id"]))
    assert r.returncode == 0, r.stderr
    r = cli(wh_path, "alerts", "ack", "99999")
    assert r.returncode == 4 and "alerts list" in r.stderr
    r = _import(wh_path, tmp_path, 150, "fixed.csv")
    assert "1 resolved" in r.stderr
    r = _import(wh_path, tmp_path, 20, "again.csv")
    assert "1 firing" in r.stderr  # re-armed
    r = cli(wh_path, "--format", "json", "alerts", "snooze", str(listed["EAST"]["id"]), "--until", "2999-01-01")
    assert r.returncode == 0 and json.loads(r.stdout)["state"] == "snoozed"
    r = cli(wh_path, "--format", "json", "alerts", "list")
    assert {s["org"]: s["state"] for s in json.loads(r.stdout)}["EAST"] == "snoozed"


def test_check_events_json_and_bad_input(wh_path, tmp_path):
    users.add(open_warehouse(wh_path), "boss", "admin")
    f = tmp_path / "alerts.yaml"
    f.write_text(RULES, encoding="utf-8")
    cli(wh_path, "alerts", "apply", str(f))
    data = tmp_path / "d.csv"
    data.write_text("metric,org,period,value\nrevenue,EAST,2025-01,50\n", encoding="utf-8")
    r = cli(wh_path, "import", "actuals", str(data), "--dry-run")
    assert "firing" not in r.stderr  # a dry run loads nothing and checks nothing
    r = cli(wh_path, "--format", "json", "alerts", "check", "--now", "2025-01-20")
    assert json.loads(r.stdout) == []  # no data yet
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("value_below: 100", "value_below: lots"), encoding="utf-8")
    r = cli(wh_path, "alerts", "apply", str(bad))
    assert r.returncode == 1 and "must be a number" in r.stderr
    r = cli(wh_path, "alerts", "check", "--now", "yesterday")
    assert r.returncode == 2
    r = cli(wh_path, "alerts", "snooze", "1", "--until", "soon")
    assert r.returncode == 2
