"""UI strings: every key in both languages; status rules read in Chinese."""

import pytest

from kpi_core.engine import attainment as att
from kpi_core.i18n import STRINGS, rule_text


def test_every_string_has_both_languages():
    missing = [k for k, v in STRINGS.items() if not v.get("zh") or "en" not in v]
    assert missing == []


@pytest.mark.parametrize("actual, target, direction, expected", [
    (110, 100, "higher_is_better", "达成率 110.0% ≥ 达标阈值 100.0%"),
    (95, 100, "higher_is_better", "达成率 95.0% ≥ 预警阈值 90.0%，低于达标阈值 100.0%"),
    (50, 100, "higher_is_better", "达成率 50.0% 低于预警阈值 90.0%"),
    (0, 0, "lower_is_better", "零目标已达成（0 ≤ 0）"),
    (2, 0, "lower_is_better", "零目标未达成（2 不满足 ≤ 0）"),
    (None, 100, "higher_is_better", "没有实际值"),
    (5, None, "higher_is_better", "没有目标"),
])
def test_rules_in_chinese(actual, target, direction, expected):
    rule = att.status(actual, target, direction).rule
    assert rule_text(rule, "zh") == expected
    assert rule_text(rule, "en") == rule
