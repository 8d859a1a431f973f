"""Closed periods: once a period is closed, changing its actuals or targets needs the admin
role and a reason (the review was held on those numbers)."""

from __future__ import annotations

from collections.abc import Iterable

from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.periods import fiscal_year, month_labels, parse_period
from kpi_core.store import audit, settings
from kpi_core.store.warehouse import Warehouse, now


def closed(con) -> dict[str, str]:
    """Each closed month, with the closed period that covers it (closing a year closes its months)."""
    out: dict[str, str] = {}
    with fiscal_year(int(settings.raw(con, "fiscal_year_start"))):
        for (label,) in con.execute("SELECT period FROM closed_period ORDER BY period").fetchall():
            for m in month_labels(label):
                out.setdefault(m, label)
    return out


def list_closed(wh: Warehouse) -> list[dict]:
    with wh.connect() as con:
        cur = con.execute("SELECT period, closed_by, closed_at, reason FROM closed_period ORDER BY period")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def close(wh: Warehouse, period: str, *, by: str | Actor = "admin", reason: str | None = None) -> str:
    """Close a period (month, quarter or year label); returns its canonical label."""
    acting = as_actor(by)
    require(acting, "periods")
    label = parse_period(period).label
    with wh.transaction(bump=False) as con:
        if con.execute("SELECT count(*) FROM closed_period WHERE period = ?", [label]).fetchall()[0][0]:
            raise ValidationFailed(Msg("store_period_closed_already", period=label))
        con.execute("INSERT INTO closed_period VALUES (?, ?, ?, ?)", [label, acting.name, now(), reason])
        audit.record(con, acting.name, "close", "period", label, reason=reason)
    return label


def reopen(wh: Warehouse, period: str, *, by: str | Actor = "admin", reason: str | None = None) -> None:
    acting = as_actor(by)
    require(acting, "periods")
    label = parse_period(period).label
    with wh.transaction(bump=False) as con:
        if not con.execute("SELECT count(*) FROM closed_period WHERE period = ?", [label]).fetchall()[0][0]:
            raise NotFound(Msg("store_period_not_closed", period=label))
        con.execute("DELETE FROM closed_period WHERE period = ?", [label])
        audit.record(con, acting.name, "reopen", "period", label, reason=reason)


def touched(con, periods: Iterable[str]) -> dict[str, str]:
    """Of the given period labels, those that overlap a closed period, with that closed period."""
    shut = closed(con)
    if not shut:
        return {}
    out = {}
    for label in dict.fromkeys(periods):
        hit = next((shut[m] for m in sorted(month_labels(label)) if m in shut), None)
        if hit:
            out[label] = hit
    return out


def barred(actor: Actor, reason: str | None) -> Msg | None:
    """Why the actor may not change a closed period, as a message ("only an admin may change",
    "give a reason to change": a refusal nests it and adds " it" or " them"), or None: an admin
    who gives a reason may."""
    if not actor.is_admin:
        return Msg("store_closed_admin_only")
    return None if (reason or "").strip() else Msg("store_closed_reason_needed")


def guard(con, actor: Actor, periods: Iterable[str], reason: str | None, what: str) -> None:
    """Refuse a change to closed periods unless an admin gives a reason; `what` (a Msg) names
    the change."""
    hit = touched(con, periods)
    why = barred(actor, reason) if hit else None
    if why:
        shown = [Msg("store_closed_within", period=p, closed=c) if p != c else p for p, c in list(hit.items())[:5]]
        error = AccessDenied if not actor.is_admin else ValidationFailed
        raise error(Msg("store_touches_closed", what=what, periods=shown, why=why))
