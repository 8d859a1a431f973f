"""Every page through Streamlit's AppTest on the demo company: renders without exception, the
numbers on screen are the engine's, drill-down and breadcrumbs move the place, the language
switch changes the labels, and no raw string key or NaN reaches the screen."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.auth import users
from kpi_core.model import display as fmt
from kpi_core.model.board import new_tile
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.present import cockpit
from kpi_core.present.i18n import STRINGS, problem_text
from kpi_core.store import org
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY, signed_in

pytestmark = pytest.mark.slow


APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def app_warehouse(demo_template, tmp_path_factory):
    """A copy of the demo: the pages write (the language a user chose, settings, edits)."""
    import shutil

    path = tmp_path_factory.mktemp("app") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    users.add(open_warehouse(path), "admin", "admin", password=ADMIN_PASSWORD)
    return path


ADMIN_PASSWORD = "correct horse battery"


def sign_in(at, name: str, password: str) -> None:
    """Through the sign-in form, as a person does."""
    at.run()
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_pw").set_value(password)
    at.button[0].click().run()


@pytest.fixture
def app(app_warehouse, monkeypatch):
    monkeypatch.setenv("KPI_WAREHOUSE", str(app_warehouse))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "zh"
    return signed_in(at, app_warehouse, "admin")


def page_as(path, name: str, page: str, monkeypatch, lang: str = "zh") -> AppTest:
    """The app on a warehouse file, signed in as `name`, on `page` (e.g. "pages/inbox.py")."""
    monkeypatch.setenv("KPI_WAREHOUSE", str(path))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    signed_in(at, path, name)
    at.run()
    at.switch_page(page)
    return at.run()


def rendered(markdown: str) -> str:
    """What a reader sees of markdown source: backslash escapes (user text made inert) removed
    (word joiners that keep an address from becoming a link stay: they show nothing)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def texts(at) -> list[str]:
    out = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "error",
                                "warning") for e in getattr(at, kind)]
    out += [m.label for m in at.metric] + [str(m.value) for m in at.metric] + [b.label for b in at.button]
    return [str(x) for x in out]


def no_raw_keys_or_nan(at) -> None:
    shown = texts(at)
    keys = set(STRINGS)
    assert not [s for s in shown if s in keys], "a string key shown instead of its text"
    assert not [s for s in shown if re.search(r"\b(nan|NaN|None|inf)\b", s)], shown


COCKPIT_TABS = ["heat_map", "bsc_view", "whats_red", "drill_through"]


def open_tab(at, code: str, lang: str = "zh"):
    """Open a cockpit tab (only the open one is built) and rerun."""
    at.session_state["cockpit_tab"] = Msg("ui_" + code).render(lang)
    return at.run()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("code", COCKPIT_TABS)
def test_each_cockpit_tab_is_built_when_open_and_only_then(app, code, lang):
    app.query_params.update({"org": "D1", "period": "2026-10", "lang": lang})
    open_tab(app, code, lang)
    assert not app.exception
    # what only one tab shows: the heat map's drill buttons, the BSC's perspective scores, the
    # drill-through's metric choice (the red list shows none of them)
    marks = {"heat_map": lambda: any(b.key and b.key.startswith("down_") for b in app.button),
             "bsc_view": lambda: Msg("ui_perspective_score").render(lang) in [m.label for m in app.metric],
             "drill_through": lambda: any(s.key == "dt_metric" for s in app.selectbox)}
    assert {other: shown() for other, shown in marks.items()} == {other: other == code for other in marks}
    no_raw_keys_or_nan(app)
    if lang == "zh":
        no_english_sentence(app)


def test_cockpit_shows_the_engines_numbers(app, app_warehouse):
    app.query_params["org"] = "D1"
    app.query_params["period"] = "2026-10"
    app.run()
    assert not app.exception
    wh = open_warehouse(app_warehouse)
    data = cockpit.build(wh, org.tree(wh), "D1", "2026-10", today=DEMO_TODAY)
    shown = {m.label: m.value for m in app.metric}
    m = data.metrics["revenue"]
    assert shown[m.name] == fmt.value(data.cards["revenue"].cell.actual, m.unit, "zh")
    assert shown["综合得分"] == fmt.score(data.score)
    assert app.title[0].value.endswith(org.tree(wh).units["D1"].name)
    no_raw_keys_or_nan(app)


