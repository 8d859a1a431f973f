"""UI strings: every key in both languages; status rules read in Chinese."""

import pytest

from kpi_core.engine import attainment as att
from kpi_core.present.i18n import STRINGS, rule_text


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


def test_the_broken_example_file_reads_in_chinese(wh):
    """Every problem in the broken example file has a Chinese text."""
    from pathlib import Path

    from kpi_core.ingest.facts import import_facts
    from kpi_core.present.i18n import problem_text

    # the demo's messages (its codes are not in the conftest company, whose file is read below)
    messages = ["duplicate: headcount / D1-SAL-T1 / 2026-01 is also on row 10", "unknown metric 'headcnt'",
                "unknown org unit 'D9-XXX'", "'十二' is not a number",
                "period 2026-Q1 is a quarter, but headcount is reported by month (frequency: month)",
                "revenue is computed from dataset 'sales_orders'; its actuals cannot be uploaded",
                "gross_margin is computed from formula gross_profit / revenue; its actuals cannot be uploaded",
                "value 95 is outside what supplier_on_time_rate allows (0..1) (write 95% or 0.95 for a percentage)",
                "period month 13 is not 1-12", "value -3 is outside what headcount allows (0..)"]
    for m in messages:
        zh = problem_text(m, "zh")
        assert zh != m and not any(w in zh for w in ("unknown", "duplicate", "outside", "computed")), zh
    r = import_facts(wh, "actuals", Path(__file__).resolve().parent.parent / "data/examples/broken_actuals.xlsx",
                     dry_run=True)
    untranslated = [e.message for e in r.errors if problem_text(e.message, "zh") == e.message]
    assert r.errors and untranslated == []


@pytest.mark.parametrize("message", [
    "'10²' holds '²' (SUPERSCRIPT TWO), which is not a plain digit; write the number with 0-9",
    "'1\\u200b00' holds an invisible character (\\u200b, ZERO WIDTH SPACE); retype the number",
    "'(-1,200)' has a sign inside accounting brackets; write -5 or (5)",
    "'12%%' has two units (%%); write one",
    "'1e999' is not a finite number",
    "'1e300' is too large for a KPI value (over 10^18); check the cell",
    "'12345678901234567' has 17 digits before the point; only 15 are kept exactly (as in Excel): "
    "is it a number or an identifier?",
    "'12 34' has spaces inside the number; only thousands may be spaced (1 234 567)",
    "period 2026-02-30 is not a day on the calendar",
    "cell D3 holds the formula =D2*2 with no saved result: the file was written by a program that does not "
    "calculate formulas. Open it in Excel (or LibreOffice), save it, and upload it again; or paste the values",
    "12% is a percentage, but revenue is measured in CNY; write the value in CNY",
    "org code 'east' matches several units (EAST, Ｅast); an admin must rename all but one",
    "code 'east' is the same as 'EAST' already in the org tree when width, letter case and invisible characters "
    "are ignored; an upload naming one could land on the other",
    "holds a control character (\\x1b); retype it",
    "zhang (employee of P1) may not load actuals: that needs the admin or team_lead role",
    "The disk holding /data is full: nothing was written. Free some space (or ask an admin to) and try again.",
    "the query asks for 600,000 cells (10 metrics × 1,000 units × 60 periods), over the limit of 250,000 "
    "(KPI_MAX_CELLS_QUERY); ask for fewer metrics, units or periods",
    "user 'li' exists already; 'LI' differs from it only by letter case",
    "b.xlsx: the data is on the hidden sheet '数据', and hidden sheets are not read; unhide it, or name it to "
    "read it anyway (--sheet '数据')",
    "org unit '[x](http://e)' does not exist",
    "the unit 千美元 is USD, but revenue is measured in CNY",
    "row 3 is hidden (or filtered out) in the sheet, so its author does not see it: unhide it or delete it, and "
    "upload again",
    "column '2025-02' is hidden in the sheet, so its author does not see it: unhide it or delete it",
    "cells E2:E3 are merged: the one value shown would count for each of them; unmerge them and give each cell "
    "its value",
    "cell D3 holds the formula =D2*2 with a saved result that Excel replaces when the workbook opens: the file was "
    "written by a program that does not calculate formulas. Open it in Excel (or LibreOffice), save it, and upload "
    "it again; or paste the values",
])
def test_the_messages_of_reading_exactly_and_of_access_read_in_chinese(message):
    import re

    from kpi_core.present.i18n import problem_text

    zh = problem_text(message, "zh")
    assert zh != message
    assert not re.search(r"\b(the|is|not|may|has|holds|write|cell|disk|user|code|sheet)\b", zh), zh
