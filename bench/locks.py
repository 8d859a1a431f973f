"""Benchmark: how long writers and readers wait for the warehouse under load.

    .venv/bin/python bench/locks.py [--importers 10] [--readers 10] [--seconds 60]

A DuckDB file admits one process at a time. This starts `--importers` processes that upload a
small actuals file again and again (200 facts each, through `import_facts`, as `import actuals`
does) and `--readers` processes that ask the engine for a cockpit's worth of cells again and
again (6 metrics × a division's children × 12 months, as a page render does), all on one copy of
the demo warehouse, for `--seconds`. Each process records, per operation, how long it waited to
get the file (Warehouse.waited: every connection the operation opened) and how long the whole
operation took.

Prints the distribution of waits and durations per kind (median, 90th, 99th percentile, worst),
operations done, and refusals ("busy" after KPI_LOCK_TIMEOUT). Exits 1 when something went wrong:
a worker failed, or the batches in the warehouse do not match the uploads that reported success.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kpi_core.model.errors import WarehouseBusy  # noqa: E402
from kpi_core.store.warehouse import Warehouse, open_warehouse  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
DEMO = CACHE / "demo.duckdb"
FACTS = 200


def demo_warehouse() -> Path:
    """The demo company, built once into bench/.cache."""
    if not DEMO.exists():
        import datetime as dt

        from kpi_core.demo.load import load_demo

        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = DEMO.with_suffix(".building")
        tmp.unlink(missing_ok=True)
        load_demo(open_warehouse(tmp), today=dt.date(2026, 11, 27))
        tmp.rename(DEMO)
    return DEMO


def upload_file(folder: Path, worker: int) -> Path:
    """200 facts of the demo's manual metrics for its people, a different set per worker."""
    wh = Warehouse(os.environ["KPI_WAREHOUSE"])
    with wh.connect() as con:
        people = [c for (c,) in con.execute("SELECT code FROM org_unit WHERE code LIKE 'P%' ORDER BY code")
                  .fetchall()]
    rng = random.Random(worker)
    rows = [f"training_hours,{p},2026-{m:02d},{rng.randint(0, 40)}"
            for p in rng.sample(people, FACTS // 10) for m in range(1, 11)]
    path = folder / f"upload_{worker}.csv"
    path.write_text("metric,org,period,actual\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def worker(kind: str, number: int, until: float, out: Path) -> None:
    """One process: repeat one kind of operation until `until`, writing a line per operation."""
    from kpi_core.ingest.facts.load import import_facts
    from kpi_core.query.api import Query, run

    wh = Warehouse(os.environ["KPI_WAREHOUSE"])
    path = upload_file(out.parent, number) if kind == "import" else None
    with out.open("w") as log:
        while time.time() < until:
            before, start = wh.waited, time.monotonic()
            outcome = "ok"
            try:
                if kind == "import":
                    r = import_facts(wh, "actuals", path)
                    outcome = "ok" if r.batch and r.loaded == FACTS else f"wrong: {r.errors[:1]}"
                else:
                    cells = run(wh, Query(("revenue", "gross_margin", "nps", "training_hours", "headcount",
                                           "defect_rate"), "D1", "children", "month", "2026-01", "2026-12")).cells
                    outcome = "ok" if cells else "wrong: no cells"
            except WarehouseBusy:
                outcome = "busy"
            log.write(json.dumps({"kind": kind, "wait": wh.waited - before, "took": time.monotonic() - start,
                                  "outcome": outcome}) + "\n")
            log.flush()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--importers", type=int, default=10)
    ap.add_argument("--readers", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--worker", nargs=4, metavar=("KIND", "N", "UNTIL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, n, until, out = args.worker
        worker(kind, int(n), float(until), Path(out))
        return 0

    folder = Path(tempfile.mkdtemp(prefix="kpi-locks-"))
    try:
        path = folder / "warehouse.duckdb"
        shutil.copyfile(demo_warehouse(), path)
        env = os.environ | {"KPI_WAREHOUSE": str(path)}
        with Warehouse(path).connect() as con:
            batches_before = con.execute("SELECT count(*) FROM batch").fetchall()[0][0]
        until = time.time() + args.seconds + 5  # every worker has started by then
        kinds = ["import"] * args.importers + ["read"] * args.readers
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", k, str(i), str(until),
                                   str(folder / f"{k}{i}.jsonl")], env=env, cwd=ROOT)
                 for i, k in enumerate(kinds)]
        load = os.getloadavg()[0]
        failed = [p.args for p in procs if p.wait() != 0]
        ops = [json.loads(line) for f in folder.glob("*.jsonl") for line in f.read_text().splitlines()]
        with Warehouse(path).connect() as con:
            batches = con.execute("SELECT count(*) FROM batch").fetchall()[0][0] - batches_before
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"{args.importers} importers ({FACTS} facts an upload) + {args.readers} readers (a cockpit's cells), "
          f"{args.seconds:g} s, {os.cpu_count()} cores, load average at start {load:.1f}")
    print("\n| kind | ops | busy | wait p50 | p90 | p99 | worst | op p50 | op worst |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in ("import", "read"):
        mine = [o for o in ops if o["kind"] == kind]
        waits = [o["wait"] for o in mine]
        took = [o["took"] for o in mine]
        busy = sum(o["outcome"] == "busy" for o in mine)
        print(f"| {kind} | {len(mine)} | {busy} | {percentile(waits, 50):.2f} s | {percentile(waits, 90):.2f} s | "
              f"{percentile(waits, 99):.2f} s | {max(waits, default=0):.2f} s | {percentile(took, 50):.2f} s | "
              f"{max(took, default=0):.2f} s |")
    wrong = [o for o in ops if o["outcome"].startswith("wrong")]
    loaded = sum(o["kind"] == "import" and o["outcome"] == "ok" for o in ops)
    print(f"\nbatches written {batches}, uploads reported loaded {loaded}; wrong results {len(wrong)}")
    if failed or wrong or batches != loaded:
        print(f"FAILED: workers {failed}, wrong {wrong[:3]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