def test_drill_down_and_back_by_breadcrumb(app):
    app.run()
    assert app.title[0].value.endswith("华锐智能制造集团")
    app.button(key="down_D1").click().run()
    assert app.session_state["org"] == "D1"  # the click moves the place (goto)…
    assert app.query_params["org"] == "D1"  # …and the link carries it, to be shared (place_widgets)
    first_dept = next(b.key for b in app.button if b.key and b.key.startswith("down_"))
    app.button(key=first_dept).click().run()
    assert app.session_state["org"] == first_dept.removeprefix("down_")
    app.button(key="crumb_HQ").click().run()
    assert app.session_state["org"] == "HQ"
    # period drill: year -> quarter -> month, and back up
    app.session_state["period"] = "2026"
    app.run()
    app.button(key="pdown_2026-Q2").click().run()
    assert app.session_state["period"] == "2026-Q2"
    app.button(key="pdown_2026-05").click().run()
    assert app.session_state["period"] == "2026-05"
    app.button(key="pcrumb_2026").click().run()
    assert app.session_state["period"] == "2026"
    assert not app.exception


def test_a_bad_link_falls_back_with_a_message(app):
    app.query_params["org"] = "NOPE"
    app.query_params["period"] = "2026-13"
    app.run()
    assert not app.exception
    assert app.session_state["org"] == "HQ"
    assert len(app.toast) == 2


def test_english_switch_changes_the_labels_and_is_remembered(app, app_warehouse):
    app.run()
    assert app.title[0].value.startswith("驾驶舱")
    app.sidebar.radio[0].set_value("en").run()
    assert app.title[0].value.startswith("Cockpit")
    assert "Overall score" in [m.label for m in app.metric]
    no_raw_keys_or_nan(app)
    again = AppTest.from_file(APP, default_timeout=180)  # a new session, no language in the link
    sign_in(again, "admin", ADMIN_PASSWORD)
    assert again.title[0].value.startswith("Cockpit")
    from kpi_core.store import prefs

    prefs.put(open_warehouse(app_warehouse), "admin", "lang", "zh")


