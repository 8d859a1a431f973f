"""Memory benchmark: the app's resident size over many imports, with viewers between them.

    KPI_WAREHOUSE=demo.duckdb .venv/bin/python bench/memory.py [--imports 100] [--users 5] [--views 4]
                                                              [--processes 1]

Starts the app as `make run` (or `make serve WORKERS=P`) does, on a copy of the demo warehouse.
Then, --imports times: another process (this one) imports an actuals file — every team's
headcount for the latest month, new values each round, so each import is a new batch and a new
data version — and --users sessions (the demo's roles, over Streamlit's websocket protocol, as in
bench/load.py) each view --views places of the cockpit and the 12-tile board at the new version.
Each round's views are at a version no cache has seen, so every cache of the app gets new
entries; the old versions' entries are never read again.

Prints the resident size (VmRSS, the largest app process) after every 10 imports, and a last
line:  imports=N rss_start_mb=… rss_peak_mb=… rss_end_mb=… views=… errors=…
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/load.py: the app's start, sessions, roles)

from kpi_core.auth import users as user_store  # noqa: E402
from kpi_core.ingest.facts.load import import_facts  # noqa: E402
from kpi_core.store.warehouse import open_warehouse  # noqa: E402

MONTH = "2026-10"
PLACES = ["HQ", "D1", "D2", "D1-SAL", "D1-SAL-T1"]


def teams(path: Path) -> list[str]:
    """The units with a headcount this month (the demo's teams)."""
    wh = open_warehouse(path)
    with wh.read() as con:
        rows = con.execute("SELECT DISTINCT org FROM actual WHERE metric = 'headcount' AND period = ? ORDER BY org",
                           [MONTH]).fetchall()
    wh.let_go()
    return [r[0] for r in rows]


def write_round(folder: Path, units: list[str], n: int) -> Path:
    rnd = random.Random(n)
    f = folder / f"round{n:03d}.csv"
    f.write_text("metric,org,period,value\n" + "".join(
        f"headcount,{u},{MONTH},{rnd.randint(3, 20)}\n" for u in units), encoding="utf-8")
    return f


async def views(url: str, tokens: list[str], count: int, rnd: random.Random) -> tuple[int, int]:
    """Each session views `count` places (cockpit, then the board); (views, errors)."""
    done = errors = 0

    async def one(token: str) -> None:
        nonlocal done, errors
        s = load.Session(url, token)
        try:
            await s.open()
            for i in range(count):
                page = "board" if i % 2 else "cockpit"
                query = "board=executive_bsc" if page == "board" else f"org={rnd.choice(PLACES)}&period={MONTH}"
                try:
                    _, messages = await s.rerun(query, load.PAGE[page])
                    if "login_name" in load.element_ids(messages):
                        raise RuntimeError("not signed in")
                    done += 1
                except (TimeoutError, RuntimeError):
                    errors += 1
        except OSError:
            errors += 1
        finally:
            await s.close()

    await asyncio.gather(*(one(t) for t in tokens))
    return done, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imports", type=int, default=100)
    ap.add_argument("--users", type=int, default=5)
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--processes", type=int, default=1)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    path = load.prepare(folder)
    units = teams(path)
    wh = open_warehouse(path)
    tokens = []
    for i in range(args.users):
        name = ("ceo", "root", "mgr_d1")[i % 3]  # readers of the company's places and the board
        tokens.append(user_store.start_session(wh, user_store.actor(wh, name)))
    admin = user_store.actor(wh, "root")
    wh.let_go()
    proc, url = load.start(path, folder, args.processes)
    rnd = random.Random(11)
    total_views = total_errors = 0
    try:
        pids = load.app_pids(proc)
        v, e = asyncio.run(views(url, tokens, args.views, rnd))  # the first views: nothing cached yet
        total_views, total_errors = v, e
        start = load.rss_mb(pids)
        peak, t0 = start, time.perf_counter()
        print("| imports | RSS MB | views | errors | seconds |")
        print("|---:|---:|---:|---:|---:|")
        print(f"| 0 | {start:.0f} | {v} | {e} | 0 |", flush=True)
        for n in range(1, args.imports + 1):
            result = import_facts(wh, "actuals", write_round(folder, units, n), user=admin)
            if result.batch is None:
                raise SystemExit(f"round {n}: the import failed: {result.errors[:3]}")
            wh.let_go()
            v, e = asyncio.run(views(url, tokens, args.views, rnd))
            total_views += v
            total_errors += e
            rss = load.rss_mb(pids)
            peak = max(peak, rss)
            if n % 10 == 0 or n == args.imports:
                print(f"| {n} | {rss:.0f} | {total_views} | {total_errors} | {time.perf_counter() - t0:.0f} |",
                      flush=True)
        end = load.rss_mb(pids)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"imports={args.imports} rss_start_mb={start:.0f} rss_peak_mb={peak:.0f} rss_end_mb={end:.0f} "
          f"views={total_views} errors={total_errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
