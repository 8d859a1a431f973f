"""Benchmark: server time of a page render on the demo company (Streamlit's AppTest runs the
real app script in-process, so the time is the script run: queries, layout, caching).

    .venv/bin/python bench/pages.py [--warehouse PATH] [--runs 5]

Builds the demo company in a temporary warehouse unless --warehouse is given. For each page:
the first render in a fresh process (cold: nothing cached), then warm renders (best and median
of --runs), as a viewer clicking around at the same data version gets them. Then, after an
import of one actual: the first render of the company cockpit and of the 12-tile board, once
straight after the import and once after warm-on-write (`jobs.warm`, which the scheduler runs
after every import) has worked out the default places. Prints tables; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TODAY = dt.date(2026, 11, 27)
PLACES = [  # (page, query params)
    ("pages/cockpit.py", {"org": "HQ", "period": "2026-10"}),
    ("pages/cockpit.py", {"org": "D1", "period": "2026-Q3"}),
    ("pages/cockpit.py", {"org": "D1-SAL-T1", "period": "2026"}),
    ("pages/metrics.py", {}),
    ("pages/upload.py", {"org": "D1-SAL"}),
    ("pages/targets.py", {"org": "D1"}),
    ("pages/admin.py", {}),
    ("pages/boards.py", {"board": "executive_bsc"}),  # 12 tiles
    ("pages/boards.py", {"board": "sales"}),
]
AFTER_IMPORT = [("pages/cockpit.py", {}), ("pages/boards.py", {"board": "executive_bsc"})]  # default places


ACTOR = None
TOKEN = None


def sign_up(path: Path, name: str, role: str, orgs: list[str]) -> None:
    """The viewer as a user of the warehouse with a session, as after the sign-in form (the app
    checks the session on every run; sign-in itself is timed by nobody here: once a session)."""
    global ACTOR, TOKEN
    from kpi_core.auth import users
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(path)
    if name not in {u.name for u in users.list_users(wh)}:
        users.add(wh, name, role, orgs=orgs, password="bench password 12345")
    ACTOR = users.actor(wh, name)
    TOKEN = users.start_session(wh, ACTOR)


def render(page: str, params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["actor"] = ACTOR
    at.session_state["session_token"] = TOKEN
    for k, v in params.items():
        at.query_params[k] = v
    if page != "pages/cockpit.py":  # the app opens on the cockpit; go to the page, then time it
        at.run()
        at.switch_page(page)
    t0 = time.perf_counter()
    at.run()
    secs = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"{page} {params}: {at.exception[0].value}")
    if any(w.key == "login_name" for w in at.text_input):
        raise SystemExit(f"{page} {params}: the sign-in page was shown, not the page")
    return at, secs


def import_one(path: Path, value: float) -> None:
    """One actual loaded as an upload loads it: a new data version, every kept value stale."""
    import pyarrow as pa

    from kpi_core.ingest.facts.from_arrow import import_table
    from kpi_core.store.warehouse import open_warehouse

    import_table(open_warehouse(path), "actuals", pa.table({"metric": ["min_cash_balance"], "org": ["D1"],
                                                            "period": ["2026-11"], "value": [value]}), source="bench")


def after_import(path: Path, mine: set[str], trials: int = 3) -> None:
    """The first render of the default places right after an import, without and with warming
    (median of `trials` imports each)."""
    from kpi_core.jobs.warm import warm
    from kpi_core.store.warehouse import open_warehouse

    print(f"\nafter an import {'page':<20} {'place':<26} {'first':>8} {'warmed first':>13} {'warming':>9}")
    for i, (page, params) in enumerate(AFTER_IMPORT):
        if page not in mine:
            continue
        cold, warmed, warming = [], [], []
        for k in range(trials):
            import_one(path, 50_000_000.0 + 10 * i + k)
            cold.append(render(page, params)[1])
            import_one(path, 60_000_000.0 + 10 * i + k)
            warming.append(warm(open_warehouse(path), TODAY).seconds)
            warmed.append(render(page, params)[1])
        place = " ".join(f"{k}={v}" for k, v in params.items()) or "default (HQ, latest month)"
        print(f"{'':<15} {page:<20} {place:<26} {statistics.median(cold) * 1000:7.0f}ms "
              f"{statistics.median(warmed) * 1000:12.0f}ms {statistics.median(warming):8.1f}s")


def quiet() -> None:
    """AppTest runs scripts outside a browser session: Streamlit then warns about a missing
    ScriptRunContext for each cached call. Those lines are not the bench's."""
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--as", dest="as_", default="admin:admin",
                    help="NAME:ROLE[:ORG] of the viewer, e.g. lead_t1:team_lead:D1-SAL-T1 (default admin)")
    args = ap.parse_args()
    quiet()
    name, role, *orgs = args.as_.split(":")
    tmp = None
    if args.warehouse:
        path = Path(args.warehouse)
    else:
        from kpi_core.demo.load import load_demo
        from kpi_core.store.warehouse import open_warehouse

        tmp = Path(tempfile.mkdtemp(prefix="kpi-bench-pages-"))
        path = tmp / "demo.duckdb"
        t0 = time.perf_counter()
        load_demo(open_warehouse(path), today=TODAY)
        print(f"demo built in {time.perf_counter() - t0:.1f} s")
    sign_up(path, "bench_" + name, role, orgs)
    os.environ["KPI_WAREHOUSE"] = str(path)
    os.environ["KPI_TODAY"] = TODAY.isoformat()
    os.environ["KPI_JOBS"] = "off"  # no scheduler thread in the bench: it warms explicitly, when timed
    try:
        print(f"{'page':<20} {'place':<32} {'first':>8} {'warm best':>10} {'warm median':>12}")
        from pages.nav import PAGES, menu

        mine = {PAGES[k][0] for k in menu(ACTOR.role)}
        for page, params in PLACES:
            if page not in mine:  # not in this viewer's menu
                continue
            _, first = render(page, params)
            warm = [render(page, params)[1] for _ in range(args.runs)]
            place = " ".join(f"{k}={v}" for k, v in params.items()) or "-"
            print(f"{page:<20} {place:<32} {first * 1000:7.0f}ms {min(warm) * 1000:9.0f}ms "
                  f"{statistics.median(warm) * 1000:11.0f}ms")
        after_import(path, mine)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
