"""KPI Cockpit (绩效驾驶舱): the Streamlit frame — navigation, language, shared warehouse."""

from __future__ import annotations

import streamlit as st

from kpi_core.errors import WarehouseBusy
from kpi_core.i18n import LANGS, t
from kpi_core.summary import warehouse_summary
from kpi_core.warehouse import Warehouse

st.set_page_config(page_title="绩效驾驶舱 KPI Cockpit", layout="wide")


@st.cache_resource
def warehouse() -> Warehouse:
    """One Warehouse per app process; it hands out short-lived connections (see warehouse.py)."""
    wh = Warehouse(timeout=10)
    wh.migrate()
    return wh


@st.cache_data(max_entries=8)
def summary(data_version: int) -> dict:
    """Cached per warehouse data version, so a new import shows at once."""
    return warehouse_summary(warehouse())


def lang() -> str:
    return st.session_state.get("lang", "zh")


def home() -> None:
    L = lang()
    st.title(t("app_title", L))
    try:
        s = summary(warehouse().data_version())
    except WarehouseBusy:
        st.warning(t("busy", L))
        return
    if s["org_units"] == 0 and s["metrics"] == 0:
        st.info(t("empty_warehouse", L))
        return
    cols = st.columns(5)
    for col, key in zip(cols, ["org_units", "metrics", "actuals", "targets", "datasets"], strict=True):
        col.metric(t(key, L), f"{s[key]:,}")
    st.subheader(t("recent_batches", L))
    rows = [{t(f"col_{k}", L): (v.strftime("%Y-%m-%d %H:%M") if k == "created_at" else v) for k, v in b.items()}
            for b in s["recent_batches"]]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(f"{t('data_version', L)}: {s['data_version']}")


with st.sidebar:
    # A fixed label: a label that changed with the language would make Streamlit see a new widget.
    st.radio("语言 / Language", LANGS, key="lang", horizontal=True,
             format_func=lambda x: {"zh": "中文", "en": "English"}[x])

page = st.navigation([st.Page(home, title=t("home", lang()), icon=":material/dashboard:", default=True)])
page.run()
