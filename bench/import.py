"""Benchmark: importing long-shape actuals xlsx files, against pandas + openpyxl.

    .venv/bin/python bench/import.py [--rows 100000 1000000] [--keep] [--profile]

For each row count it builds (once, cached under bench/.cache/) an xlsx of unique
metric × org × period facts, ~2% of the values typed as text ("1,234.5", "12.3%"), then times:

- ours      kpi_core.ingest.facts.load.import_facts end to end (read + shape + validate + load,
            one transaction) on a fresh copy of a synthetic warehouse; best of 2 under 1M rows;
- pandas    pandas.read_excel(path, engine="openpyxl") — read only, no validation, no load;
- fastexcel fastexcel.read_excel(path).load_sheet(0).to_arrow() — the raw read;
- sql load  INSERT INTO actual_fact SELECT … FROM the fastexcel Arrow table (number text parsed in
            SQL, no other checks) — a floor for the load.

The stage split of our import (read, shape + lookups, validate, diff + table, load) comes from the
timestamps of import_facts' own progress callback. This is a bench, not a test: it asserts nothing
about time, but exits 1 if the import reported errors or loaded the wrong number of facts.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import fastexcel  # noqa: E402
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402

from kpi_core.ingest.facts.load import import_facts  # noqa: E402
from kpi_core.model.metric import Metric  # noqa: E402
from kpi_core.store.dictionary import apply_metrics  # noqa: E402
from kpi_core.store.org import import_org_rows  # noqa: E402
from kpi_core.store.warehouse import open_warehouse  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
N_METRICS = 20
DIVISIONS, TEAMS_PER_DIVISION, PEOPLE_PER_TEAM = 10, 10, 20
TEXT_SHARE = 0.02
SEED = 20250301
GENERATOR_VERSION = 1  # bump when the file layout changes, so cached files are rebuilt


# --- synthetic company ---------------------------------------------------------------------

def org_rows() -> list[tuple[str, str, str | None]]:
    """1 root, 10 divisions, 100 teams, 2000 people (2111 units)."""
    rows: list[tuple[str, str, str | None]] = [("root", "Bench Co", None)]
    team_no = person_no = 0
    for d in range(1, DIVISIONS + 1):
        div = f"d{d:02d}"
        rows.append((div, f"Division {d}", "root"))
        for _ in range(TEAMS_PER_DIVISION):
            team_no += 1
            team = f"t{team_no:03d}"
            rows.append((team, f"Team {team_no}", div))
            for _ in range(PEOPLE_PER_TEAM):
                person_no += 1
                rows.append((f"p{person_no:04d}", f"Person {person_no}", team))
    return rows


def metric_codes() -> list[str]:
    return [f"m{i:02d}" for i in range(1, N_METRICS + 1)]


def build_template(path: Path) -> None:
    """A migrated warehouse with the org tree and the manual monthly metrics."""
    wh = open_warehouse(path)
    import_org_rows(wh, org_rows(), source="bench", user="bench")
    # Measured in %: the file types some values as percentages ("12.3%"), which only a metric
    # measured in % takes (SPEC §5); the rest are plain numbers, which any metric takes.
    apply_metrics(wh, [Metric(code=c, name=c.upper(), unit="%", source="manual", frequency="month")
                       for c in metric_codes()], user="bench", reason="benchmark")


def periods_needed(n_rows: int, n_keys_per_period: int) -> list[str]:
    n = -(-n_rows // n_keys_per_period)
    return [f"{2020 + k // 12}-{k % 12 + 1:02d}" for k in range(n)]  # 2020-01, 2020-02, …


# --- the xlsx file -------------------------------------------------------------------------

def facts_file(n_rows: int) -> Path:
    """The cached xlsx with `n_rows` data rows (built on first use)."""
    path = CACHE / f"actuals_long_{n_rows}_v{GENERATOR_VERSION}.xlsx"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"generating {path.name} …", end=" ", flush=True)
    t0 = time.perf_counter()
    orgs, metrics = [c for c, _, _ in org_rows()], metric_codes()
    per_period = len(orgs) * len(metrics)
    periods = periods_needed(n_rows, per_period)
    rng = random.Random(SEED + n_rows)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("actuals")
    ws.append(["metric", "org", "period", "value"])
    for i in range(n_rows):
        p, rest = divmod(i, per_period)
        m, o = divmod(rest, len(orgs))
        v = round(rng.uniform(0, 20000), 2)
        if rng.random() < TEXT_SHARE:
            v = f"{v:,.1f}" if rng.random() < 0.5 else f"{v / 1000:.1f}%"
        ws.append([metrics[m], orgs[o], periods[p], v])
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    print(f"{time.perf_counter() - t0:.1f} s, {path.stat().st_size / 2**20:.1f} MB", flush=True)
    return path


# --- timed runs ----------------------------------------------------------------------------

class StageClock:
    """Stage durations from import_facts' progress callback (read, validate and load marks)."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        if done == 0 or done == total:
            self.marks.append((f"{stage}:{'start' if done == 0 else 'end'}", time.perf_counter()))

    def stages(self, t_start: float, t_end: float) -> dict[str, float]:
        at: dict[str, float] = {}
        for name, t in self.marks:
            at.setdefault(name, t)  # first mark of each kind
            if name.endswith(":end"):
                at[name] = t  # last end mark
        spans = [("read", "read:start", "read:end"),
                 ("shape + dictionary/org lookups", "read:end", "validate:start"),
                 ("validate", "validate:start", "validate:end"),
                 ("facts table + diff vs current", "validate:end", "load:start"),
                 ("load (batch + INSERT + commit)", "load:start", "load:end")]
        out = {name: at[b] - at[a] for name, a, b in spans if a in at and b in at}
        last = max(at.values(), default=t_start)
        out["rest"] = (t_end - last) + (at.get("read:start", t_start) - t_start)
        return out


