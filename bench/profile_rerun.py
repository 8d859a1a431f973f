"""Profile: where one warm rerun of a page spends its server time (cProfile inside Streamlit's AppTest).

    .venv/bin/python bench/profile_rerun.py [--page cockpit|board] [--warehouse PATH] [--top 25] [--out FILE]

Runs the real app.py in-process (Streamlit's AppTest), signed in as `ceo` with a real session
(so `pages/login.recheck` checks it as on every click), on a fresh demo warehouse (or a copy of
--warehouse): the cockpit of the company at 2026-10, or the boards page on the 12-tile board
(executive_bsc). Two runs warm it (nothing of this place is computed again after them, as for a
viewer clicking around at one data version), then one more run is profiled with cProfile, which
wraps the script's execution in its own thread (Streamlit runs a script off the caller's thread).

Prints the run's time (and the same run unprofiled), the top functions of ours (kpi_core, pages,
app.py) by cumulative time, a few named costs (session check, data-version reads, DuckDB
connections, cached reads, chart specs, Arrow serialisation, message catalogs), and the time by
library (own time of each package's functions, so the shares add up). cProfile roughly doubles
the cost of Python-heavy code; compare shares, not absolute times, with the unprofiled run.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import datetime as dt
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TODAY = dt.date(2026, 11, 27)
PLACES = {"cockpit": ("pages/cockpit.py", {"org": "HQ", "period": "2026-10"}),
          "board": ("pages/boards.py", {"board": "executive_bsc"})}
# name → (file part, function) whose cumulative time is shown
NAMED = [
    ("session check: pages/login.recheck → auth.users.resume", "auth/users.py", "resume"),
    ("data version: Warehouse.data_version", "store/warehouse.py", "data_version"),
    ("DuckDB opens: Warehouse._open", "store/warehouse.py", "_open"),
    ("duckdb.connect", "~", "<built-in method duckdb.duckdb.connect>"),
    ("DuckDB statements: execute", "~", "<method 'execute' of '_duckdb.DuckDBPyConnection' objects>"),
    ("DuckDB statements: execute", "~", "<method 'execute' of 'duckdb.duckdb.DuckDBPyConnection' objects>"),
    ("st.cache_data hits (hash args, unpickle the value)", "caching/cache_utils.py", "_handle_cache_hit"),
    ("st.cache_data: hashing the arguments", "caching/hashing.py", "update_hash"),
    ("pickle.loads (cached values copied out)", "~", "<built-in method _pickle.loads>"),
    ("altair: Chart.to_dict", "altair/vegalite/v6/api.py", "to_dict"),
    ("st.altair_chart / st.vega_lite_chart", "elements/vega_charts.py", "_altair_chart"),
    ("st.vega_lite_chart", "elements/vega_charts.py", "vega_lite_chart"),
    ("DataFrame → Arrow bytes", "streamlit/dataframe_util.py", "convert_anything_to_arrow_bytes"),
    ("st.dataframe", "elements/arrow.py", "dataframe"),
    ("st.metric", "elements/metric.py", "metric"),
    ("st.selectbox", "widgets/selectbox.py", "selectbox"),
    ("message catalogs: present.i18n.t", "present/i18n.py", "t"),
    ("pages/common.md (escaping)", "pages/common.py", "md"),
    ("protobuf: enqueue deltas", "delta_generator.py", "_enqueue"),
]


def package_of(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "(builtins: C calls, incl. duckdb, pickle)"
    p = Path(filename)
    parts = p.parts
    if "site-packages" not in parts:
        try:
            rel = p.resolve().relative_to(ROOT)
            return "ours: " + (str(rel.parent) if rel.parts[0] in ("kpi_core", "pages") else rel.name)
        except ValueError:
            pass
    if "site-packages" in parts:
        i = parts.index("site-packages")
        return parts[i + 1] if len(parts) > i + 1 else "?"
    return "python stdlib"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", choices=list(PLACES), default="cockpit")
    ap.add_argument("--warehouse", help="copy this demo warehouse instead of building one")
    ap.add_argument("--cold", action="store_true",
                    help="profile the first rerun after a write (the data version bumped, as an import does): "
                         "nothing cached")
    ap.add_argument("--move", metavar="ORG,PERIOD",
                    help="cockpit: profile a move to another place (as a click does: session state set, then the "
                         "rerun), e.g. D2,2026-09: the engine's kept facts are warm, the cockpit of that place is not")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--opens", action="store_true",
                    help="also list each time the profiled run opened the warehouse, read-only or not, and from where")
    ap.add_argument("--out", help="also write the cProfile stats here (for snakeviz or pstats)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kpi-profile-"))
    try:
        from kpi_core.auth import users
        from kpi_core.store.warehouse import open_warehouse

        path = folder / "demo.duckdb"
        if args.warehouse:
            shutil.copyfile(args.warehouse, path)
        else:
            from kpi_core.demo.load import load_demo

            load_demo(open_warehouse(path), today=TODAY)
        os.environ["KPI_WAREHOUSE"] = str(path)
        os.environ["KPI_TODAY"] = TODAY.isoformat()
        wh = open_warehouse(path)
        actor = users.actor(wh, "ceo")
        token = users.start_session(wh, actor)

        import streamlit.runtime.scriptrunner.script_runner as sr
        import streamlit.testing.v1.app_test as app_test
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner.script_cache import ScriptCache
        from streamlit.testing.v1 import AppTest

        # Two things AppTest does on every run that a live server does once: it compiles the
        # scripts anew (a new ScriptCache) and forgets that st.navigation left the legacy
        # pages-folder mode (so each run would first go through pages/__init__.through_app's
        # rerun). Here, as on a server, both happen once.
        shared = ScriptCache()
        app_test.ScriptCache = lambda: shared

        prof = cProfile.Profile()
        profiling = {"on": False}
        inner = sr.exec_func_with_error_handling

        def wrapped(func, ctx):
            if PagesManager.uses_pages_directory and profiling.get("warm"):
                PagesManager.uses_pages_directory = False
            if not profiling["on"]:
                return inner(func, ctx)
            prof.enable()
            try:
                return inner(func, ctx)
            finally:
                prof.disable()

        sr.exec_func_with_error_handling = wrapped
        page, params = PLACES[args.page]
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state["actor"] = actor
        at.session_state["session_token"] = token
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        profiling["warm"] = True
        if page != "pages/cockpit.py":
            at.switch_page(page)
        times = []
        for _ in range(4):  # 2 to warm, then 2 timed without the profiler
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            if at.exception:
                raise SystemExit(f"{page}: {at.exception[0].value}")
        if args.move:
            org_, period_ = args.move.split(",")
            at.session_state["org"], at.session_state["period"] = org_, period_
        if args.cold:  # a write bumps the data version: every cached read and the engine's context miss
            with wh.transaction():
                pass
        opens = []
        if args.opens:
            import traceback

            from kpi_core.store.warehouse import Warehouse

            real_open = Warehouse._open

            def traced(self, read_only):
                if profiling["on"]:
                    ours = [f"{Path(f.filename).resolve().relative_to(ROOT)}:{f.name}"
                            for f in traceback.extract_stack()[:-1]
                            if str(ROOT) in str(Path(f.filename).resolve()) and "bench" not in f.filename]
                    opens.append(("read-only" if read_only else "read-write", " ← ".join(reversed(ours[-4:]))))
                return real_open(self, read_only)

            Warehouse._open = traced
        profiling["on"] = True
        t0 = time.perf_counter()
        at.run()
        profiled = time.perf_counter() - t0
        profiling["on"] = False
        import gc

        gcs = []
        for _ in range(3):  # what Streamlit's runner.postScriptGC (on by default) costs after every run
            t0 = time.perf_counter()
            gc.collect()
            gcs.append(time.perf_counter() - t0)
        tracked = len(gc.get_objects())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.out:
        prof.dump_stats(args.out)
    st = pstats.Stats(prof)
    entries = st.stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    total = max(v[3] for v in entries.values())  # the outermost call: the whole script run
    cold = "the profiled rerun is cold (data version bumped); " if args.cold else ""
    print(f"{args.page}: {cold}warm rerun {statistics.median(times[2:]) * 1000:.0f} ms unprofiled "
          f"(runs: {', '.join(f'{x * 1000:.0f}' for x in times)} ms), {profiled * 1000:.0f} ms under cProfile "
          f"(script {total * 1000:.0f} ms); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"gc.collect() after a run (Streamlit's runner.postScriptGC, on by default): "
          f"{statistics.median(gcs) * 1000:.0f} ms, {tracked:,} objects tracked by the collector")
    if args.opens:
        print(f"\n### Warehouse opens ({len(opens)})\n")
        for kind, where in opens:
            print(f"- {kind}: {where}")
    print(f"\n### Ours, by cumulative time (top {args.top})\n")
    print("| function | calls | cumulative ms | % | own ms |\n|---|---:|---:|---:|---:|")
    ours = [(k, v) for k, v in entries.items() if package_of(k[0]).startswith("ours")]
    ours = [(k, v) for k, v in ours if not k[2].startswith("<module>") or "kpi_core" not in k[0]]
    for (file, _line, func), (_cc, nc, tt, ct, _) in sorted(ours, key=lambda kv: -kv[1][3])[:args.top]:
        rel = Path(file).resolve().relative_to(ROOT)
        print(f"| {rel}:{func} | {nc} | {ct * 1000:.0f} | {ct / total:.0%} | {tt * 1000:.0f} |")
    print("\n### Named costs (cumulative; they overlap)\n")
    print("| what | calls | cumulative ms | % |\n|---|---:|---:|---:|")
    seen = set()
    for label, part, func in NAMED:
        hits = [(k, v) for k, v in entries.items()
                if (k[2] == func) and (part == "~" and k[0] == "~" or part != "~" and part in k[0])]
        if not hits or label in seen and not hits:
            continue
        seen.add(label)
        # a recursive function counts once: its outermost calls' cumulative time
        ct = sum(v[3] for _, v in hits)
        nc = sum(v[1] for _, v in hits)
        print(f"| {label} | {nc} | {ct * 1000:.0f} | {ct / total:.0%} |")
    print("\n### By library (own time of its functions)\n")
    by = collections.Counter()
    for (file, _, _), (_, _, tt, _, _) in entries.items():
        by[package_of(file)] += tt
    print("| package | own ms | % |\n|---|---:|---:|")
    for pkg, tt in by.most_common(14):
        print(f"| {pkg} | {tt * 1000:.0f} | {tt / total:.0%} |")
    print("\n### Top functions anywhere, by own time\n")
    print("| function | calls | own ms | cumulative ms |\n|---|---:|---:|---:|")
    for (file, _line, func), (_cc, nc, tt, ct, _) in sorted(entries.items(), key=lambda kv: -kv[1][2])[:15]:
        where = file if file == "~" else f"{package_of(file)}/{Path(file).name}"
        print(f"| {where}:{func} | {nc} | {tt * 1000:.0f} | {ct * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
