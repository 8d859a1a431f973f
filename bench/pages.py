"""Benchmark: server time of a page render on the demo company (Streamlit's AppTest runs the
real app script in-process, so the time is the script run: queries, layout, caching).

    .venv/bin/python bench/pages.py [--warehouse PATH] [--runs 5]

Builds the demo company in a temporary warehouse unless --warehouse is given. For each page:
the first render in a fresh process (cold: nothing cached), then warm renders (best and median
of --runs), as a viewer clicking around at the same data version gets them. Prints a table;
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    ("views/cockpit.py", {"org": "HQ", "period": "2026-10"}),
    ("views/cockpit.py", {"org": "D1", "period": "2026-Q3"}),
    ("views/cockpit.py", {"org": "D1-SAL-T1", "period": "2026"}),
    ("views/metrics.py", {}),
    ("views/upload.py", {"org": "D1-SAL"}),
    ("views/targets.py", {"org": "D1"}),
    ("views/admin.py", {}),
    ("views/boards.py", {"board": "executive_bsc"}),  # 12 tiles
    ("views/boards.py", {"board": "sales"}),
]


ACTOR = None


def render(page: str, params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["actor"] = ACTOR  # signed in (sign-in itself is timed by nobody: once a session)
    for k, v in params.items():
        at.query_params[k] = v
    if page != "views/cockpit.py":  # the app opens on the cockpit; go to the page, then time it
        at.run()
        at.switch_page(page)
    t0 = time.perf_counter()
    at.run()
    secs = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"{page} {params}: {at.exception[0].value}")
    return at, secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--as", dest="as_", default="admin:admin",
                    help="NAME:ROLE[:ORG] of the viewer, e.g. lead_t1:team_lead:D1-SAL-T1 (default admin)")
    args = ap.parse_args()
    global ACTOR
    from kpi_core.model.access import Actor

    name, role, *orgs = args.as_.split(":")
    ACTOR = Actor(name, role, tuple(orgs))
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
    os.environ["KPI_WAREHOUSE"] = str(path)
    os.environ["KPI_TODAY"] = TODAY.isoformat()
    try:
        print(f"{'page':<20} {'place':<32} {'first':>8} {'warm best':>10} {'warm median':>12}")
        from views.nav import PAGES, menu

        mine = {PAGES[k][0] for k in menu(ACTOR.role)}
        for page, params in PLACES:
            if page not in mine:  # not in this viewer's menu
                continue
            _, first = render(page, params)
            warm = [render(page, params)[1] for _ in range(args.runs)]
            place = " ".join(f"{k}={v}" for k, v in params.items()) or "-"
            print(f"{page:<20} {place:<32} {first * 1000:7.0f}ms {min(warm) * 1000:9.0f}ms "
                  f"{statistics.median(warm) * 1000:11.0f}ms")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
