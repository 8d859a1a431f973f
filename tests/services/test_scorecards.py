"""Cascading a unit's scorecard to its children: copies, kept to each child's data when asked."""

from __future__ import annotations

import pytest

from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, KpiError
from kpi_core.services.scorecards import cascade
from kpi_core.store import scorecards
from tests.query.test_scorecard import company, put  # noqa: F401  (the fixture and its helper)


def test_cascade_copies_to_children_kept_to_their_data(company):  # noqa: F811
    put(company, "SALES", ("revenue", 2), ("on_time_rate", 1), ("cost", 1))
    plan = cascade(company, "SALES", period="2025-01", reason="start")
    assert plan.written and {c.org: c.codes for c in plan.cards} == {
        "EAST": ["revenue", "on_time_rate"], "SOUTH": ["revenue", "cost"]}
    assert plan.dropped == {"EAST": ["cost"], "SOUTH": ["on_time_rate"]}
    own = scorecards.current(company)
    assert own["EAST"].weights() == {"revenue": 2, "on_time_rate": 1}
    assert scorecards.history(company, "SOUTH")[0]["reason"] == "start"


@pytest.mark.parametrize("replace, east", [(False, ["cost"]), (True, ["revenue", "on_time_rate", "cost"])])
def test_a_child_keeps_its_own_unless_replaced(company, replace, east):  # noqa: F811
    put(company, "SALES", ("revenue", 2), ("on_time_rate", 1), ("cost", 1))
    put(company, "EAST", ("cost", 1))
    plan = cascade(company, "SALES", replace=replace, reason="start")
    assert plan.kept_own == ([] if replace else ["EAST"])
    assert scorecards.current(company)["EAST"].codes == east
    assert scorecards.current(company)["SOUTH"].codes == ["revenue", "on_time_rate", "cost"]


def test_a_dry_run_writes_nothing_and_an_inherited_card_cascades_too(company):  # noqa: F811
    put(company, "HQ", ("revenue", 1))
    plan = cascade(company, "SALES", dry_run=True)  # SALES inherits HQ's
    assert [c.org for c in plan.cards] == ["EAST", "SOUTH"] and not plan.written
    assert set(scorecards.current(company)) == {"HQ"}


def test_children_with_nothing_are_left_alone_and_no_scorecard_is_refused(company):  # noqa: F811
    with pytest.raises(KpiError, match="has no scorecard"):
        cascade(company, "OPS", dry_run=True)
    put(company, "OPS", ("revenue", 1))
    plan = cascade(company, "OPS", period="2025-01", reason="x")
    assert plan.empty == ["SVC"] and plan.cards == [] and not plan.written
    with pytest.raises(KpiError, match="no children"):
        cascade(company, "EAST", dry_run=True)


def test_a_manager_cascades_only_inside_their_subtree(company):  # noqa: F811
    put(company, "HQ", ("revenue", 1))
    cascade(company, "SALES", reason="x", user=Actor("wang", "manager", ("SALES",)))
    with pytest.raises(AccessDenied):
        cascade(company, "HQ", reason="x", user=Actor("wang", "manager", ("SALES",)))
