"""KPI Cockpit (绩效驾驶舱): the Streamlit frame — navigation, language, shared warehouse."""

from __future__ import annotations

import streamlit as st

from kpi_core import prefs
from kpi_core.errors import WarehouseBusy
from kpi_core.i18n import LANGS
from views.common import t, user, warehouse

st.set_page_config(page_title="绩效驾驶舱 KPI Cockpit", layout="wide", page_icon=":material/speed:")


def remember_lang() -> None:
    try:
        prefs.put(warehouse(), user(), "lang", st.session_state["lang"])
    except WarehouseBusy:  # an import holds the warehouse: the switch still applies to this session
        pass


if "lang" not in st.session_state:  # a shared link may carry the language; else the user's own
    asked = st.query_params.get("lang")
    st.session_state["lang"] = asked if asked in LANGS else (prefs.get(warehouse(), user(), "lang") or "zh")
with st.sidebar:
    # A fixed label: a label that changed with the language would make Streamlit see a new widget.
    st.radio("语言 / Language", LANGS, key="lang", horizontal=True, on_change=remember_lang,
             format_func=lambda x: {"zh": "中文", "en": "English"}[x])
st.query_params["lang"] = st.session_state["lang"]

page = st.navigation([
    st.Page("views/cockpit.py", title=t("cockpit"), icon=":material/speed:", default=True, url_path="cockpit"),
    st.Page("views/boards.py", title=t("boards"), icon=":material/dashboard_customize:", url_path="boards"),
    st.Page("views/metrics.py", title=t("metric_center"), icon=":material/menu_book:", url_path="metrics"),
    st.Page("views/upload.py", title=t("upload"), icon=":material/upload_file:", url_path="upload"),
    st.Page("views/targets.py", title=t("targets_page"), icon=":material/flag:", url_path="targets"),
    st.Page("views/admin.py", title=t("admin"), icon=":material/settings:", url_path="admin"),
    st.Page("views/overview.py", title=t("home"), icon=":material/dashboard:", url_path="overview"),
])
page.run()