def fresh_warehouse(template: Path, work: Path, tag: str):
    path = work / f"wh_{tag}.duckdb"
    shutil.copyfile(template, path)
    return open_warehouse(path), path


def run_ours(template: Path, work: Path, xlsx: Path, tag: str, profile: bool = False):
    wh, _ = fresh_warehouse(template, work, tag)
    clock = StageClock()
    prof = cProfile.Profile() if profile else None
    gc.collect()
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    result = import_facts(wh, "actuals", xlsx, dry_run=False, partial=False, user="bench", progress=clock)
    if prof:
        prof.disable()
    t1 = time.perf_counter()
    with wh.connect() as con:
        [(stored, total)] = con.execute("SELECT count(*), sum(value) FROM actual_fact").fetchall()
    return t1 - t0, result, (stored, total), clock.stages(t0, t1), prof


def run_pandas(xlsx: Path) -> tuple[float, int]:
    gc.collect()
    t0 = time.perf_counter()
    df = pd.read_excel(xlsx, engine="openpyxl")
    return time.perf_counter() - t0, len(df)


def run_fastexcel(xlsx: Path):
    gc.collect()
    t0 = time.perf_counter()
    table = fastexcel.read_excel(str(xlsx)).load_sheet(0).to_arrow()
    return time.perf_counter() - t0, table


def run_sql_load(template: Path, work: Path, table) -> tuple[float, tuple[int, float]]:
    """INSERT … SELECT of the already-read Arrow table: text numbers parsed in SQL, nothing checked."""
    _, path = fresh_warehouse(template, work, "sql")
    con = duckdb.connect(str(path))
    value = "CAST(value AS VARCHAR)"
    number = (f"CASE WHEN {value} LIKE '%\\%%' ESCAPE '\\' "
              f"THEN TRY_CAST(replace(rtrim({value}, '%'), ',', '') AS DOUBLE) / 100 "
              f"ELSE TRY_CAST(replace({value}, ',', '') AS DOUBLE) END")
    gc.collect()
    t0 = time.perf_counter()
    con.register("_arrow", table)
    con.execute("BEGIN TRANSACTION")
    con.execute(f"INSERT INTO actual_fact SELECT metric, org, period, {number}, 0, "
                "CAST(row_number() OVER () + 1 AS INTEGER) FROM _arrow")
    con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    [(n, total)] = con.execute("SELECT count(value), sum(value) FROM actual_fact").fetchall()
    con.close()
    return elapsed, (n, total)


