"""The org tree: company → division → department → team → person, any depth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from kpi_core.ingest.headers import ORG_FILE_ROLES, header_finder, map_roles
from kpi_core.ingest.read import read_grid, refuse_unseen
from kpi_core.model.access import acting
from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.model.problems import ImportResult, Problem
from kpi_core.model.safe_export import TRIGGERS
from kpi_core.model.text import collisions, fold, is_control, is_invisible, key, visible
from kpi_core.store import batches
from kpi_core.store.warehouse import Warehouse


@dataclass(frozen=True)
class OrgUnit:
    code: str
    name: str
    parent: str | None
    depth: int
    path: tuple[str, ...]  # codes from the root down to this unit


@dataclass
class OrgTree:
    """The current tree, with children lists and name lookup."""

    units: dict[str, OrgUnit] = field(default_factory=dict)
    children: dict[str | None, list[str]] = field(default_factory=dict)
    _keys: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def root(self) -> str | None:
        roots = self.children.get(None, [])
        return roots[0] if roots else None

    def __contains__(self, code: str) -> bool:
        return code in self.units

    def __len__(self) -> int:
        return len(self.units)

    def unit(self, code: str) -> OrgUnit:
        if code not in self.units:
            raise NotFound(f"no org unit '{visible(code)}'")
        return self.units[code]

    def find(self, text: object) -> list[str]:
        """The codes `text` names when compared folded and without letter case (SPEC §5): one,
        or none; several only where codes made before that rule collide."""
        if not self._keys and self.units:
            for code in self.units:
                self._keys.setdefault(key(code), []).append(code)
        return self._keys.get(key(text), [])

    def resolve(self, text: object) -> str:
        """The code of the unit `text` names (a code typed in another width or case, a link);
        NotFound naming it otherwise."""
        codes = self.find(text)
        if len(codes) == 1:
            return codes[0]
        if codes:
            raise NotFound(f"org code '{visible(text)}' matches several units ({visible(', '.join(codes))})")
        raise NotFound(f"no org unit '{visible(text)}'")

    def subtree(self, code: str) -> list[str]:
        """The unit and everything below it, parents before children."""
        self.unit(code)
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(self.children.get(c, [])))
        return out

    def by_name(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        for u in self.units.values():
            names.setdefault(u.name, []).append(u.code)
        return names


def load_tree(con: duckdb.DuckDBPyConnection) -> OrgTree:
    """The current tree from the warehouse."""
    rows = con.execute("SELECT code, name, parent, ord FROM org_unit ORDER BY ord, code").fetchall()
    return build_tree([(c, n, p) for c, n, p, _ in rows])


def tree(wh: Warehouse) -> OrgTree:
    with wh.connect() as con:
        return load_tree(con)


def build_tree(rows: list[tuple[str, str, str | None]]) -> OrgTree:
    """A tree from (code, name, parent) rows already known to be valid."""
    t = OrgTree()
    parent_of = {c: p for c, _, p in rows}
    for code, _, parent in rows:
        t.children.setdefault(parent, []).append(code)
    for code, name, parent in rows:
        path, p = [code], parent
        while p is not None and len(path) <= len(rows):
            path.append(p)
            p = parent_of.get(p)
        path.reverse()
        t.units[code] = OrgUnit(code, name, parent, len(path) - 1, tuple(path))
    return t


def tree_problems(rows: dict[str, tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(code, message) for unknown parents, cycles and more than one root."""
    out = []
    for code, (_, parent) in rows.items():
        if parent is not None and parent not in rows:
            out.append((code, f"parent '{parent}' is not an org unit"))
    roots = [c for c, (_, p) in rows.items() if p is None]
    if len(roots) > 1:
        out += [(c, f"more than one root ({', '.join(roots[:5])}); only the top unit has no parent")
                for c in roots[1:]]
    for code in rows:
        seen, p = {code}, rows[code][1]
        while p is not None and p in rows:
            if p in seen:
                out.append((code, f"cycle: '{code}' is below itself"))
                break
            seen.add(p)
            p = rows[p][1]
    return out


def check_tree(con: duckdb.DuckDBPyConnection) -> None:
    """Raise if the current tree is not one tree (used after a revert)."""
    rows = {c: (n, p) for c, n, p in con.execute("SELECT code, name, parent FROM org_unit").fetchall()}
    problems = tree_problems(rows)
    if problems:
        raise ValidationFailed("that change would break the org tree: "
                               + "; ".join(f"{c}: {m}" for c, m in problems[:5]))


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
            errors.append(Problem(rownum, header["code"], "", "code is empty"))
            continue
        if code[0] in TRIGGERS:  # a code is an identifier, and one like =X would run as a formula in Excel
            errors.append(Problem(rownum, header["code"], code, f"a code may not start with {code[0]!r}"))
            continue
        if not name:
            errors.append(Problem(rownum, header["name"], "", f"unit '{code}' has no name"))
        if code in where:
            errors.append(Problem(rownum, header["code"], code, f"duplicate code (also on row {where[code]})"))
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


def import_org_rows(wh: Warehouse, rows: list[tuple[str, str, str | None]], *, source: str,
                    user: str = "admin") -> int:
    """Load a tree given as rows (the demo); raises if it is not one tree."""
    user = acting(user, "org")
    rows = [(fold(c), clean_name(n), fold(p) or None) for c, n, p in rows]
    with wh.connect() as con:
        existing = [c for (c,) in con.execute("SELECT code FROM org_unit").fetchall()]
    problems = tree_problems({c: (n, p) for c, n, p in rows})
    problems += [(c, f"collides with '{visible(o)}' (codes are compared ignoring width, case and invisible "
                  "characters)") for c, o in collisions([c for c, _, _ in rows], existing).items()]
    if problems:
        raise ValidationFailed("invalid org tree", [f"{visible(c)}: {m}" for c, m in problems])
    with wh.transaction() as con:
        bid = batches.create(con, kind="org", source=source, user=user, rows_in=len(rows),
                             rows_loaded=len(rows), rows_rejected=0)
        con.executemany("INSERT INTO org_unit_version VALUES (?, ?, ?, ?, ?)",
                        [(c, n, p, i, bid) for i, (c, n, p) in enumerate(rows)])
    return bid


def clean_name(v: object) -> str:
    """A unit's name as stored: trimmed, invisible characters removed (two names that look the
    same are the same), otherwise as written."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return "".join(ch for ch in str(v) if ch in " \t" or not is_invisible(ch)).strip()


def _control(v: object) -> str | None:
    """Why a cell cannot name a unit: it holds a control character (ESC, a line break …)."""
    text = "" if v is None else str(v).strip()
    bad = next((ch for ch in text if is_control(ch)), None)
    return f"holds a control character ({visible(bad)}); retype it" if bad else None


def _collision(code: str, other: str, where: dict[str, int]) -> str:
    also = f" on row {where[other]}" if other in where else " already in the org tree"
    return (f"code '{visible(code)}' is the same as '{visible(other)}'{also} when width, letter case and "
            "invisible characters are ignored; an upload naming one could land on the other")
