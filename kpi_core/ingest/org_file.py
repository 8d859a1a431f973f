"""The org tree loaded from a code/name/parent file: the whole file or nothing."""

from __future__ import annotations

from pathlib import Path

from kpi_core.ingest.headers import ORG_FILE_ROLES, header_finder, map_roles
from kpi_core.ingest.read import read_grid, refuse_unseen
from kpi_core.model.access import acting
from kpi_core.model.messages import Msg
from kpi_core.model.org import clean_name, tree_problems
from kpi_core.model.problems import ImportResult, Problem
from kpi_core.model.safe_export import TRIGGERS
from kpi_core.model.text import collisions, fold, is_control, key, visible
from kpi_core.store import batches
from kpi_core.store.warehouse import Warehouse


def import_org(wh: Warehouse, path: str | Path, *, sheet: str | None = None, user: str = "admin",
               dry_run: bool = False) -> ImportResult:
    """Add or update units from a code/name/parent file; the whole file or nothing (admins only)."""
    user = acting(user, "org")
    grid = read_grid(path, sheet=sheet, find_header=header_finder(ORG_FILE_ROLES, need=2))
    roles, problems = map_roles(grid.header, ORG_FILE_ROLES, required=("code", "name", "parent"))
    result = ImportResult(rows=grid.n_rows)
    if problems:
        result.errors = problems
        return result
    refuse_unseen(grid)
    cols = {role: grid.columns[i].to_pylist() for role, i in roles.items()}
    row_nums = grid.rows.to_pylist()
    with wh.connect() as con:
        existing = {c: (n, p) for c, n, p in con.execute("SELECT code, name, parent FROM org_unit").fetchall()}
    incoming, where, errors = {}, {}, []
    names = {key(n): c for c, (n, _) in existing.items()}
    header = {role: grid.header[i] for role, i in roles.items()}
    for i, rownum in enumerate(row_nums):
        raw_code, raw_name = cols["code"][i], cols["name"][i]
        code, name = fold(raw_code), clean_name(raw_name)
        parent = fold(cols["parent"][i]) or None
        bad = [(role, raw, why) for role, raw in (("code", raw_code), ("name", raw_name), ("parent", cols["parent"][i]))
               if (why := _control(raw))]
        if bad:
            errors += [Problem(rownum, header[role], visible(raw), why) for role, raw, why in bad]
            continue
        if not code:
            errors.append(Problem(rownum, header["code"], "", Msg("ingest_code_empty")))
            continue
        if code[0] in TRIGGERS:  # a code is an identifier, and one like =X would run as a formula in Excel
            errors.append(Problem(rownum, header["code"], code, Msg("ingest_code_starts_with", char=repr(code[0]))))
            continue
        if not name:
            errors.append(Problem(rownum, header["name"], "", Msg("ingest_unit_no_name", unit=code)))
        if code in where:
            errors.append(Problem(rownum, header["code"], code, Msg("ingest_duplicate_code", row=where[code])))
            continue
        where[code] = rownum
        incoming[code] = (name, parent)
        names.setdefault(key(name), code)
    for code, other in collisions(incoming, existing).items():
        errors.append(Problem(where[code], header["code"], code, _collision(code, other, where)))
        del incoming[code]
    merged = {**existing, **incoming}
    codes = {key(c): c for c in merged}
    for code, (name, parent) in incoming.items():
        # A parent is a code (in any width or case), or a name when that name is unique.
        if parent is not None and parent not in merged:
            found = codes.get(key(parent)) or names.get(key(parent))
            if found:
                incoming[code] = merged[code] = (name, found)
    for code, msg in tree_problems(merged):
        row = where.get(code)
        if row is not None:
            errors.append(Problem(row, header["parent"], merged[code][1] or "", msg))
    result.errors = sorted(errors, key=lambda p: p.row)
    if result.errors:
        result.rejected = len(incoming)
        return result
    result.loaded = len(incoming)
    if dry_run:
        return result
    with wh.transaction() as con:
        bid = batches.create(con, kind="org", source=Path(path).name, sha256=batches.sha256_of(path),
                             user=user, rows_in=grid.n_rows, rows_loaded=len(incoming), rows_rejected=0)
        con.executemany("INSERT INTO org_unit_version VALUES (?, ?, ?, ?, ?)",
                        [(c, n, p, where[c], bid) for c, (n, p) in incoming.items()])
    result.batch = bid
    return result


def _control(v: object) -> Msg | None:
    """Why a cell cannot name a unit: it holds a control character (ESC, a line break …)."""
    text = "" if v is None else str(v).strip()
    bad = next((ch for ch in text if is_control(ch)), None)
    return Msg("ingest_control_character", char=visible(bad)) if bad else None


def _collision(code: str, other: str, where: dict[str, int]) -> Msg:
    if other in where:
        return Msg("ingest_code_collides_on_row", unit=visible(code), other=visible(other), row=where[other])
    return Msg("ingest_code_collides_in_tree", unit=visible(code), other=visible(other))
