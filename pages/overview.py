"""概览 Overview: what the warehouse holds and the latest import batches."""

from __future__ import annotations

import streamlit as st

from kpi_core.store.summary import warehouse_summary
from pages import through_app
from pages.common import empty_company, t, version_or_busy, warehouse

through_app()  # never straight from this folder: see pages/__init__.py


@st.cache_data(max_entries=8)
def summary(data_version: int) -> dict:
    """Cached per warehouse data version, so a new import shows at once."""
    return warehouse_summary(warehouse())


def page() -> None:
    st.title(t("app_title"))
    v = version_or_busy()
    if v is None:
        return
    s = summary(v)
    if s["org_units"] == 0 and s["metrics"] == 0:
        empty_company()
        return
    cols = st.columns(5)
    for col, key in zip(cols, ["org_units", "metrics", "actuals", "targets", "datasets"], strict=True):
        col.metric(t(key), f"{s[key]:,}")
    st.subheader(t("recent_batches"))
    rows = [{t(f"col_{k}"): (v.strftime("%Y-%m-%d %H:%M") if k == "created_at" else v) for k, v in b.items()}
            for b in s["recent_batches"]]
    st.dataframe(rows, hide_index=True, width="stretch", placeholder="—")
    st.caption(f"{t('data_version')}: {s['data_version']}")


page()
