"""Importing actuals and targets: long or wide files, validated whole before one write."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyarrow as pa

from kpi_core.ingest.facts.found import FACT_TABLE, FactKind, Facts, Progress, facts_table
from kpi_core.ingest.facts.gate import allowed
from kpi_core.ingest.facts.resolve import validate
from kpi_core.ingest.facts.shape import known_names, seen_by_author, shape
from kpi_core.ingest.headers import FACT_ROLES, header_finder
from kpi_core.ingest.read import Grid, read_grid
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.problems import ImportResult, Problem
from kpi_core.store import batches, dictionary, versions
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse


def import_facts(wh: Warehouse, kind: FactKind, path: str | Path, *, sheet: str | None = None,
                 year: int | None = None, dry_run: bool = False, partial: bool = False,
                 user: str | Actor = "admin", progress: Progress | None = None,
                 reason: str | None = None) -> ImportResult:
    """Read, validate and (unless refused or dry run) load one file of actuals or targets.

    A file is checked against what the user may change: rows for units outside their reach, or
    for closed periods (admins only, with a reason), are problems like any other bad row.
    """
    require(as_actor(user), kind)  # a role that may not load this kind at all is refused unread
    step = progress or (lambda *_: None)
    step("read", 0, 1)
    grid = read_grid(path, sheet=sheet, find_header=header_finder(FACT_ROLES, need=3))
    step("read", 1, 1)
    return _import_grid(wh, kind, grid, Path(path), year=year, dry_run=dry_run, partial=partial,
                        user=as_actor(user), step=step, reason=reason)


CHECK_WHILE_HOLDING = 100_000  # cells: a smaller sheet is checked while the warehouse is held (~50 ms)


class _Refused(Exception):
    """Rolls the load's transaction back when the file turns out to be refused."""


def _import_grid(wh: Warehouse, kind: FactKind, grid: Grid, path: Path, *, year: int | None, dry_run: bool,
                 partial: bool, user: Actor, step: Progress, reason: str | None = None) -> ImportResult:
    """Shape and validate, then check, diff and load in one transaction; a large file is
    validated without holding the warehouse (others read and write meanwhile) and validated
    again if the org tree or the dictionary changed in between."""
    # A small file is checked within one turn at the warehouse (a second turn would cost more
    # under load than the check); a large one lets others in while it is checked.
    small = grid.n_rows * max(1, len(grid.header)) <= CHECK_WHILE_HOLDING
    with wh.connect() if small else contextlib.nullcontext():
        with wh.connect() as con:
            org, metrics = load_tree(con), dictionary.current(wh)
        result = ImportResult(rows=grid.n_rows, sheet=grid.sheet, other_sheets=grid.other_sheets)
        facts, shape_problems = shape(grid, kind, year, known=known_names(org, metrics))
        if shape_problems:
            result.errors = shape_problems
            return result
        n_facts = len(facts.row)
        if n_facts == 0:
            result.errors = [Problem(None, "", "", Msg("ingest_no_values", name=path.name, row=grid.header_row))]
            return result
        facts, unseen = seen_by_author(grid, facts)
        return _check_and_load(wh, kind, grid, path, facts, result, org, metrics, n_facts=n_facts, unseen=unseen,
                               dry_run=dry_run, partial=partial, user=user, step=step, reason=reason)


def _check_and_load(wh: Warehouse, kind: FactKind, grid: Grid, path: Path, facts: Facts, result: ImportResult,
                    org: OrgTree, metrics: dict[str, Metric], *, n_facts: int, unseen: list[Problem], dry_run: bool,
                    partial: bool, user: Actor, step: Progress, reason: str | None) -> ImportResult:
    checked = validate(facts, kind, metrics, org, step)
    sha = batches.sha256_of(path)
    try:
        with wh.connect() if dry_run else wh.transaction(narrow=True) as con:  # only these metrics' facts
            now = load_tree(con), dictionary.current(wh)
            if now != (org, metrics):  # changed while the file was checked: check it against what is
                org, metrics = now
                checked = validate(facts, kind, metrics, org, step)
            good, errors = checked
            good, refused = allowed(con, facts, good, kind, org, user, reason)
            result.errors = sorted(unseen + errors + refused, key=lambda e: -1 if e.row is None else e.row)
            if result.errors and not partial:
                result.rejected = n_facts
                raise _Refused
            result.loaded, result.rejected = len(good), n_facts - len(good)
            result.facts = table = facts_table(facts, good)
            result.changes = diff_against_current(con, kind, table)
            if dry_run or not good:
                raise _Refused
            step("load", 0, len(good))
            bid = batches.create(con, kind=kind, source=path.name, sha256=sha,
                                 user=user.name, rows_in=grid.n_rows, rows_loaded=result.loaded,
                                 rows_rejected=result.rejected, note=reason)
            con.register("_incoming", table)
            con.execute(f"INSERT INTO {FACT_TABLE[kind]} SELECT metric, org, period, value, ?, source_row "
                        "FROM _incoming", [bid])
            con.unregister("_incoming")
            wh.touch(versions.fact_subjects(kind, table.column("metric").to_pylist()))
            step("load", len(good), len(good))
            step("commit", 0, 1)  # written, not yet committed

    except _Refused:
        return result
    step("commit", 1, 1)
    result.batch = bid
    return result


def diff_against_current(con, kind: FactKind, table: pa.Table) -> dict:
    """How many facts are new, changed or unchanged against what is current now."""
    view = "actual" if kind == "actuals" else "target"
    con.register("_diff", table)
    try:
        [(new, changed, same)] = con.execute(
            f"SELECT count(*) FILTER (WHERE c.value IS NULL), "
            f"count(*) FILTER (WHERE c.value IS NOT NULL AND c.value <> d.value), "
            f"count(*) FILTER (WHERE c.value = d.value) "
            f"FROM _diff d LEFT JOIN {view} c USING (metric, org, period)").fetchall()
    finally:
        con.unregister("_diff")
    return {"new": new, "changed": changed, "unchanged": same}
