"""Stage 3, gate: of the good facts, those the user may write (their units, open periods)."""

from __future__ import annotations

from kpi_core.ingest.facts.found import FactKind, Facts, cell_text
from kpi_core.model.access import Actor, outside
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree
from kpi_core.model.problems import Problem
from kpi_core.store import closing


def allowed(con, f: Facts, good: list, kind: FactKind, tree: OrgTree, actor: Actor,
             reason: str | None) -> tuple[list, list[Problem]]:
    """Split good facts into those the actor may write and a problem for each one they may not."""
    foreign = set(outside(actor, tree, kind, dict.fromkeys(g.org for g in good)))
    shut = closing.touched(con, dict.fromkeys(g.period for g in good))
    why = closing.barred(actor, reason) if shut else None
    if not why:
        shut = {}
    if not foreign and not shut:
        return good, []
    keep, problems = [], []
    mine = ", ".join(actor.orgs) or Msg("ingest_no_units")
    for g in good:
        i, unit, label = g.index, g.org, g.period
        if unit in foreign:
            outside_yours = (Msg("ingest_outside_units_actuals", unit=unit, units=mine) if kind == "actuals"
                             else Msg("ingest_outside_units_targets", unit=unit, units=mine))
            problems.append(Problem(f.row[i], f.org_col, cell_text(f.org[i]), outside_yours))
        elif label in shut:
            problems.append(Problem(f.row[i], f.period_col[i], label,
                                    Msg("ingest_period_closed", period=shut[label], why=why)))
        else:
            keep.append(g)
    return keep, problems
