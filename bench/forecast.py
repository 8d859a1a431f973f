"""Forecast accuracy on the demo company: each method's rolling-origin backtest error (MASE, MAPE)
against the naive and seasonal-naive forecasts, how often each is chosen, and the time taken.

    .venv/bin/python bench/forecast.py [--warehouse demo.duckdb] [--max-series 400] [--horizon 3]

Without --warehouse the demo company is built in a temp dir (about 20 s). Series: every monthly,
non-formula metric at every unit down to the departments with at least --min-points months of
actuals (a formula is forecast from its components, which are in the sample themselves).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi_core.engine.backtest import backtest as run_backtest  # noqa: E402
from kpi_core.engine.backtest import origins, usable  # noqa: E402
from kpi_core.engine.forecast import choose  # noqa: E402
from kpi_core.engine.forecast_methods import METHODS  # noqa: E402
from kpi_core.query.api import Query, context, run  # noqa: E402
from kpi_core.store.warehouse import open_warehouse  # noqa: E402

TODAY = dt.date(2026, 11, 27)


def series(wh, max_series: int, min_points: int) -> list[tuple[str, str, list[float]]]:
    tree, metrics = context(wh)
    units = [u for u in tree.subtree(tree.root) if len(tree.unit(u).path) <= 3]
    out = []
    for m in metrics.values():
        if m.source_type == "formula" or m.frequency != "month":
            continue
        cells = run(wh, Query((m.code,), tree.root, "subtree", "month", "2023-01", "2026-11"), today=TODAY).cells
        by_unit: dict[str, list[float | None]] = {}
        for c in cells:
            if c.org in units:
                by_unit.setdefault(c.org, []).append(c.actual)
        for unit, values in by_unit.items():
            while values and values[-1] is None:
                values.pop()
            start = max((i + 1 for i, v in enumerate(values) if v is None), default=0)
            tail = [float(v) for v in values[start:]]
            if len(tail) >= min_points:
                out.append((m.code, unit, tail))
    return out[:max_series]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse")
    ap.add_argument("--max-series", type=int, default=400)
    ap.add_argument("--min-points", type=int, default=20)
    ap.add_argument("--horizon", type=int, default=3)
    args = ap.parse_args()
    if args.warehouse:
        wh = open_warehouse(args.warehouse)
    else:
        from kpi_core.demo.load import load_demo

        wh = open_warehouse(Path(tempfile.mkdtemp()) / "demo.duckdb")
        load_demo(wh, today=TODAY)
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    picked = series(wh, args.max_series, args.min_points)
    METHODS["ets"].predict([1.0, 2.0, 3.0, 4.0, 5.0], 1, 12)  # statsmodels' import out of the timings
    errors: dict[str, dict[str, list[float]]] = {m: {"mase": [], "mape": [], "rel": [], "rel_s": []} for m in METHODS}
    seconds = {m: 0.0 for m in METHODS}
    chosen: dict[str, int] = {}
    lengths = []
    for _code, _unit, y in picked:
        lengths.append(len(y))
        methods = usable(y, 12)
        at = origins(y, methods, 12)
        scores = {}
        for m in methods:
            t0 = time.perf_counter()
            s = run_backtest(y, m, args.horizon, at, 12)
            seconds[m] += time.perf_counter() - t0
            if s is not None:
                scores[m] = s
        for m, s in scores.items():
            if s.mase is not None:
                errors[m]["mase"].append(s.mase)
            if s.mape is not None:
                errors[m]["mape"].append(s.mape)
            if scores["naive"].mae:
                errors[m]["rel"].append(s.mae / scores["naive"].mae)
            if "seasonal_naive" in scores and scores["seasonal_naive"].mae:
                errors[m]["rel_s"].append(s.mae / scores["seasonal_naive"].mae)
        method, _ = choose(scores)
        chosen[method] = chosen.get(method, 0) + 1
    n = len(picked)
    print(f"{n} series ({min(lengths)}–{max(lengths)} months), horizon {args.horizon}, "
          f"origins: the last 12 months (or what exists)\n")
    print("| method | series | median MASE | mean MASE | median MAPE | beats naive | beats seasonal naive "
          "| chosen | ms / series |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in METHODS:
        e = errors[m]
        if not e["rel"]:
            continue
        k = len(e["rel"])
        beats = sum(r < 1 for r in e["rel"]) / k
        print(f"| {m} | {k} | {statistics.median(e['mase']):.2f} | {statistics.mean(e['mase']):.2f} | "
              f"{statistics.median(e['mape']):.1%} | {beats:.0%} | {_beats_seasonal(m, errors):s} | "
              f"{chosen.get(m, 0)} | {1000 * seconds[m] / k:.1f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


def _beats_seasonal(m: str, errors) -> str:
    """How often the method's backtest error is below seasonal naive's, on the same series."""
    rel = errors[m]["rel_s"]
    return "–" if not rel or m == "seasonal_naive" else f"{sum(r < 1 for r in rel) / len(rel):.0%}"


if __name__ == "__main__":
    raise SystemExit(main())
