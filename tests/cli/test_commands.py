"""The CLI as scripts use it: exit codes, stderr messages, --format json."""

import json
import os
import subprocess
import sys

import pytest

from kpi_core.model.config import PROJECT_ROOT


def cli(wh_path, *args, env=None, input=None):
    """Run `python -m kpi_core --warehouse W ARGS` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), *map(str, args)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})},
                          input=input, timeout=120)


@pytest.fixture
def long_csv(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("metric,org,period,value\nrevenue,EAST,2025-01,100\nrevenue,SOUTH,2025-01,\"1,200.5\"\n",
                 encoding="utf-8")
    return p


def test_import_json_shape_and_exit_code(wh_path, long_csv):
    r = cli(wh_path, "import", "actuals", long_csv, "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"batch", "rows", "loaded", "rejected", "errors"}
    assert out["rows"] == 2 and out["loaded"] == 2 and out["rejected"] == 0 and out["errors"] == []
    assert isinstance(out["batch"], int)


def test_global_format_flag_and_rejection(wh_path, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("metric,org,period,value\nrevenue,NOPE,2025-01,1\nrevenue,EAST,2025-01,abc\n", encoding="utf-8")
    r = cli(wh_path, "--format", "json", "import", "actuals", bad)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["batch"] is None and out["loaded"] == 0 and out["rejected"] == 2
    assert {"row": 2, "column": "org", "value": "NOPE", "message": "unknown org unit 'NOPE'"} in out["errors"]
    assert any(e["row"] == 3 and e["column"] == "value" and e["value"] == "abc" for e in out["errors"])
    assert "nothing was written" in r.stderr
    listed = json.loads(cli(wh_path, "batches", "list", "--format", "json").stdout)
    assert all(b["kind"] != "actuals" for b in listed)


def test_dry_run_writes_nothing_and_exits_zero(wh_path, long_csv):
    r = cli(wh_path, "import", "actuals", long_csv, "--dry-run")
    assert r.returncode == 0 and "nothing written" in r.stdout and "2 new" in r.stdout
    assert "actuals" not in cli(wh_path, "batches", "list").stdout


def test_batches_revert_and_errors(wh_path, long_csv):
    bid = json.loads(cli(wh_path, "import", "actuals", long_csv, "--format", "json").stdout)["batch"]
    assert cli(wh_path, "batches", "revert", bid, "--reason", "wrong file").returncode == 0
    again = cli(wh_path, "batches", "revert", bid)
    assert again.returncode == 1 and "already reverted" in again.stderr
    missing = cli(wh_path, "batches", "revert", 99999)
    assert missing.returncode == 4 and "no batch 99999" in missing.stderr


@pytest.mark.parametrize("args, code, fragment", [
    (["metrics", "show", "nosuch"], 4, "no metric 'nosuch'"),
    (["import", "actuals", "/nonexistent.xlsx"], 2, "does not exist"),
    (["import", "db", "x", "--url", "sqlite:///:memory:"], 1, "exactly one of --table or --query"),
    (["import", "dataset", "x", "pyproject.toml"], 1, "unsupported file type"),
])
def test_errors_go_to_stderr_with_exit_codes(wh_path, args, code, fragment):
    r = cli(wh_path, *args)
    assert r.returncode == code and fragment in r.stderr and r.stdout == ""


def test_metrics_list_show_export(wh_path, tmp_path):
    rows = json.loads(cli(wh_path, "metrics", "list", "--format", "json").stdout)
    assert {r["code"] for r in rows} >= {"revenue", "gross_margin", "orders"}
    show = json.loads(cli(wh_path, "metrics", "show", "gross_margin", "--format", "json").stdout)
    assert show["definition"]["source"] == {"formula": "(revenue - cost) / revenue"}
    assert show["versions"][0]["version"] == 1
    assert cli(wh_path, "metrics", "export", "--out", tmp_path / "x").returncode == 0
    r = cli(wh_path, "metrics", "apply", tmp_path / "x", "--format", "json")
    assert json.loads(r.stdout)["created"] == [] and json.loads(r.stdout)["updated"] == []


def test_org_import_and_list(tmp_path):
    org = tmp_path / "org.csv"
    org.write_text("组织编码,组织名称,上级组织\nHQ,集团,\nD1,一部,HQ\n", encoding="utf-8")
    w = tmp_path / "new.duckdb"
    assert cli(w, "org", "import", org).returncode == 0
    assert cli(w, "org", "list").stdout.splitlines() == ["HQ  集团", "  D1  一部"]


def test_lock_timeout_exit_code(wh_path, long_csv):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(20)", str(wh_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = cli(wh_path, "import", "actuals", long_csv, env={"KPI_LOCK_TIMEOUT": "1"})
        assert r.returncode == 3 and "is in use by" in r.stderr and "Waiting for the warehouse" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_progress_bar_on_a_terminal_only(wh_path, long_csv):
    import pty

    main_fd, term = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), "import", "actuals",
                           str(long_csv)], stdout=subprocess.PIPE, stderr=term, cwd=PROJECT_ROOT, timeout=120)
    os.close(term)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_fd)
    assert proc.returncode == 0
    assert b"validate" in shown and b"load" in shown and b"2/2" in shown
    piped = cli(wh_path, "import", "actuals", long_csv)
    assert "validate" not in piped.stderr


def test_init_demo_leaves_a_warehouse_with_data_alone(wh_path):
    before = cli(wh_path, "batches", "list", "--format", "json").stdout
    r = cli(wh_path, "init", "--demo", "--format", "json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["demo"].startswith("not loaded: the warehouse already holds data")
    assert cli(wh_path, "batches", "list", "--format", "json").stdout == before
