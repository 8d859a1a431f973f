"""KPI Cockpit (绩效驾驶舱): the Streamlit frame — navigation, language, shared warehouse."""

from __future__ import annotations

import streamlit as st

from kpi_core.errors import WarehouseBusy
from kpi_core.i18n import LANGS
from kpi_core.summary import warehouse_summary
from views.common import lang, t, warehouse

st.set_page_config(page_title="绩效驾驶舱 KPI Cockpit", layout="wide", page_icon=":material/speed:")


@st.cache_data(max_entries=8)
def summary(data_version: int) -> dict:
    """Cached per warehouse data version, so a new import shows at once."""
    return warehouse_summary(warehouse())


def home() -> None:
    st.title(t("app_title"))
    try:
        s = summary(warehouse().data_version())
    except WarehouseBusy:
        st.warning(t("busy"))
        return
    if s["org_units"] == 0 and s["metrics"] == 0:
        st.info(t("empty_warehouse"))
        return
    cols = st.columns(5)
    for col, key in zip(cols, ["org_units", "metrics", "actuals", "targets", "datasets"], strict=True):
        col.metric(t(key), f"{s[key]:,}")
    st.subheader(t("recent_batches"))
    rows = [{t(f"col_{k}"): (v.strftime("%Y-%m-%d %H:%M") if k == "created_at" else v) for k, v in b.items()}
            for b in s["recent_batches"]]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(f"{t('data_version')}: {s['data_version']}")


if "lang" not in st.session_state:  # a shared link may carry the language
    st.session_state["lang"] = st.query_params.get("lang") if st.query_params.get("lang") in LANGS else "zh"
with st.sidebar:
    # A fixed label: a label that changed with the language would make Streamlit see a new widget.
    st.radio("语言 / Language", LANGS, key="lang", horizontal=True,
             format_func=lambda x: {"zh": "中文", "en": "English"}[x])
st.query_params["lang"] = st.session_state["lang"]

page = st.navigation([
    st.Page("views/cockpit.py", title=t("cockpit"), icon=":material/speed:", default=True, url_path="cockpit"),
    st.Page("views/upload.py", title=t("upload"), icon=":material/upload_file:", url_path="upload"),
    st.Page(home, title=t("home"), icon=":material/dashboard:", url_path="overview"),
])
page.run()
_ = lang  # the pages read the language from the session
