"""Scorecards in the warehouse: versions with reasons, all-or-nothing apply, access, export."""

from __future__ import annotations

import pytest

from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.messages import render
from kpi_core.model.scorecard import ScorecardDef
from kpi_core.store import audit, scorecards


def card(org, *metrics, pw=None) -> ScorecardDef:
    return ScorecardDef.model_validate({"org": org, "metrics": [{"metric": m, "weight": w} for m, w in metrics],
                                        "perspective_weights": pw})


def test_apply_versions_with_reasons_and_skips_unchanged(wh):
    r = scorecards.apply(wh, [card("SALES", ("revenue", 2), ("cost", 1))], reason="plan 2026")
    assert r.created == ["SALES"] and not r.updated
    assert scorecards.apply(wh, [card("SALES", ("revenue", 2), ("cost", 1))], reason=None).unchanged == ["SALES"]
    r = scorecards.apply(wh, [card("SALES", ("revenue", 3), ("cost", 1))], reason="more on revenue")
    assert r.updated == ["SALES"]
    assert scorecards.current(wh)["SALES"].weights() == {"revenue": 3, "cost": 1}
    hist = scorecards.history(wh, "SALES")
    assert [(h["version"], h["reason"], h["removed"]) for h in hist] == [(1, "plan 2026", False),
                                                                          (2, "more on revenue", False)]
    logged = audit.search(wh, audit.Search(object_type="scorecard"))
    assert sorted((e["action"], e["reason"]) for e in logged) == [("create", "plan 2026"),
                                                                   ("update", "more on revenue")]


def test_a_change_needs_a_reason_and_nothing_is_written_without(wh):
    with pytest.raises(ValidationFailed, match="reason"):
        scorecards.apply(wh, [card("SALES", ("revenue", 1))], reason="  \u200b ")
    assert scorecards.current(wh) == {}


def test_one_bad_card_refuses_them_all(wh):
    with pytest.raises(ValidationFailed) as err:
        scorecards.apply(wh, [card("SALES", ("revenue", 1)), card("EAST", ("profit", 1)), card("MARS", ("cost", 1))],
                         reason="x")
    assert [render(p, "en") for p in err.value.problems] == [
        "scorecard of 'EAST': metric 'profit' is not in the dictionary",
        "scorecard of 'MARS': there is no such org unit"]
    assert scorecards.current(wh) == {}


def test_dry_run_writes_nothing(wh):
    r = scorecards.apply(wh, [card("SALES", ("revenue", 1))], dry_run=True)
    assert r.created == ["SALES"] and scorecards.current(wh) == {} and scorecards.history(wh, "SALES") == []


def test_remove_makes_the_unit_inherit_again(wh):
    scorecards.apply(wh, [card("SALES", ("revenue", 1)), card("EAST", ("cost", 1))], reason="x")
    scorecards.remove(wh, "EAST", reason="inherit from sales")
    assert set(scorecards.current(wh)) == {"SALES"}
    assert scorecards.history(wh, "EAST")[-1]["removed"] is True
    with pytest.raises(NotFound, match="no scorecard of its own"):
        scorecards.remove(wh, "EAST", reason="again")
    scorecards.apply(wh, [card("EAST", ("revenue", 1))], reason="back")  # a new version after the removal
    assert scorecards.current(wh)["EAST"].codes == ["revenue"] and len(scorecards.history(wh, "EAST")) == 3


@pytest.mark.parametrize("actor, org, allowed", [
    (Actor("wang", "manager", ("SALES",)), "EAST", True),      # within the manager's subtree
    (Actor("wang", "manager", ("SALES",)), "SALES", True),
    (Actor("wang", "manager", ("SALES",)), "OPS", False),      # a sibling subtree
    (Actor("wang", "manager", ("SALES",)), "HQ", False),       # above them
    (Actor("li", "team_lead", ("EAST",)), "EAST", False),      # team leads do not set scorecards
    (Actor("ceo", "executive", ("HQ",)), "HQ", False),
    (Actor("zhao", "employee", ("EAST",)), "EAST", False),
])
def test_who_may_set_a_scorecard(wh, actor, org, allowed):
    go = lambda: scorecards.apply(wh, [card(org, ("revenue", 1))], reason="x", user=actor)  # noqa: E731
    if allowed:
        assert go().created == [org]
    else:
        with pytest.raises(AccessDenied):
            go()
        assert scorecards.current(wh) == {}


def test_export_applies_back_unchanged(wh, tmp_path):
    scorecards.apply(wh, [card("SALES", ("revenue", 2), ("cost", 1)), card("EAST", ("revenue", 1))], reason="x")
    out = tmp_path / "sc.yaml"
    text = scorecards.export(wh, out)
    assert out.read_text(encoding="utf-8") == text and "org: EAST" in text
    r = scorecards.apply_file(wh, out, reason=None)
    assert sorted(r.unchanged) == ["EAST", "SALES"] and not r.created and not r.updated


def test_a_file_with_problems_names_each(wh, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("scorecards:\n  - org: SALES\n    metrics: [{metric: revenue, weight: 0}]\n"
                 "  - org: EAST\n    metrics: [{metric: nope}]\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        scorecards.apply_file(wh, f, reason="x")
    got = [render(p, "zh") for p in err.value.problems]
    assert len(got) == 2 and "权重必须是正数，不能是 0" in got[0] and "指标“nope”不在指标字典中" in got[1]


def test_an_editors_rows_are_checked_like_a_file(wh):
    with pytest.raises(ValidationFailed) as err:
        scorecards.apply_raw(wh, [{"org": "SALES", "metrics": [{"metric": "revenue", "weight": -1}]}], reason="x")
    assert "not -1" in render(err.value.problems[0], "en") and scorecards.current(wh) == {}
    r = scorecards.apply_raw(wh, [{"org": "SALES", "metrics": [{"metric": "revenue", "weight": 2}],
                                   "perspective_weights": None}], reason="x")
    assert r.created == ["SALES"] and scorecards.current(wh)["SALES"].weights() == {"revenue": 2}
