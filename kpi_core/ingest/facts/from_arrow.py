"""Importing facts already in a table (the demo, scripts): the same validation as a file."""

from __future__ import annotations

import pyarrow as pa

from kpi_core.ingest.facts.found import FACT_TABLE, FactKind, Facts, facts_table
from kpi_core.ingest.facts.gate import allowed
from kpi_core.ingest.facts.resolve import validate
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.problems import ImportResult, Problem
from kpi_core.store import batches, dictionary, versions
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse


def import_table(wh: Warehouse, kind: FactKind, table: pa.Table, *, source: str, user: str | Actor = "admin",
                 reason: str | None = None) -> ImportResult:
    """Load a metric/org/period/value table as one batch; refused whole on any problem."""
    actor = as_actor(user)
    require(actor, kind)
    n = table.num_rows
    cols = {c: table.column(c).to_pylist() for c in ("metric", "org", "period", "value")}
    facts = Facts(cols["metric"], cols["org"], cols["period"], cols["value"], list(range(1, n + 1)),
                   "metric", "org", ["period"] * n, ["value"] * n)
    with wh.connect() as con:
        org = load_tree(con)
    good, errors = validate(facts, kind, dictionary.current(wh), org, lambda *_: None)
    with wh.connect() as con:
        good, refused = allowed(con, facts, good, kind, org, actor, reason)
    errors += refused
    if errors:
        said = (Msg("ingest_table_problems_actuals", source=source, count=len(errors)) if kind == "actuals"
                else Msg("ingest_table_problems_targets", source=source, count=len(errors)))
        raise ValidationFailed(said, [_line(e) for e in errors[:50]])
    data = facts_table(facts, good)
    with wh.transaction(narrow=True) as con:  # changes only these metrics' facts
        bid = batches.create(con, kind=kind, source=source, user=actor.name, rows_in=n, rows_loaded=len(good),
                             rows_rejected=0, note=reason)
        con.register("_incoming", data)
        con.execute(f"INSERT INTO {FACT_TABLE[kind]} SELECT metric, org, period, value, ?, NULL FROM _incoming", [bid])
        con.unregister("_incoming")
        wh.touch(versions.fact_subjects(kind, data.column("metric").to_pylist()))
    return ImportResult(batch=bid, rows=n, loaded=len(good))


def _line(p: Problem) -> str:
    """A problem as one line, as str(p) writes it, keeping its message's code where it names a cell."""
    if p.row is None or not p.column:
        return str(p)
    if p.value != "":
        return Msg("ingest_problem_at_value", row=p.row, column=p.column, value=p.value, message=p.message)
    return Msg("ingest_problem_at", row=p.row, column=p.column, message=p.message)