# --- main ----------------------------------------------------------------------------------

def fmt_rate(n: int, s: float) -> str:
    return f"{n / s:,.0f}" if s > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with the warehouses")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of one import per size")
    ap.add_argument("--skip-pandas", action="store_true", help="leave out the (slow) pandas baseline")
    args = ap.parse_args(argv)

    print(f"python {sys.version.split()[0]}; duckdb {version('duckdb')}, fastexcel {version('fastexcel')}, "
          f"pandas {version('pandas')}, openpyxl {version('openpyxl')}, pyarrow {version('pyarrow')}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="kpi_bench_import_"))
    failed = False
    table_rows = []
    try:
        template = work / "template.duckdb"
        build_template(template)
        for n in args.rows:
            xlsx = facts_file(n)
            print(f"\n== {n:,} rows ({xlsx.name}, {xlsx.stat().st_size / 2**20:.1f} MB)", flush=True)
            repeats = 2 if n < 1_000_000 else 1
            best = None
            for k in range(repeats):
                secs, result, (stored, ours_sum), stages, _ = run_ours(template, work, xlsx, f"{n}_{k}")
                print(f"  ours run {k + 1}: {secs:.2f} s  (batch {result.batch}, rows {result.rows}, "
                      f"loaded {result.loaded}, rejected {result.rejected}, errors {len(result.errors)}, "
                      f"stored {stored})", flush=True)
                if result.errors or result.loaded != n or stored != n or result.rows != n:
                    failed = True
                    for e in result.errors[:10]:
                        print(f"    ERROR {e}", file=sys.stderr)
                    print(f"  FAILED: expected {n} facts loaded with no errors", file=sys.stderr)
                if best is None or secs < best[0]:
                    best = (secs, stages)
            ours, stages = best
            print("  stages (best run):")
            for name, s in stages.items():
                print(f"    {name:<34} {s:7.2f} s  {100 * s / ours:5.1f} %")
            if args.profile:
                _, _, _, _, prof = run_ours(template, work, xlsx, f"{n}_prof", profile=True)
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
                print(out.getvalue())

            fx_secs, arrow = run_fastexcel(xlsx)
            print(f"  fastexcel read: {fx_secs:.2f} s  (value column: {arrow.schema.field('value').type})",
                  flush=True)
            sql_secs, (sql_n, sql_sum) = run_sql_load(template, work, arrow)
            same = sql_n == n and abs((sql_sum or 0) - (ours_sum or 0)) <= 1e-9 * abs(ours_sum or 1)
            agree = "agrees" if same else "DIFFERS"
            print(f"  sql load: {sql_secs:.2f} s  ({sql_n} numbers stored; sum of values {agree} with ours)",
                  flush=True)
            del arrow
            if args.skip_pandas:
                pd_secs, pd_n = float("nan"), 0
            else:
                pd_secs, pd_n = run_pandas(xlsx)
                print(f"  pandas read: {pd_secs:.2f} s  ({pd_n} rows)", flush=True)
            table_rows.append((n, ours, pd_secs, fx_secs, sql_secs))

        print("\n| rows | what | seconds | rows/s |\n|---:|---|---:|---:|")
        for n, ours, pd_secs, fx_secs, sql_secs in table_rows:
            for what, s in (("ours: import_facts end to end", ours),
                            ("pandas.read_excel (openpyxl), read only", pd_secs),
                            ("fastexcel → Arrow, read only", fx_secs),
                            ("DuckDB INSERT … SELECT from Arrow", sql_secs)):
                if s == s:  # not NaN
                    print(f"| {n:,} | {what} | {s:.2f} | {fmt_rate(n, s)} |")
        print("\n| rows | pandas / ours | ours / (fastexcel + sql load) |\n|---:|---:|---:|")
        for n, ours, pd_secs, fx_secs, sql_secs in table_rows:
            ratio = f"{pd_secs / ours:.1f}×" if pd_secs == pd_secs else "-"
            print(f"| {n:,} | {ratio} | {ours / (fx_secs + sql_secs):.1f}× |")
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other processes share the cores)")
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failed:
        print("\nFAILED: an import reported errors or loaded the wrong number of facts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
