"""Review cycle benchmark on the demo company: what a review page, an export and closing cost.

    .venv/bin/python bench/reviews.py [--warehouse demo.duckdb] [--org D1] [--repeat 3]

On a copy of the demo warehouse (built with `make warehouse` when none is given), opens a cycle at
2026-Q3 over --org and over the whole company, and times (best of --repeat):
  - every unit's scorecard in the subtree from one query (query.scorecard.subtree_scorecards),
    cold (the first time at this data version) and kept, against the same scorecards unit by
    unit (unit_scorecard in a loop: the obvious code);
  - the results of every unit and person (services.review_results.result_rows) while open;
  - closing the company's cycle (the snapshots frozen, with their batches);
  - the results of the closed cycle (read from the snapshots);
  - one person's packet as PDF and as Excel.
Prints a Markdown table and the ratios; checks the two scorecard paths agree. Asserts no timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kpi_core.present import review_packet as packets  # noqa: E402
from kpi_core.query.api import context  # noqa: E402
from kpi_core.query.scorecard import subtree_scorecards, unit_scorecard  # noqa: E402
from kpi_core.services import review_feedback as feedback  # noqa: E402
from kpi_core.services import review_results as results  # noqa: E402
from kpi_core.services import reviews as service  # noqa: E402
from kpi_core.store.warehouse import open_warehouse  # noqa: E402

TODAY = dt.date(2026, 11, 27)
PERIOD = "2026-Q3"


def best(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", help="a demo warehouse to copy (default: build one)")
    ap.add_argument("--org", default="D1")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_reviews_"))
    path = tmp / "demo.duckdb"
    if args.warehouse:
        shutil.copyfile(args.warehouse, path)
    else:
        subprocess.run([sys.executable, "-m", "kpi_core", "--warehouse", str(path), "init", "--demo"], check=True,
                       cwd=ROOT, capture_output=True)
    wh = open_warehouse(path)
    tree, _ = context(wh)
    rows = []
    for org in (args.org, tree.root):
        n = len(list(tree.subtree(org)))
        start = time.perf_counter()  # cold: the first time at this data version (then it is kept)
        many = subtree_scorecards(wh, tree, org, PERIOD, today=TODAY)
        one = time.perf_counter() - start
        warm, _ = best(lambda o=org: subtree_scorecards(wh, tree, o, PERIOD, today=TODAY), args.repeat)
        loop, each = best(lambda o=org: {u: unit_scorecard(wh, tree, u, PERIOD, today=TODAY) for u in tree.subtree(o)},
                          1 if n > 200 else args.repeat)
        agree = all(math.isclose(many[u].score or 0, each[u].score or 0, rel_tol=1e-9) and
                    many[u].grade == each[u].grade for u in each)
        if not agree:
            print(f"the two scorecard paths disagree over {org}", file=sys.stderr)
            return 1
        rows.append((f"scorecards of {org}'s {n} units: one query, cold", one,
                     f"{loop / one:.1f}× the loop ({loop:.2f} s)"))
        rows.append((f"scorecards of {org}'s {n} units: kept, warm", warm, ""))
        name = f"c_{org}"
        service.open_cycle(wh, name, PERIOD, org)
        t, got = best(lambda nm=name: results.result_rows(wh, nm, today=TODAY), args.repeat)
        rows.append((f"results of {len(got)} units, cycle open", t, ""))
    top = f"c_{tree.root}"
    for _ in range(3):
        service.advance(wh, top, today=TODAY)
    t, _ = best(lambda: service.close(wh, top, today=TODAY), 1)
    rows.append((f"close the company's cycle ({len(list(tree.subtree(tree.root)))} snapshots)", t, ""))
    t, got = best(lambda: results.result_rows(wh, top, today=TODAY), args.repeat)
    rows.append((f"results of {len(got)} units, cycle closed", t, ""))
    person = next(u for u in tree.subtree(tree.root) if not tree.children.get(u))
    data = feedback.packet(wh, top, person, lang="zh", today=TODAY)
    t, pdf = best(lambda: packets.pdf(data, "zh"), args.repeat)
    rows.append((f"one packet as PDF ({len(pdf) / 1024:.0f} KB)", t, ""))
    t, xlsx = best(lambda: packets.xlsx(data, "zh"), args.repeat)
    rows.append((f"one packet as Excel ({len(xlsx) / 1024:.0f} KB)", t, ""))
    print("| work | seconds | against |\n|---|---:|---|")
    for what, seconds, against in rows:
        print(f"| {what} | {seconds:.3f} | {against} |")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
