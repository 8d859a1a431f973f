"""The org tree: company → division → department → team → person, any depth."""

from __future__ import annotations

import duckdb

from kpi_core.model.access import acting
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree, build_tree, clean_name, tree_problems
from kpi_core.model.text import collisions, fold, visible
from kpi_core.store import batches
from kpi_core.store.datasets import semicolons
from kpi_core.store.warehouse import Warehouse


def load_tree(con: duckdb.DuckDBPyConnection) -> OrgTree:
    """The current tree from the warehouse."""
    rows = con.execute("SELECT code, name, parent, ord FROM org_unit ORDER BY ord, code").fetchall()
    return build_tree([(c, n, p) for c, n, p, _ in rows])


def tree(wh: Warehouse) -> OrgTree:
    with wh.read() as con:
        return load_tree(con)


def check_tree(con: duckdb.DuckDBPyConnection) -> None:
    """Raise if the current tree is not one tree (used after a revert)."""
    rows = {c: (n, p) for c, n, p in con.execute("SELECT code, name, parent FROM org_unit").fetchall()}
    problems = tree_problems(rows)
    if problems:
        raise ValidationFailed(Msg("store_tree_broken", problems=semicolons(
            [Msg("store_field_problem", where=c, problem=m) for c, m in problems[:5]])))


def import_org_rows(wh: Warehouse, rows: list[tuple[str, str, str | None]], *, source: str,
                    user: str = "admin") -> int:
    """Load a tree given as rows (the demo); raises if it is not one tree."""
    user = acting(user, "org")
    rows = [(fold(c), clean_name(n), fold(p) or None) for c, n, p in rows]
    with wh.connect() as con:
        existing = [c for (c,) in con.execute("SELECT code FROM org_unit").fetchall()]
    problems = tree_problems({c: (n, p) for c, n, p in rows})
    problems += [(c, Msg("store_code_collides", other=visible(o)))
                 for c, o in collisions([c for c, _, _ in rows], existing).items()]
    if problems:
        raise ValidationFailed(Msg("store_invalid_tree"),
                               [Msg("store_field_problem", where=visible(c), problem=m) for c, m in problems])
    with wh.transaction() as con:
        bid = batches.create(con, kind="org", source=source, user=user, rows_in=len(rows),
                             rows_loaded=len(rows), rows_rejected=0)
        con.executemany("INSERT INTO org_unit_version VALUES (?, ?, ?, ?, ?)",
                        [(c, n, p, i, bid) for i, (c, n, p) in enumerate(rows)])
    return bid


