"""Taking a batch back: checks, then a handler per batch kind, in one transaction."""

from __future__ import annotations

from kpi_core.model.access import Actor, as_actor, outside, require
from kpi_core.model.errors import AccessDenied, KpiError
from kpi_core.store import audit, batches
from kpi_core.store.warehouse import Warehouse, now


def _check_revert(con, actor: Actor, b: dict, reason: str | None) -> None:
    """A batch of facts may be reverted by whoever may write all of its facts; others by an admin."""
    from kpi_core.store import closing, org  # late: both build on this module

    if b["kind"] not in ("actuals", "targets"):
        require(actor, "org" if b["kind"] == "org" else "datasets")
        return
    require(actor, b["kind"])
    table = "actual_fact" if b["kind"] == "actuals" else "target_fact"
    rows = con.execute(f"SELECT DISTINCT org, period FROM {table} WHERE batch_id = ?", [b["id"]]).fetchall()
    foreign = outside(actor, org.load_tree(con), b["kind"], sorted({o for o, _ in rows}))
    if foreign:
        raise AccessDenied(f"{actor.describe()} may not revert batch {b['id']}: it holds {b['kind']} of "
                           f"{', '.join(foreign[:5])}{' …' if len(foreign) > 5 else ''}")
    closing.guard(con, actor, sorted({p for _, p in rows}), reason, f"reverting batch {b['id']}")


def revert(wh: Warehouse, batch_id: int, *, user: str | Actor = "admin", reason: str | None = None) -> dict:
    """Take a batch back: the values it replaced become current again."""
    from kpi_core.store import datasets, org  # late: both build on this module

    actor = as_actor(user)
    user = actor.name
    with wh.transaction() as con:
        b = batches.get(con, batch_id)
        _check_revert(con, actor, b, reason)
        if b["status"] == "reverted":
            raise KpiError(f"batch {batch_id} was already reverted on {b['reverted_at']:%Y-%m-%d %H:%M}")
        con.execute("UPDATE batch SET status = 'reverted', reverted_at = ?, reverted_by = ? WHERE id = ?",
                    [now(), user, batch_id])
        if b["kind"] == "dataset":
            datasets.after_revert(con, b)
        elif b["kind"] == "org":
            org.check_tree(con)  # refuses (and rolls back) a revert that would break the tree
        audit.record(con, user, "revert", "batch", str(batch_id), before={"status": "loaded"},
                     after={"status": "reverted"}, reason=reason)
        return batches.get(con, batch_id)
