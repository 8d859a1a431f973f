"""Tricky engine cases as data: each file in tests/data/engine_cases/ holds a small company, its
metrics and facts, and queries with the cells they must give (worked out by hand from SPEC §3).

A case file has:
  about:     one line: the rule it pins down
  org:       [code, name, parent] rows (the root's parent is null)
  metrics:   metric dictionary entries, exactly as `metrics apply` takes them
  settings:  optional warehouse settings, e.g. {fiscal_year_start: 4}
  datasets:  optional {name: [row mapping, ...]}
  actuals:   optional [metric, org, period, value] rows
  targets:   optional [metric, org, period, value] rows
  queries:   each with the Query fields (metrics, org, scope, grain, first, last, ytd), optional
             `name`, `xfail: "<why the engine is wrong>"` and `unmapped: {metric: rows}`, and
             `expected`: cells {metric, org, period, actual, target, attainment, status, source,
             note}. A field left out is not checked; null checks it is empty; numbers are
             compared with a 1e-9 relative tolerance; `note` checks that the note contains it.

Each file gets its own warehouse, loaded through the product's own import functions.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from kpi_core.ingest.datasets import import_arrow
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.query.api import Query, run
from kpi_core.store import dictionary, settings
from kpi_core.store.org import import_org_rows
from kpi_core.store.warehouse import Warehouse, open_warehouse

CASES = Path(__file__).parents[1] / "data" / "engine_cases"
FILES = sorted(CASES.glob("*.yaml"))
NUMBERS = ("actual", "target", "attainment", "target_full")
TEXTS = ("status", "source", "in_progress")
CELL_KEYS = {"metric", "org", "period", *NUMBERS, *TEXTS, "note"}
QUERY_KEYS = {"name", "metrics", "org", "scope", "grain", "first", "last", "ytd", "expected", "xfail", "unmapped"}
FILE_KEYS = {"about", "org", "metrics", "settings", "datasets", "actuals", "targets", "queries"}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _params() -> list:
    out = []
    for path in FILES:
        for i, q in enumerate(load(path).get("queries") or []):
            marks = [pytest.mark.xfail(reason=q["xfail"], strict=True)] if q.get("xfail") else []
            out.append(pytest.param(path, i, marks=marks, id=f"{path.stem}-{q.get('name', i)}"))
    return out


def _facts(rows: list) -> pa.Table:
    return pa.table({"metric": [str(r[0]) for r in rows], "org": [str(r[1]) for r in rows],
                     "period": [str(r[2]) for r in rows], "value": pa.array([float(r[3]) for r in rows])})


def build(case: dict, root: Path) -> Warehouse:
    """A fresh warehouse holding the case's company, loaded as a user would load it."""
    root.mkdir(parents=True, exist_ok=True)
    wh = open_warehouse(root / "warehouse.duckdb")
    import_org_rows(wh, [(str(c), str(n), None if p is None else str(p)) for c, n, p in case["org"]], source="case")
    for name, rows in (case.get("datasets") or {}).items():
        import_arrow(wh, name, pa.Table.from_pylist(rows), source="case")
    if case.get("settings"):
        settings.put_many(wh, {k: str(v) for k, v in case["settings"].items()}, reason="engine case")
    metrics = root / "metrics.yaml"
    metrics.write_text(yaml.safe_dump({"metrics": case["metrics"]}, allow_unicode=True), encoding="utf-8")
    dictionary.apply(wh, metrics, reason="engine case")
    for kind in ("actuals", "targets"):
        if case.get(kind):
            import_table(wh, kind, _facts(case[kind]), source=f"case {kind}")
    return wh


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """One warehouse per case file, built the first time one of its queries runs (queries only read)."""
    built: dict[Path, Warehouse] = {}

    def get(path: Path) -> Warehouse:
        if path not in built:
            built[path] = build(load(path), tmp_path_factory.mktemp(path.stem))
        return built[path]

    return get


def _query(q: dict) -> Query:
    return Query(tuple(q["metrics"]), q.get("org"), q.get("scope", "self"), q.get("grain", "month"),
                 None if q.get("first") is None else str(q["first"]),
                 None if q.get("last") is None else str(q["last"]), bool(q.get("ytd", False)))


def mismatches(expected: list[dict], cells: dict) -> list[str]:
    """Every expected field the cells do not have, as one line each."""
    out = []
    for want in expected:
        key = (want["metric"], want["org"], str(want["period"]))
        cell = cells.get(key)
        if cell is None:
            out.append(f"{key}: no such cell (cells: {sorted(cells)})")
            continue
        for f in NUMBERS:
            if f in want:
                got, exp = getattr(cell, f), want[f]
                same = got is None if exp is None else (got is not None and math.isclose(got, exp, rel_tol=1e-9))
                if not same:
                    out.append(f"{key} {f}: expected {exp!r}, got {got!r}")
        for f in TEXTS:
            if f in want and getattr(cell, f) != want[f]:
                out.append(f"{key} {f}: expected {want[f]!r}, got {getattr(cell, f)!r}")
        if "note" in want:
            note = str(cell.note or "")
            if (want["note"] is None and note) or (want["note"] is not None and str(want["note"]) not in note):
                out.append(f"{key} note: expected {want['note']!r} in it, got {note!r}")
    return out


@pytest.mark.parametrize("path, index", _params())
def test_engine_case(warehouses, path, index):
    q = load(path)["queries"][index]
    result = run(warehouses(path), _query(q))
    cells = {(c.metric, c.org, c.period): c for c in result.cells}
    wrong = mismatches(q["expected"], cells)
    if "unmapped" in q and result.unmapped != q["unmapped"]:
        wrong.append(f"unmapped: expected {q['unmapped']!r}, got {result.unmapped!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_case_file_is_complete(path):
    case = load(path)
    assert isinstance(case, dict) and set(case) <= FILE_KEYS, f"unknown keys: {set(case) - FILE_KEYS}"
    assert isinstance(case.get("about"), str) and case["about"].strip()
    assert case.get("org") and case.get("metrics")
    queries = case.get("queries")
    assert queries, "a case needs queries"
    for q in queries:
        assert set(q) <= QUERY_KEYS, f"unknown query keys: {set(q) - QUERY_KEYS}"
        assert q.get("metrics") and q.get("expected"), f"query {q.get('name')} needs metrics and expected cells"
        for cell in q["expected"]:
            assert set(cell) <= CELL_KEYS, f"unknown cell keys: {set(cell) - CELL_KEYS}"
            assert {"metric", "org", "period"} <= set(cell)
            assert len(set(cell) - {"metric", "org", "period"}) >= 1, f"{cell} checks nothing"
        if "xfail" in q:
            assert isinstance(q["xfail"], str) and q["xfail"].strip(), "an xfail needs a reason"


def test_there_are_cases():
    assert 10 <= len(FILES) <= 20
