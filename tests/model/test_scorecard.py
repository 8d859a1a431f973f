"""Scorecard definitions: parsing, the checks against dictionary and tree, shares, inheritance."""

from __future__ import annotations

import pytest

from kpi_core.model.messages import render
from kpi_core.model.metric import Metric
from kpi_core.model.org import build_tree
from kpi_core.model.scorecard import ScorecardDef, check, for_children, nearest, parse, shares, to_yaml

TREE = build_tree([("HQ", "总部", None), ("D1", "一部", "HQ"), ("T1", "一组", "D1"), ("P1", "张三", "T1"),
                          ("D2", "二部", "HQ")])
METRICS = {code: Metric.model_validate({"code": code, "name": code, "perspective": p, "source": "manual"})
           for code, p in [("revenue", "financial"), ("margin", "financial"), ("nps", "customer"),
                           ("yield_", "internal_process"), ("loose", None)]}


def card(org="D1", metrics=(("revenue", 1),), pw=None) -> ScorecardDef:
    return ScorecardDef.model_validate({"org": org, "metrics": [{"metric": m, "weight": w} for m, w in metrics],
                                        "perspective_weights": pw})


def texts(problems) -> list[str]:
    return [render(p, "en") for p in problems]


@pytest.mark.parametrize("item, expected", [
    ({"org": "D1", "metrics": [{"metric": "revenue", "weight": 0}]}, "weight must be a positive number, not 0"),
    ({"org": "D1", "metrics": [{"metric": "revenue", "weight": -2}]}, "not -2"),
    ({"org": "D1", "metrics": [{"metric": "revenue", "weight": float("nan")}]}, "not nan"),
    ({"org": "D1", "metrics": [{"metric": "revenue", "weight": float("inf")}]}, "not inf"),
    ({"org": "D1", "metrics": [{"metric": "revenue"}], "perspective_weights": {"financial": 0}}, "not 0"),
    ({"org": "D1", "metrics": [{"metric": "revenue"}], "perspective_weights": {"money": 1}}, "perspective_weights"),
    ({"org": "D1", "metrics": [{"metric": "revenue", "weigth": 2}]}, "unknown field"),
    ({"metrics": []}, "org"),
    ("D1", "is not a mapping"),
])
def test_parse_refuses(item, expected):
    cards, problems = parse([item], "sc.yaml")
    assert not cards and len(problems) == 1 and expected in texts(problems)[0]


def test_parse_names_a_unit_given_twice():
    cards, problems = parse([{"org": "D1", "metrics": []}, {"org": "D1", "metrics": []}], "sc.yaml")
    assert len(cards) == 1 and texts(problems) == ["sc.yaml: the scorecard of 'D1' is given twice"]


@pytest.mark.parametrize("definition, expected", [
    (card(), []),
    (card(org="NOPE"), ["scorecard of 'NOPE': there is no such org unit"]),
    (card(metrics=(("revenue", 1), ("revenue", 2))), ["scorecard of 'D1': metric 'revenue' is listed twice"]),
    (card(metrics=(("profit", 1),)), ["scorecard of 'D1': metric 'profit' is not in the dictionary"]),
    (card(metrics=(("revenue", 1), ("nps", 1)), pw={"financial": 60}),
     ["scorecard of 'D1': perspective 'customer' has metrics but no weight in perspective_weights "
      "(its metrics would count for nothing)"]),
    (card(pw={"financial": 60, "customer": 40}),
     ["scorecard of 'D1': perspective 'customer' has a weight but no metric"]),
    (card(metrics=(("revenue", 1), ("loose", 1)), pw={"financial": 1}),
     ["scorecard of 'D1': metric 'loose' has no perspective, so perspective_weights cannot weigh it"]),
])
def test_check(definition, expected):
    assert texts(check(definition, METRICS, TREE)) == expected


@pytest.mark.parametrize("metrics, pw, expected", [
    ((("revenue", 3), ("nps", 1)), None, {"revenue": 0.75, "nps": 0.25}),
    # Perspectives first: financial 60 % shared 2:1 by revenue and margin; customer 40 %.
    ((("revenue", 2), ("margin", 1), ("nps", 5)), {"financial": 60, "customer": 40},
     {"revenue": 0.4, "margin": 0.2, "nps": 0.4}),
    ((), None, {}),
])
def test_shares_add_up_to_one(metrics, pw, expected):
    got = shares(card(metrics=metrics, pw=pw), METRICS)
    assert got == pytest.approx(expected) and (not got or sum(got.values()) == pytest.approx(1.0))


@pytest.mark.parametrize("own, org, found", [
    ({"D1": card("D1")}, "P1", "D1"),          # a person inherits the nearest ancestor's
    ({"D1": card("D1"), "T1": card("T1")}, "P1", "T1"),
    ({"HQ": card("HQ"), "T1": card("T1")}, "D1", "HQ"),
    ({"D1": card("D1")}, "D1", "D1"),           # its own
    ({"D1": card("D1")}, "D2", None),           # a sibling's is not inherited
    ({}, "P1", None),
])
def test_nearest(own, org, found):
    got = nearest(own, TREE, org)
    assert (got.org if got else None) == found


def test_kept_and_copies_and_yaml_round_trip():
    c = card(metrics=(("revenue", 2), ("nps", 1)), pw={"financial": 1, "customer": 1})
    assert card(metrics=(("revenue", 2), ("nps", 1))).kept({"nps"}).codes == ["nps"]
    assert [x.org for x in for_children(c, ["T1", "T2"])] == ["T1", "T2"]
    again, problems = parse(__import__("yaml").safe_load(to_yaml([c]))["scorecards"], "x")
    assert not problems and again == [c]
