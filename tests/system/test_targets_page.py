"""The targets page's cascade through Streamlit's AppTest on the demo company: the split, with its
warnings, is shown before anything is written; the total is a real field; writing shows parent
against children at once (issue 13, item 5)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.auth import users
from kpi_core.services.cascade import reconcile
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY, signed_in
from tests.system.test_app_pages import no_english_sentence, no_raw_keys_or_nan

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def page(demo_path, monkeypatch):
    users.add(open_warehouse(demo_path), "admin", "admin", password="correct horse battery")
    monkeypatch.setenv("KPI_WAREHOUSE", str(demo_path))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())

    def opened(lang: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        at.query_params["lang"] = lang
        at.query_params["org"] = "HQ"
        signed_in(at, demo_path, "admin").run()
        at.switch_page("pages/targets.py").run()
        assert not at.exception
        return at

    return opened


def cascade_by_last_year(at: AppTest, uplift: float) -> AppTest:
    at.multiselect(key="cas_metrics").set_value(["revenue"])
    at.selectbox(key="cas_method").set_value("last_year")
    at.number_input(key="cas_uplift").set_value(uplift)
    at.run()
    assert not at.exception
    return at


@pytest.mark.parametrize("lang, says", [
    ("en", ["集团职能中心 (D6) has no actual for 2025, so its share and its target are 0", "a gap of -641,300,000"]),
    ("zh", ["集团职能中心 (D6) 没有 2025 年的实际值，其占比和目标均为 0", "差额 -641,300,000"]),
])
def test_the_preview_shows_the_split_and_warns_before_anything_is_written(page, demo_path, lang, says):
    at = cascade_by_last_year(page(lang), 1.1)
    assert [m.value for m in at.multiselect if m.key == "cas_metrics"] == [["revenue"]]
    total = at.number_input(key="cas_total_HQ_2026_revenue")
    assert total.value == pytest.approx(6_413_000_000)  # the unit's full-year target, ready to change
    (preview,) = [df.value for df in at.tabs[1].dataframe]  # nothing written yet: no reconciliation
    assert preview.shape == (6, 5)  # metric, unit, share, target, last year's actual
    assert preview.iloc[5].tolist()[1:] == ["集团职能中心 (D6)", "0.0%", "¥0", "—"]
    warnings = [w.value.replace("\\", "") for w in at.tabs[1].warning]
    for text in says:
        assert any(text in w for w in warnings), warnings
    assert at.checkbox(key="cas_update_parent").label
    no_raw_keys_or_nan(at)
    if lang == "zh":
        no_english_sentence(at)
    assert reconcile(open_warehouse(demo_path), "revenue", "HQ", "2026").children_total != pytest.approx(7_054_300_000)


def test_writing_shows_the_reconciliation_at_once_and_can_update_the_parent(page):
    at = cascade_by_last_year(page("zh"), 1.1)
    at.checkbox(key="cas_update_parent").check()
    at.text_input(key="cas_reason").set_value("2026 年目标上浮 10%")
    at.button(key="cas_apply").click().run()
    assert not at.exception
    assert [s.value for s in at.success if "批次" in s.value]
    # drawn again from the new targets: what was written and parent against children at the top
    shown = at.main.dataframe[0].value
    assert shown.iloc[0].tolist()[1:] == ["¥70.54亿", "¥70.54亿", "¥0"]
    assert len(at.tabs[1].dataframe) == 1  # the cascade tab holds a fresh preview only
    tab = next(df.value for df in at.tabs[2].dataframe)  # the reconciliation tab, in the same run
    assert tab[tab.iloc[:, 0] == "销售收入"].iloc[0].tolist()[1:] == ["¥70.54亿", "¥70.54亿", "¥0"]
    at.run()  # the next run: the parent's target is the children's total, so no gap to warn about
    assert not [w for w in at.warning if "差额" in w.value]
