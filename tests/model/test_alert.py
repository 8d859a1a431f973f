"""Alert rules as YAML: valid ones, and each bad field refused in zh and en words."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from kpi_core.model.alert import check_rule, document, parse_duration, parse_rules
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.metric import Metric
from kpi_core.model.org import build_tree

GOOD = {"code": "cost_red", "metric": "cost", "scope": {"org": "HQ", "include": "subtree"},
        "when": {"status": "red"}, "notify": [{"user": "admin"}, {"unit_role": "manager"}, {"channel": "hook"}],
        "renotify": "1d"}


@pytest.mark.parametrize("change", [
    {}, {"when": {"value_below": 100}}, {"when": {"value_above": 1.5}},
    {"when": {"change_vs": "previous", "below": -0.1}},
    {"when": {"change_vs": "last_year", "above": 0.2}}, {"when": {"projected": "miss"}}, {"when": {"anomaly": 3.5}},
    {"when": {"missing_after_due_day": True}}, {"when": {"status_changed": True}}, {"grain": "quarter"},
    {"metric": None, "scorecard": True}, {"renotify": "30m"}, {"enabled": False},
])
def test_valid_rules(change):
    item = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    rules, problems = parse_rules([item], "a.yaml")
    assert problems == [] and rules[0].code == "cost_red"
    assert parse_rules([rules[0].definition()], "again")[0] == rules  # stored form reads back


# (a change to the good rule, words of the English problem, words of the Chinese one)
BAD = [
    ({"code": "Cost"}, "lowercase letters", "小写字母"),
    ({"scope": {"org": "HQ", "include": "all"}}, "unit, children, subtree", "全部下级"),
    ({"grain": "week"}, "month, quarter, year", "季度"),
    ({"when": {"status": "blue"}}, "red, amber", "红灯"),
    ({"when": {"status": "red", "value_below": 3}}, "exactly one condition", "只能写一个条件"),
    ({"when": {}}, "exactly one condition", "只能写一个条件"),
    ({"when": {"change_vs": "previous"}}, "change_vs needs one of below", "change_vs 需要"),
    ({"when": {"value_below": 3, "below": -0.1}}, "go with change_vs", "只能与 change_vs"),
    ({"when": {"anomaly": -1}}, "positive number", "必须是正数"),
    ({"when": {"value_above": "lots"}}, "must be a number", "数字"),
    ({"notify": []}, "at least one recipient", "至少写一个接收人"),
    ({"notify": [{"user": "a", "channel": "b"}]}, "exactly one of user", "只能写 `user`"),
    ({"notify": [{"unit_role": "boss"}]}, "manager, team_lead, metric_owner", "单元经理"),
    ({"renotify": "1y"}, "not a time span", "不是时间间隔"),
    ({"scorecard": True}, "either a metric or scorecard", "`metric` 或"),
    ({"colour": "red"}, "unknown field", "未知字段"),
]


@pytest.mark.parametrize("change, en, zh", BAD)
def test_each_bad_field_is_refused_in_words(change, en, zh):
    rules, problems = parse_rules([{**GOOD, **change}], "a.yaml")
    assert rules == [] and problems
    assert any(en in p for p in problems), problems
    assert any(zh in p.render("zh") for p in problems), [p.render("zh") for p in problems]
    assert all("cost_red" in p or "Cost" in p for p in problems)


def test_a_rule_twice_and_not_a_mapping():
    _, problems = parse_rules([GOOD, GOOD, "x"], "a.yaml")
    assert [p.code for p in problems] == ["alert_rule_twice", "alert_not_mapping"]


@pytest.mark.parametrize("text, expected", [("30m", 1800), ("4h", 14400), ("1d", 86400), ("2w", 1209600)])
def test_durations(text, expected):
    assert parse_duration(text) == dt.timedelta(seconds=expected)


def test_checked_against_the_warehouse_names():
    tree = build_tree([("HQ", "总部", None), ("D1", "一部", "HQ")])
    metrics = {"cost": Metric(code="cost", name="成本", source="manual")}
    rules, _ = parse_rules([{**GOOD, "metric": "nope", "scope": {"org": "ZZ"},
                             "when": {"missing_after_due_day": True}}], "a.yaml")
    codes = [p.code for p in check_rule(rules[0], metrics, tree, {"admin"}, set())]
    assert codes == ["alert_unknown_metric", "alert_unknown_unit", "alert_unknown_channel"]
    rules, _ = parse_rules([{**GOOD, "when": {"missing_after_due_day": True}}], "a.yaml")
    assert [p.code for p in check_rule(rules[0], metrics, tree, set(), {"hook"})] == [
        "alert_unknown_user", "alert_metric_no_due_day"]


def test_a_file_may_hold_channels_but_nothing_else():
    raw, others = document(yaml.safe_dump({"alerts": [GOOD], "channels": [{"name": "hook"}]}), "f.yaml")
    assert raw == [GOOD] and list(others) == ["channels"]
    with pytest.raises(ValidationFailed, match="boards"):
        document(yaml.safe_dump({"alerts": [], "boards": []}), "f.yaml")


@pytest.mark.parametrize("due, ok", [(1, True), (28, True), (0, False), (29, False), (None, True)])
def test_metric_due_day_range(due, ok):
    from kpi_core.model.metric import parse_metrics

    item = {"code": "x", "name": "x", "source": "manual", **({"due_day": due} if due is not None else {})}
    found, problems = parse_metrics([("m.yaml", item)])
    assert bool(found) == ok
    if not ok:
        assert "1 to 28" in problems[0] and "1 到 28" in problems[0].render("zh")
