"""Migrations, transactions, the data version and the lock wait."""

import subprocess
import sys
import textwrap
import time

import pytest

from kpi_core.model.errors import WarehouseBusy
from kpi_core.store.warehouse import Warehouse, migration_files, open_warehouse


def test_migrations_apply_once_and_upgrade_in_place(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    applied = wh.migrate()
    assert applied == [f.name for f in migration_files()]
    assert wh.migrate() == []
    assert wh.schema_version() == int(migration_files()[-1].name[:3])


def test_transaction_bumps_version_and_rolls_back(tmp_path):
    wh = open_warehouse(tmp_path / "w.duckdb")
    v0 = wh.data_version()
    with wh.transaction() as con:
        con.execute("INSERT INTO setting VALUES ('x', '1')")
    assert wh.data_version() == v0 + 1
    with pytest.raises(RuntimeError), wh.transaction() as con:
        con.execute("INSERT INTO setting VALUES ('y', '1')")
        raise RuntimeError("boom")
    assert wh.data_version() == v0 + 1
    assert wh.get_setting("y") is None
    assert wh.get_setting("x") == "1"


HOLD = textwrap.dedent("""
    import sys, time
    from kpi_core.store.warehouse import Warehouse
    wh = Warehouse(sys.argv[1])
    with wh.connect():
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold(path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_second_process_waits_for_the_lock(tmp_path):
    path = tmp_path / "w.duckdb"
    open_warehouse(path)
    proc = _hold(path, 1.5)
    waited = []
    t0 = time.monotonic()
    wh = Warehouse(path, timeout=30, on_wait=waited.append)
    assert wh.data_version() == 0
    assert time.monotonic() - t0 > 0.5
    assert waited and "in use by" in waited[0]
    proc.wait()


def test_busy_warehouse_fails_clearly_after_timeout(tmp_path):
    path = tmp_path / "w.duckdb"
    open_warehouse(path)
    proc = _hold(path, 5)
    try:
        with pytest.raises(WarehouseBusy) as exc:
            Warehouse(path, timeout=0.5).data_version()
        msg = str(exc.value)
        assert str(path) in msg and "PID" in msg and "KPI_LOCK_TIMEOUT" in msg
    finally:
        proc.kill()
        proc.wait()
