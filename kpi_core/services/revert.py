"""Taking a batch back: checks, then a handler per batch kind, in one transaction."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from kpi_core.model import reasons
from kpi_core.model.access import Actor, as_actor, outside, require
from kpi_core.model.errors import AccessDenied, KpiError
from kpi_core.model.messages import Msg
from kpi_core.store import audit, batches, closing, datasets, org, versions
from kpi_core.store.warehouse import Warehouse, now

FACT_TABLES = {"actuals": "actual_fact", "targets": "target_fact"}
CAPABILITY = {"actuals": "actuals", "targets": "targets", "org": "org", "dataset": "datasets", "linked": "datasets"}


def _facts_reverted(con, batch: dict) -> None:
    """Nothing to rebuild: current facts are read through the live batches."""


def _org_reverted(con, batch: dict) -> None:
    org.check_tree(con)  # refuses (and rolls back) a revert that would break the tree


# What each kind of batch needs once it is marked reverted, inside the same transaction.
AFTER_REVERT: dict[str, Callable[[duckdb.DuckDBPyConnection, dict], None]] = {
    "actuals": _facts_reverted,
    "targets": _facts_reverted,
    "org": _org_reverted,
    "dataset": datasets.after_revert,
    "linked": _facts_reverted,  # a refresh's partials are read through the live batches too
}


def _subjects(con, batch: dict) -> list[str]:
    """What reverting the batch changes, for the caches (store.versions); [] for an org batch or a
    linked dataset's refresh, which count as changing everything."""
    kind = batch["kind"]
    if kind in FACT_TABLES:
        return versions.batch_subjects(con, kind, batch["id"])
    return [versions.dataset(batch["dataset"])] if kind == "dataset" else []


def _check_revert(con, actor: Actor, b: dict, reason: str | None) -> None:
    """A batch of facts may be reverted by whoever may write all of its facts; others by an admin."""
    require(actor, CAPABILITY[b["kind"]])
    if b["kind"] == "linked":
        # Refreshes build on each other by watermark: taking back one before the newest would leave
        # a hole (its rows) that no later refresh reads again.
        newest = max((bid for bid, _ in datasets.live_batches(con, b["dataset"])), default=None)
        if b["status"] == "loaded" and newest != b["id"]:
            raise KpiError(Msg("services_revert_linked_not_newest", id=b["id"], dataset=b["dataset"], newest=newest))
    if b["kind"] not in FACT_TABLES:
        return
    table = FACT_TABLES[b["kind"]]
    rows = con.execute(f"SELECT DISTINCT org, period FROM {table} WHERE batch_id = ?", [b["id"]]).fetchall()
    foreign = outside(actor, org.load_tree(con), b["kind"], sorted({o for o, _ in rows}))
    if foreign:
        units = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise AccessDenied(Msg("services_revert_foreign_actuals", who=actor.describe(), id=b["id"], units=units)
                           if b["kind"] == "actuals" else
                           Msg("services_revert_foreign_targets", who=actor.describe(), id=b["id"], units=units))
    closing.guard(con, actor, sorted({p for _, p in rows}), reason, Msg("services_reverting_batch", id=b["id"]))


def revert(wh: Warehouse, batch_id: int, *, user: str | Actor = "admin", reason: str | None = None) -> dict:
    """Take a batch back: the values it replaced become current again. A reason is required."""
    actor = as_actor(user)
    user = actor.name
    with wh.transaction(narrow=True) as con:
        b = batches.get(con, batch_id)
        _check_revert(con, actor, b, reason)
        if b["status"] == "reverted":
            raise KpiError(Msg("services_already_reverted", id=batch_id, at=f"{b['reverted_at']:%Y-%m-%d %H:%M}"))
        reason = reasons.required_reason(reason, reasons.REVERT)
        con.execute("UPDATE batch SET status = 'reverted', reverted_at = ?, reverted_by = ? WHERE id = ?",
                    [now(), user, batch_id])
        AFTER_REVERT[b["kind"]](con, b)
        wh.touch(_subjects(con, b))
        audit.record(con, user, "revert", "batch", str(batch_id), before={"status": "loaded"},
                     after={"status": "reverted"}, reason=reason)
        return batches.get(con, batch_id)
