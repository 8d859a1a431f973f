"""Per-user preferences: kept per user, checked, and not counted as a data change."""

import pytest

from kpi_core.store import prefs


def test_kept_per_user_without_bumping_the_data_version(wh):
    before = wh.data_version()
    assert prefs.get(wh, "li", "lang") is None
    prefs.put(wh, "li", "lang", "en")
    prefs.put(wh, "wang", "lang", "zh")
    prefs.put(wh, "li", "lang", "en")
    assert (prefs.get(wh, "li", "lang"), prefs.get(wh, "wang", "lang")) == ("en", "zh")
    assert wh.data_version() == before  # boards keep their cached numbers


@pytest.mark.parametrize("key, value", [("lang", "fr"), ("theme", "dark"), ("lang", "")])
def test_unknown_values_are_refused(wh, key, value):
    with pytest.raises(ValueError, match="is not one of"):
        prefs.put(wh, "li", key, value)
