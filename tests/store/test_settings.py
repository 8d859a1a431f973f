"""Settings in kpi_core.store.settings: several changed together (the admin page's form) are
checked as the pair of thresholds they will be once stored, whatever order they come in; a bad
one stores none; unchanged ones are not written again."""

import pytest

from kpi_core.model.errors import KpiError
from kpi_core.store import audit, settings

PAIR = ("default_green", "default_amber")


def stored(wh) -> tuple[str, str]:
    current = settings.all_settings(wh)
    return current["default_green"], current["default_amber"]


@pytest.mark.parametrize("start, wanted, expected", [
    # raising both past the old green: amber first would pass through amber > green
    (("1.0", "0.9"), {"default_amber": "1.1", "default_green": "1.2"}, ("1.2", "1.1")),
    (("1.0", "0.9"), {"default_green": "1.2", "default_amber": "1.1"}, ("1.2", "1.1")),
    # lowering both below the old amber: green first would pass through amber > green
    (("1.0", "0.9"), {"default_green": "0.8", "default_amber": "0.7"}, ("0.8", "0.7")),
    (("1.0", "0.9"), {"default_amber": "0.7", "default_green": "0.8"}, ("0.8", "0.7")),
    (("1.0", "0.9"), {"default_green": "0.95", "default_amber": "0.95"}, ("0.95", "0.95")),  # equal is fine
    (("1.0", "0.9"), {"default_amber": "0.95"}, ("1.0", "0.95")),
    # the pair as it will be is refused when amber ends above green
    (("1.0", "0.9"), {"default_green": "0.8", "default_amber": "0.85"}, "default_amber 0.85 must not be above "
                                                                         "default_green 0.8"),
    (("1.0", "0.9"), {"default_amber": "1.05"}, "default_amber 1.05 must not be above default_green 1"),
    (("1.2", "1.1"), {"default_green": "1.0"}, "default_amber 1.1 must not be above default_green 1"),
    # one bad value: none is stored
    (("1.0", "0.9"), {"default_green": "1.2", "fiscal_year_start": "13"}, "must be a month 1-12"),
    (("1.0", "0.9"), {"default_green": "1.2", "nope": "1"}, "no setting 'nope'"),
])
def test_put_many_checks_the_thresholds_as_the_pair_they_will_be(wh, start, wanted, expected):
    settings.put_many(wh, dict(zip(PAIR, start, strict=True)), reason="start")
    if isinstance(expected, str):
        with pytest.raises(KpiError, match=expected):
            settings.put_many(wh, wanted, reason="change")
        assert stored(wh) == start and settings.get(wh, "fiscal_year_start") == 1
    else:
        settings.put_many(wh, wanted, reason="change")
        assert stored(wh) == expected


@pytest.mark.parametrize("wanted, written", [
    ({"fiscal_year_start": "1", "default_green": "1", "default_amber": "0.90", "grade_bands": "S:110,A:100,B:90,C:75"},
     {}),                                                         # the same values, written another way
    ({"fiscal_year_start": "4", "default_green": "1.0", "default_amber": "0.9", "grade_bands": "B:90,C:75,S:110,A:100"},
     {"fiscal_year_start": 4}),
    ({"default_amber": "0.85", "grade_bands": "A:95,B:80"},
     {"default_amber": 0.85, "grade_bands": (("A", 95.0), ("B", 80.0))}),
])
def test_put_many_writes_only_what_changes(wh, wanted, written):
    before = len(audit.search(wh, audit.Search(object_type="setting")))
    assert settings.put_many(wh, wanted, reason="admin page") == written
    entries = audit.search(wh, audit.Search(object_type="setting"))
    assert len(entries) - before == len(written)
    assert {e["object_key"] for e in entries[:len(written)]} == set(written)
    assert all(e["reason"] == "admin page" for e in entries[:len(written)])