@pytest.mark.parametrize("page", ["pages/upload.py", "pages/metrics.py", "pages/targets.py", "pages/admin.py"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_other_pages_render(app, page, lang):
    app.query_params["lang"] = lang
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception
    no_raw_keys_or_nan(app)
    if lang == "zh":
        no_english_sentence(app)


# Three English words in a row: a sentence the Chinese UI should not show (names and codes are
# single words; the demo's data is Chinese).
SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}\b")


def no_english_sentence(at) -> None:
    shown = texts(at) + [w.label for kind in ("selectbox", "text_input", "number_input", "radio", "checkbox",
                                              "multiselect", "text_area", "date_input", "toggle")
                         for w in getattr(at, kind)]
    shown += [str(c) for df in at.dataframe for c in df.value.columns]
    assert [s for s in shown if SENTENCE.search(s)] == []


@pytest.mark.parametrize("page", ["pages/cockpit.py", "pages/boards.py", "pages/overview.py"])
def test_the_chinese_ui_shows_no_english_sentence(app, page):
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception
    no_english_sentence(app)


def test_metric_center_refuses_a_bad_edit_and_names_the_problem(app):
    app.run()
    app.switch_page("pages/metrics.py").run()
    area = next(a for a in app.text_area if a.key and a.key.startswith("edit_"))
    area.set_value("code: active_customers\nname: X\nsource: {formula: no_such_metric / revenue}")
    next(b for b in app.button if b.label == "检查" and b.form_id and b.form_id.startswith("edit_")).click().run()
    assert any("no_such_metric" in m.value.replace("\\", "") for m in [*app.markdown, *app.error])


def test_settings_need_a_reason(app):
    app.run()
    app.switch_page("pages/admin.py").run()
    app.session_state["admin_tabs"] = "设置"  # the tab a click opens (only the open one is built)
    next(b for b in app.run().button if b.label == "保存").click().run()
    assert any("请填写原因" in e.value for e in app.error)


@pytest.mark.parametrize("code", ["executive_bsc", "sales", "quality_ops"])
def test_each_demo_board_renders(app, code):
    app.query_params["board"] = code
    app.run()
    app.switch_page("pages/boards.py").run()
    assert not app.exception
    assert app.title[0].value.split(" ")[0] in {"集团平衡计分卡", "销售看板", "质量与运营"}
    no_raw_keys_or_nan(app)


def test_builder_adds_a_tile_undoes_and_saves(app, app_warehouse):
    from kpi_core.store import boards

    app.run()
    app.switch_page("pages/boards.py").run()
    code = app.session_state["board"]
    n = len(boards.get(open_warehouse(app_warehouse), code).tiles)
    next(b for b in app.button if b.key == "edit_board").click().run()
    assert app.title[0].value.startswith("编辑看板")
    app.selectbox(key="pal_type").set_value("gauge")
    app.multiselect(key="pal_metrics").set_value(["revenue"])
    app.text_input(key="pal_title").set_value("收入仪表")
    app.button(key="pal_add").click().run()
    assert not app.exception
    assert any("收入仪表" in m.value for m in app.markdown)
    app.button(key="undo").click().run()
    assert not any("收入仪表" in m.value for m in app.markdown)
    app.button(key="pal_add").click().run()  # an empty palette: refused with a reason, nothing added
    with pytest.raises(KpiError) as refused:
        new_tile("gauge", [])
    assert "takes 1 metric" in str(refused.value)
    assert [rendered(e.value) for e in app.error] == [problem_text(refused.value, "zh")]  # said in Chinese
    assert len(boards.get(open_warehouse(app_warehouse), code).tiles) == n  # nothing saved yet
    app.selectbox(key="pal_type").set_value("gauge")
    app.multiselect(key="pal_metrics").set_value(["revenue"])
    app.text_input(key="pal_title").set_value("收入仪表")
    app.button(key="pal_add").click().run()
    next(ti for ti in app.text_input if ti.label == "原因").set_value("add a gauge")
    next(b for b in app.button if b.label == "保存看板").click().run()
    assert not app.exception
    saved = boards.get(open_warehouse(app_warehouse), code)
    assert len(saved.tiles) == n + 1 and saved.ordered_tiles()[-1].title == "收入仪表"
    assert any(rendered(m.value).startswith(f"看板 {code} 已保存") for m in app.success)  # it outlives the rerun


def test_a_board_shows_new_data_on_its_next_run(app, app_warehouse):
    """What `st.fragment(run_every=…)` does on a timer: the next run reads the new data version."""
    import pyarrow as pa

    from kpi_core.ingest.facts.from_arrow import import_table
    from kpi_core.query.api import latest_month

    app.query_params["board"] = "quality_ops"
    app.run()
    app.switch_page("pages/boards.py").run()
    card = lambda: next(m for m in app.metric if m.label == "安全事故数")  # noqa: E731
    before = card().value
    wh = open_warehouse(app_warehouse)
    shown = latest_month(wh, DEMO_TODAY)  # a board opens on the latest month with data
    import_table(wh, "actuals", pa.table({"metric": ["safety_incidents"], "org": ["HQ"], "period": [shown],
                                          "value": [42.0]}), source="live test")
    app.run()
    assert card().value == "42" and card().value != before


def test_a_user_without_access_cannot_open_a_private_board(app, app_warehouse):
    from kpi_core.store import boards

    wh = open_warehouse(app_warehouse)
    boards.save(wh, boards.Board(code="li_private", title="李的私人看板", owner="li",
                                 tiles=[{"type": "kpi_card", "metrics": ["revenue"]}]))
    for name, role, unit in (("wang", "employee", "D5"), ("li", "manager", "D1")):
        if name not in {u.name for u in users.list_users(wh)}:
            users.add(wh, name, role, orgs=[unit])
    signed_in(app, app_warehouse, "wang")
    app.query_params["board"] = "li_private"
    app.run()
    app.switch_page("pages/boards.py").run()
    assert not app.exception
    shown = [app.title[0].value] + [r.options for r in app.sidebar.radio if r.key == "board"][0]
    assert not any("李的私人看板" in str(s) for s in shown)
    signed_in(app, app_warehouse, "li")
    app.run()
    assert any("李的私人看板" in str(o) for r in app.sidebar.radio if r.key == "board" for o in r.options)


def test_user_text_is_shown_as_text_never_as_markdown_or_html(app, app_warehouse):
    from kpi_core.store import boards

    evil = "![x](http://evil.example/x.png) **粗体** :red[红] <b>html</b> [link](javascript:alert(1))"
    boards.save(open_warehouse(app_warehouse), boards.Board(
        code="evil", title=evil, share="everyone", tiles=[{"type": "kpi_card", "metrics": ["revenue"], "title": evil}]))
    app.query_params["board"] = "evil"
    app.run()
    app.switch_page("pages/boards.py").run()
    assert not app.exception
    shown = [e.value for e in app.title] + [e.value for e in app.markdown]
    assert [s for s in shown if rendered(s).replace("\u2060", "").endswith(evil)], shown  # whole, as written
    assert not [s for s in shown if "](http" in s or "](javascript" in s or "**粗体**" in s], shown


def test_admin_closes_a_period_and_searches_the_audit_log(app, app_warehouse):
    from kpi_core.store import audit, closing

    app.run()
    app.switch_page("pages/admin.py").run()
    app.session_state["admin_tabs"] = "已关账期间"
    app.run().text_input(key="cp_period").set_value("2023-01")
    app.text_input(key="cp_reason").set_value("2023 review held")
    next(b for b in app.button if b.label == "关账").click().run()
    assert not app.exception and not app.error
    wh = open_warehouse(app_warehouse)
    assert [c["period"] for c in closing.list_closed(wh)] == ["2023-01"]
    app.session_state["admin_tabs"] = "审计日志"
    app.run().text_input(key="au_action").set_value("close").run()
    table = next(d for d in app.dataframe if "原因" in d.value.columns)
    assert table.value["原因"].tolist()[0] == "2023 review held"
    assert audit.search(wh, audit.Search(action="close"))[0]["user_name"] == "admin"
    closing.reopen(wh, "2023-01")


def test_a_tile_whose_question_is_too_big_says_so_and_the_others_show(app, app_warehouse, monkeypatch):
    from kpi_core.store import boards

    boards.save(open_warehouse(app_warehouse), boards.Board(code="big", title="大表", share="everyone", tiles=[
        {"type": "kpi_card", "metrics": ["revenue"]},
        {"type": "table", "metrics": ["revenue", "gross_margin"], "scope": "subtree", "title": "全公司明细"}]))
    monkeypatch.setenv("KPI_MAX_CELLS_QUERY", "500")  # the demo's 724 units × 2 metrics are past it
    app.query_params["board"] = "big"
    app.run()
    app.switch_page("pages/boards.py").run()
    assert not app.exception
    assert [rendered(e.value) for e in app.error] == [
        "查询需要计算 1,448 个单元格（2 个指标 × 724 个组织 × 1 个期间），超过上限 500（KPI_MAX_CELLS_QUERY），"
        "请减少指标、组织或期间"]
    assert [m.label for m in app.metric] == ["销售收入"]  # the card still shows


@pytest.fixture
def version_reads(monkeypatch) -> list:
    """The warehouse paths of every Warehouse.data_version read from now on."""
    from kpi_core.store.warehouse import Warehouse

    reads = []
    real = Warehouse.data_version

    def counted(self):
        reads.append(self.path)
        return real(self)

    monkeypatch.setattr(Warehouse, "data_version", counted)
    return reads


def test_a_run_reads_the_data_version_once_and_again_after_its_own_write(app_warehouse, monkeypatch, version_reads):
    """pages.common.version: one read per script run (a page asks for it from its widgets, its
    breadcrumbs and its tiles); a write of this process within the run is seen at once."""
    from types import SimpleNamespace

    import pages.common as common

    monkeypatch.setenv("KPI_WAREHOUSE", str(app_warehouse))
    reads = version_reads
    run = SimpleNamespace(cursors={})  # Streamlit gives each run (a fragment's too) new cursors
    monkeypatch.setattr(common, "get_script_run_ctx", lambda: run)
    first = common.version()
    assert [common.version() for _ in range(3)] == [first] * 3 and len(reads) == 1
    with common.warehouse().transaction() as con:  # this process writes within the run
        con.execute("SELECT 1")
    assert common.version() == first + 1 and len(reads) == 2
    assert common.version() == first + 1 and len(reads) == 2
    run.cursors = {}  # the next run reads it again
    assert common.version() == first + 1 and len(reads) == 3
    monkeypatch.setattr(common, "get_script_run_ctx", lambda: None)  # outside a run: every call reads
    common.version()
    common.version()
    assert len(reads) == 5


def test_a_cockpit_rerun_reads_the_data_version_once(app, request):
    app.run()
    reads = request.getfixturevalue("version_reads")  # counted from the warm rerun on
    app.run()
    assert not app.exception and len(reads) == 1
