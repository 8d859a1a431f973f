"""The app and the CLI on one warehouse file, and a load killed halfway."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from kpi_core.ingest.org_file import import_org
from kpi_core.model.config import PROJECT_ROOT
from kpi_core.services.revert import revert
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli

# The real app script, run again and again by Streamlit's AppTest in its own process: each
# run reads the warehouse the way the app does while a CLI import writes it.
APP_LOOP = textwrap.dedent("""
    import json, os, sys, time
    from streamlit.testing.v1 import AppTest
    from kpi_core.auth import users
    from kpi_core.store.warehouse import open_warehouse
    wh = open_warehouse(os.environ["KPI_WAREHOUSE"])
    users.add(wh, "admin", "admin")
    seen, errors, stop = [], [], False
    while not stop:
        stop = os.path.exists(sys.argv[1])  # one more run after the writer is done
        at = AppTest.from_file("app.py", default_timeout=60)
        at.session_state["actor"] = users.actor(wh, "admin")  # signed in, with a live session
        at.session_state["session_token"] = users.start_session(wh, users.actor(wh, "admin"))
        at.run()
        at.switch_page("pages/overview.py")
        at.run()
        if at.exception:
            errors.append(str(at.exception[0].value))
        seen.append([m.value for m in at.metric])
        print(json.dumps(seen[-1]), flush=True)
    print(json.dumps({"runs": len(seen), "errors": errors, "last": seen[-1] if seen else None}), flush=True)
    os._exit(0)  # AppTest leaves worker threads behind that would keep the process alive
""")


# A load that stops once its rows are written and before they are committed (the import's own
# progress report says when), so that the test can kill it there.
LOAD_AND_HOLD = textwrap.dedent("""
    import sys, time
    from kpi_core.ingest.facts.load import import_facts
    from kpi_core.store.warehouse import open_warehouse

    def hold(stage, done, total):
        if stage == "commit" and done == 0:
            print("loading, transaction open", flush=True)
            time.sleep(60)

    import_facts(open_warehouse(sys.argv[1]), "actuals", sys.argv[2], progress=hold)
""")

def test_cli_import_while_app_is_reading(wh_path, tmp_path):
    files = []
    for i, org in enumerate(["EAST", "SOUTH", "SVC"]):
        p = tmp_path / f"a{i}.csv"
        p.write_text(f"metric,org,period,value\nrevenue,{org},2025-0{i + 1},{100 + i}\n", encoding="utf-8")
        files.append(p)
    env = {**os.environ, "KPI_WAREHOUSE": str(wh_path), "KPI_LOCK_TIMEOUT": "60"}
    stop = tmp_path / "stop"
    app = subprocess.Popen([sys.executable, "-c", APP_LOOP, str(stop)], cwd=PROJECT_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=open(tmp_path / "app.err", "w"), text=True)
    try:
        assert app.stdout.readline().startswith("[")  # the app has rendered once
        results = [cli(wh_path, "import", "actuals", f, "--format", "json") for f in files]
        for r in results:
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["loaded"] == 1
        stop.touch()
        out, _ = app.communicate(timeout=120)
    finally:
        app.kill()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["errors"] == [], summary
    assert summary["runs"] >= 2
    # Overview tiles: org units, metrics, actuals, targets, datasets; the app saw all 3 imports land.
    assert summary["last"][2] == "3"


def test_killed_import_leaves_the_warehouse_as_before(wh_path, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("metric,org,period,value\nrevenue,EAST,2025-01,1\n", encoding="utf-8")
    assert cli(wh_path, "import", "actuals", first).returncode == 0
    big = tmp_path / "big.csv"
    lines = ["metric,org,period,value"] + [f"revenue,{o},{y}-{m:02d},{y * m}" for o in ("EAST", "SOUTH", "SVC")
                                           for y in range(2000, 2025) for m in range(1, 13)]
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    wh = open_warehouse(wh_path)
    with wh.connect() as con:
        before = con.execute("SELECT * FROM actual ORDER BY ALL").fetchall()
        batches_before = con.execute("SELECT id, status FROM batch ORDER BY id").fetchall()
    proc = subprocess.Popen([sys.executable, "-c", LOAD_AND_HOLD, str(wh_path), str(big)], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("loading, transaction open")  # rows inserted, not committed
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    with wh.connect() as con:
        assert con.execute("SELECT * FROM actual ORDER BY ALL").fetchall() == before
        assert con.execute("SELECT id, status FROM batch ORDER BY id").fetchall() == batches_before
        assert con.execute("SELECT count(*) FROM actual_fact").fetchall() == [(1,)]
    again = cli(wh_path, "import", "actuals", big, "--format", "json")  # and the warehouse still takes writes
    assert again.returncode == 0 and json.loads(again.stdout)["loaded"] == len(lines) - 1


@pytest.mark.parametrize("holding", [0, 20_000])
def test_an_org_change_while_a_file_is_checked_is_checked_against(wh, tmp_path, monkeypatch, holding):
    """A large file is validated without holding the warehouse (others write meanwhile); the load
    checks again what it relied on. Here the unit a row names is removed while the file is being
    checked (by this very thread, which also covers another thread of the app's process)."""
    from kpi_core.ingest.facts import load
    from kpi_core.ingest.facts.load import import_facts
    from kpi_core.store import batches

    monkeypatch.setattr(load, "CHECK_WHILE_HOLDING", holding)

    tree = tmp_path / "tree.csv"
    tree.write_text("code,name,parent\nNEWT,新组,SALES\n", encoding="utf-8")
    added = import_org(wh, tree).batch
    path = tmp_path / "a.csv"
    path.write_text("metric,org,period,actual\nrevenue,NEWT,2025-01,5\nrevenue,EAST,2025-01,6\n", encoding="utf-8")

    def revert_meanwhile(stage, done, total):
        if stage == "validate" and done == 0 and not batches.list_batches(wh, 1)[0]["status"] == "reverted":
            revert(wh, added, reason="wrong file")

    r = import_facts(wh, "actuals", path, progress=revert_meanwhile)
    assert r.batch is None
    assert [(e.row, e.value, e.message) for e in r.errors] == [(2, "NEWT", "unknown org unit 'NEWT'")]
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM actual_fact").fetchall() == [(0,)]
