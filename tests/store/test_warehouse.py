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


HOLD_READ = HOLD.replace("wh.connect()", "wh.read()")


def _hold_read(path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLD_READ, str(path), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_processes_read_at_the_same_time(tmp_path):
    """App processes behind a proxy: one reading does not make another wait (a 0.3 s limit against
    a 5 s read), but a writer waits for it."""
    path = tmp_path / "w.duckdb"
    open_warehouse(path).let_go()
    proc = _hold_read(path, 5)
    try:
        wh = Warehouse(path, timeout=0.3)
        assert wh.data_version() == 0  # read() inside: read-only, beside the other process
        with wh.read() as con:
            assert con.execute("SELECT count(*) FROM setting").fetchall()[0][0] > 0
        wh.let_go()
        with pytest.raises(WarehouseBusy):
            with wh.transaction() as con:
                con.execute("INSERT INTO setting VALUES ('x', '1')")
    finally:
        proc.kill()
        proc.wait()
    wh = Warehouse(path, timeout=10)
    with wh.transaction() as con:
        con.execute("INSERT INTO setting VALUES ('x', '1')")
    assert wh.get_setting("x") == "1" and wh.data_version() == 1


def test_a_reading_process_lets_a_writer_in_and_then_reads_its_write(tmp_path):
    path = tmp_path / "w.duckdb"
    open_warehouse(path).let_go()
    proc = _hold(path, 1.5)  # another process writes (holds the file read-write)
    try:
        wh = Warehouse(path, timeout=30)
        assert wh.data_version() == 0  # a reader waits for it, then reads
    finally:
        proc.wait()
    other = Warehouse(path, timeout=30)
    with other.transaction() as con:  # the reader's kept read-only database steps aside in this process
        con.execute("INSERT INTO setting VALUES ('x', '2')")
    assert wh.get_setting("x") == "2"


def test_a_write_inside_a_read_is_refused(tmp_path):
    wh = open_warehouse(tmp_path / "w.duckdb")
    wh.let_go()
    with wh.read() as con, pytest.raises(RuntimeError, match="inside Warehouse.read"):
        with wh.transaction():
            pass
    with wh.read(), wh.connect() as con:  # a plain connection inside a read is that read's: a write fails loudly
        with pytest.raises(Exception, match="read-only"):
            con.execute("INSERT INTO setting VALUES ('z', '1')")
    assert wh.get_setting("z") is None
    with wh.transaction() as con:  # a read inside a write shares the write's connection
        con.execute("INSERT INTO setting VALUES ('z', '1')")
        with wh.read() as inner:
            assert inner is con
    assert wh.get_setting("z") == "1"


def test_threads_read_and_write_in_one_process(tmp_path):
    """A writer waits for this process's read-only readers (DuckDB keeps one database per file per
    process), readers wait for a waiting writer, and every read sees a whole write."""
    import threading

    wh = open_warehouse(tmp_path / "w.duckdb")
    with wh.transaction() as con:
        con.execute("CREATE TABLE pair (a INTEGER, b INTEGER)")
        con.execute("INSERT INTO pair VALUES (0, 0)")
    wh.let_go()
    seen, errors, stop = [], [], threading.Event()

    def reader():
        mine = Warehouse(wh.path, timeout=30)
        while not stop.is_set():
            try:
                with mine.read() as con:
                    seen.append(con.execute("SELECT a, b FROM pair").fetchall()[0])
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                errors.append(exc)

    def writer():
        mine = Warehouse(wh.path, timeout=30)
        for i in range(1, 21):
            try:
                with mine.transaction() as con:
                    con.execute("UPDATE pair SET a = ?", [i])
                    con.execute("UPDATE pair SET b = ?", [i])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    w = threading.Thread(target=writer)
    w.start()
    w.join(120)
    stop.set()
    for t in readers:
        t.join(30)
    assert errors == []
    assert not w.is_alive() and seen and all(a == b for a, b in seen)
    assert wh.data_version() == 21
    with wh.read() as con:
        assert con.execute("SELECT a, b FROM pair").fetchall() == [(20, 20)]
