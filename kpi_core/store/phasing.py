"""Named phasing profiles: twelve monthly weights per name, audited."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from kpi_core.engine.phasing import check_weights
from kpi_core.model.access import acting
from kpi_core.model.errors import NotFound
from kpi_core.model.messages import Msg
from kpi_core.store import audit
from kpi_core.store.warehouse import Warehouse


def profiles(con: duckdb.DuckDBPyConnection) -> dict[str, list[float]]:
    """Every named profile: its 12 weights in fiscal-month order."""
    out: dict[str, list[float]] = {}
    for name, _, weight in con.execute(
            "SELECT name, position, weight FROM phasing_profile ORDER BY name, position").fetchall():
        out.setdefault(name, []).append(weight)
    return out


def set_profile(wh: Warehouse, name: str, weights: Sequence[float], *, user: str = "admin",
                reason: str | None = None) -> None:
    """Create or replace a named profile (admins only; audited)."""
    user = acting(user, "settings")
    values = check_weights(name, weights)
    with wh.transaction() as con:
        before = profiles(con).get(name)
        con.execute("DELETE FROM phasing_profile WHERE name = ?", [name])
        con.executemany("INSERT INTO phasing_profile VALUES (?, ?, ?)",
                        [[name, i, w] for i, w in enumerate(values, start=1)])
        audit.record(con, user, "set", "phasing_profile", name, before=before, after=values, reason=reason)


def get_profile(wh: Warehouse, name: str) -> list[float]:
    with wh.connect() as con:
        got = profiles(con).get(name)
    if got is None:
        raise NotFound(Msg("store_no_profile", name=name))
    return got


