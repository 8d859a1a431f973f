"""The guided start's checklist: each step is done by what the warehouse holds, in order."""

import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.board import Board
from kpi_core.model.scorecard import ScorecardDef
from kpi_core.services import first_steps
from kpi_core.store import boards, scorecards
from kpi_core.store.org import import_org_rows
from kpi_core.store.warehouse import open_warehouse
from tests.engine.test_phasing import table


def done(wh) -> dict[str, tuple[int, bool]]:
    return {s.key: (s.count, s.done) for s in first_steps.steps(wh)}


def test_an_empty_warehouse_starts_at_the_org_tree(tmp_path):
    wh = open_warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    steps = first_steps.steps(wh)
    assert [s.key for s in steps] == [k for k, _ in first_steps.STEPS]
    assert not any(s.done for s in steps) and first_steps.next_step(steps).key == "org"
    import_org_rows(wh, [("HQ", "总部", None)], source="t")
    assert done(wh)["org"] == (1, False)  # a lone root: nothing under it to set up yet


def test_each_step_is_done_by_what_is_there(wh):
    before = done(wh)
    assert before["org"][1] and before["metrics"][1]
    assert not before["scorecards"][1] and not before["board"][1]
    scorecards.apply(wh, [ScorecardDef.model_validate({"org": "HQ", "metrics": [{"metric": "revenue", "weight": 1}]})],
                     reason="t")
    import_table(wh, "targets", table([("revenue", "EAST", "2025-01", 100)]), source="t")
    import_table(wh, "actuals", table([("revenue", "EAST", "2025-01", 90)]), source="t")
    boards.save(wh, Board(code="first", title="第一个看板", owner="admin"))
    after = done(wh)
    assert after["scorecards"] == (1, True) and after["board"] == (1, True)
    assert after["targets"][1] and after["actuals"][1]
    assert first_steps.next_step(first_steps.steps(wh)) is None


@pytest.mark.parametrize("targets, asked, expected", [
    ([], ["revenue", "cost"], ["cost", "revenue"]),
    ([("revenue", "EAST", "2025-01", 100)], ["revenue", "cost", "revenue"], ["cost"]),
    ([("revenue", "EAST", "2025-01", 100), ("cost", "SOUTH", "2025-03", 5)], ["revenue", "cost"], []),
    ([], [], []),
])
def test_metrics_without_any_target_are_named(wh, targets, asked, expected):
    if targets:
        import_table(wh, "targets", table(targets), source="t")
    assert first_steps.without_targets(wh, asked) == expected


def test_the_default_scorecard_is_adopted_for_the_company(wh):
    card = first_steps.adopt_default_scorecard(wh, reason="起步")
    stored = scorecards.current(wh)
    assert list(stored) == ["HQ"] and stored["HQ"] == card
    assert card.metrics and len({i.weight for i in card.metrics}) == 1
    assert done(wh)["scorecards"] == (1, True)
