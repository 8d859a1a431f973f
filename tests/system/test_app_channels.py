"""The Admin page's Channels tab through Streamlit's AppTest on the demo company: add a webhook with
a typed secret (never shown back), send a test to a real receiver, retry a dead letter; zh and en."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_core.auth import users
from kpi_core.model.messages import Msg
from kpi_core.model.notice import Notice
from kpi_core.present.i18n import t
from kpi_core.store import channels, deliveries, outbox
from kpi_core.store.warehouse import now, open_warehouse
from tests.conftest import DEMO_TODAY, signed_in
from tests.notify_servers import http_receiver  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SECRET = "page-secret-Z9-never-shown"


@pytest.fixture(scope="module")
def ch_warehouse(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("app_channels") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    users.add(open_warehouse(path), "admin", "admin", password="correct horse battery")
    return path


def admin_page(path: Path, monkeypatch, lang: str = "zh", tab: str | None = "ch_title") -> AppTest:
    """The admin page, signed in as the admin, with `tab` open as a click opens it (None: the first)."""
    monkeypatch.setenv("KPI_WAREHOUSE", str(path))
    monkeypatch.setenv("KPI_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    signed_in(at, path, "admin").run()
    at.switch_page("pages/admin.py").run()
    if tab is not None:  # only the open tab is built
        at.session_state["admin_tabs"] = t(tab, lang)
        at.run()
    assert not at.exception
    return at


def shown_text(at) -> str:
    """Everything the page shows as text: messages, captions, labels and table cells."""
    kinds = ("markdown", "caption", "success", "error", "info", "warning")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    parts += [w.label for w in [*at.text_input, *at.selectbox, *at.button]]
    parts += [str(w.value) for w in at.text_input]
    parts += [d.value.to_string() for d in at.dataframe]
    return "\n".join(parts).replace("\\", "")  # markdown escapes of user text removed


def form_button(at, label: str):
    return next(b for b in at.button if b.label == label and (b.form_id or "").startswith("ch_form_"))


def test_add_a_webhook_with_a_secret_test_it_and_retry_a_dead_letter(ch_warehouse, monkeypatch,
                                                                       http_receiver):  # noqa: F811
    at = admin_page(ch_warehouse, monkeypatch)
    assert "还没有渠道，请在下面添加。" in shown_text(at)
    next(w for w in at.text_input if w.label == "渠道").set_value("ops_hook")
    next(w for w in at.text_input if w.label == "回调地址").set_value(f"{http_receiver.url}/hook")
    next(w for w in at.text_input if w.label == "密钥（当前：未设置）").set_value(SECRET)
    form_button(at, "保存").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    wh = open_warehouse(ch_warehouse)
    [info] = channels.list_channels(wh)
    assert (info.channel.name, info.channel.url, info.secret) == ("ops_hook", f"{http_receiver.url}/hook", "stored")
    text = shown_text(at)
    assert SECRET not in text and "渠道 ops_hook 已保存" in text
    table = next(d.value for d in at.dataframe if "发往" in d.value.columns)
    assert table.to_dict("records") == [{"渠道": "ops_hook", "类型": "通用 JSON 回调",
                                         "发往": f"{http_receiver.url}/hook", "默认邮件渠道": "", "密钥": "已设置"}]
    assert at.selectbox(key="ch_pick").value == "ops_hook"
    form_button(at, "发送测试").click().run()
    assert "已通过 ops_hook 发送测试消息" in shown_text(at)
    [call] = http_receiver.calls
    assert call.headers["x-kpi-signature"].startswith("sha256=") and "绩效驾驶舱测试消息" in call.json["subject"]
    assert SECRET not in shown_text(at)

    with wh.transaction(bump=False) as con:
        oid = outbox.to_channel(con, "ops_hook", Notice("alert", "D1 红灯", "成本超标"), now=now())
        con.execute("UPDATE outbox SET status = 'dead', attempts = 6, last_error = 'HTTP 500: down' WHERE id = ?",
                    [oid])
    wh.let_go()
    at.run()
    dead = next(d.value for d in at.dataframe if "最后一次错误" in d.value.columns)
    assert dead[["#", "主题", "最后一次错误"]].values.tolist() == [[oid, "D1 红灯", "HTTP 500: down"]]
    next(b for b in at.button if b.key == "ch_retry").click().run()
    assert not at.exception
    assert deliveries.letters(open_warehouse(ch_warehouse)) == []
    assert "没有无法送达的消息。" in shown_text(at)


def test_the_tab_in_english_and_an_invalid_channel_refused_in_words(ch_warehouse, monkeypatch):
    at = admin_page(ch_warehouse, monkeypatch, "en")
    assert "Add or edit a channel" in shown_text(at)
    at.selectbox(key="ch_pick").set_value("").run()
    next(w for w in at.text_input if w.label == "Channel").set_value("Bad Name")
    form_button(at, "Save").click().run()
    assert not at.exception
    errors = shown_text(at)
    assert "the channel's name may hold only lowercase letters" in errors
    next(w for w in at.text_input if w.label == "Channel").set_value("new_hook")
    form_button(at, "Save").click().run()
    assert "a generic JSON webhook needs `url`" in shown_text(at)
    assert "new_hook" not in [i.channel.name for i in channels.list_channels(open_warehouse(ch_warehouse))]
    table = next(d.value for d in at.dataframe if "Sends to" in d.value.columns)
    assert not table.isna().any().any() and "None" not in table.to_string()


@pytest.mark.parametrize(("tab", "opened"), [("channels", "ui_ch_title"), ("users", "ui_users"), ("nonsense", None)])
def test_a_link_naming_a_tab_opens_it(ch_warehouse, monkeypatch, tab, opened):
    at = admin_page(ch_warehouse, monkeypatch, tab=None)
    at.query_params["tab"] = tab
    at.run()
    assert not at.exception
    container = next(b for b in at.main.children.values() if getattr(b, "type", "") == "tab_container")
    labels = [tab.label for tab in container.children.values()]
    want = labels.index(Msg(opened).render("zh")) if opened else 0  # an unknown tab: the first one
    assert container.proto.tab_container.default_tab_index == want
