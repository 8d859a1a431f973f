"""A full disk: every write says the disk is full and that nothing was written, and nothing was.

Before: a small import said "another change … at the same moment" (exit 3) and a large one
printed a raw traceback. The warehouse lives on a small tmpfs filled to the last byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_core.model.config import PROJECT_ROOT
from kpi_core.store.warehouse import open_warehouse
from tests.system.test_hostile import state


@pytest.fixture
def full_disk(template_warehouse, tmp_path):
    """(warehouse path, filler path): the template warehouse on a tmpfs with no byte free."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24M", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs to fill: {done.stderr.decode().strip()}")
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {done.stderr.decode().strip()}")
    try:
        path = mount / "warehouse.duckdb"
        shutil.copyfile(template_warehouse, path)
        filler = mount / "filler"
        with filler.open("wb", buffering=0) as fh:
            for size in (1 << 20, 4096, 1):  # big pieces, then the last bytes
                try:
                    while fh.write(b"\0" * size):
                        pass
                except OSError:
                    pass
        yield path, filler
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def cli(wh_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), *args],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                          env=os.environ | {"PYTHONIOENCODING": "utf-8"})


def facts_file(tmp_path: Path, n_months: int) -> Path:
    months = [f"{1950 + i // 12}-{i % 12 + 1:02d}" for i in range(n_months)]
    path = tmp_path / f"facts{n_months}.csv"
    path.write_text("metric,org,period,actual\n" + "".join(f"revenue,EAST,{m},{i}\n" for i, m in enumerate(months)),
                    encoding="utf-8")
    return path


def counts(path: Path, filler: Path) -> dict[str, int]:
    """Every table's rows, read once the disk has room again (to open the file at all)."""
    filler.unlink(missing_ok=True)
    return state(open_warehouse(path))


@pytest.mark.parametrize("what", ["small import", "large import", "dataset", "org tree"])
def test_a_full_disk_says_so_and_writes_nothing(full_disk, tmp_path, template_warehouse, what):
    path, filler = full_disk
    before = state(open_warehouse(template_warehouse))
    orders = tmp_path / "orders.csv"
    orders.write_text("order_date,dept,amount\n" + "2025-01-05,EAST,10\n" * 50_000, encoding="utf-8")
    tree = tmp_path / "tree.csv"
    tree.write_text("code,name,parent\nNEW1,新组,SALES\n", encoding="utf-8")
    args = {"small import": ["import", "actuals", str(facts_file(tmp_path, 1))],
            "large import": ["import", "actuals", str(facts_file(tmp_path, 3000))],
            "dataset": ["import", "dataset", "sales_orders", str(orders)],
            "org tree": ["org", "import", str(tree)]}[what]
    done = cli(path, *args)
    assert done.returncode == 6, done.stderr
    assert done.stderr.strip() == (f"error: The disk holding {path.parent} is full: nothing was written. "
                                   "Free some space (or ask an admin to) and try again.")
    assert counts(path, filler) == before
    again = cli(path, *args)  # with room again, the same command works
    assert again.returncode == 0, again.stderr
