"""指标中心 Metric center: browse and search, a metric's definition, SMART gaps, lineage, where it
is used, version history with reasons and diffs; create and edit with a form (pages/metric_form.py)
or as YAML, both with the CLI's checks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.model.metric import smart_gaps
from kpi_core.services import metric_catalog as catalog
from kpi_core.services.metric_form import may_edit
from kpi_core.store import dictionary
from pages import through_app
from pages.common import (
    error,
    labels,
    md,
    metric_name,
    metrics,
    show_flash,
    show_problems,
    t,
    user,
    version_or_busy,
    warehouse,
)
from pages.metric_form import metric_form

through_app()  # never straight from this folder: see pages/__init__.py

NEW_METRIC = """code: new_metric
name: 新指标
name_en: New metric
description: What is counted, and how.
unit: count
direction: higher_is_better
perspective: customer
kind: result
owner: someone
frequency: month
source: manual
"""


def facet_label(name: str, value: str | None) -> str:
    if value is None:
        return t("any")
    return t(f"{name}_{value}") if name in ("perspective", "kind") else value


def browse(ms: dict) -> str | None:
    c1, c2, c3, c4, c5 = st.columns([3, 1, 1, 1, 1])
    text = c1.text_input(t("search"), key="mc_search", placeholder=t("search_hint"))
    facets = {}
    for col, name in zip((c2, c3, c4, c5), catalog.FACETS, strict=True):
        values = catalog.facet_values(ms, name)
        facets[name] = col.selectbox(t("facet_" + name), [None, *values], key=f"mc_{name}",
                                     format_func=labels({v: facet_label(name, v) for v in [None, *values]}))
    codes = catalog.search(ms, text, **facets)
    st.caption(t("n_metrics", n=len(codes), total=len(ms)))
    if not codes:
        st.info(t("no_match"))
        return None
    rows = [row(ms[c]) for c in codes]
    event = st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—", on_select="rerun",
                         selection_mode="single-row", key="mc_table")
    chosen = event.selection.rows if event else []
    if chosen:
        st.session_state["mc_code"] = codes[chosen[0]]
    current = st.session_state.get("mc_code")
    return current if current in ms else codes[0]


def row(m) -> dict:
    return {t("code"): m.code, t("metric"): metric_name(m),
            t("facet_perspective"): t(f"perspective_{m.perspective}") if m.perspective else "—",
            t("facet_kind"): t(f"kind_{m.kind}") if m.kind else "—",
            t("source"): t("source_" + m.source_type), t("unit"): m.unit or "—", t("facet_owner"): m.owner or "—",
            t("smart"): " ".join(g[0] for g in smart_gaps(m)) or "✔"}


def detail(ms: dict, code: str, data_version: int) -> None:
    m = ms[code]
    st.subheader(f"{md(metric_name(m))} · {md(code)}")
    tab_def, tab_lin, tab_hist, tab_edit = st.tabs([t("definition"), t("lineage"), t("history"), t("edit")])
    with tab_def:
        if m.description:
            st.markdown(md(m.description))
        gaps = smart_gaps(m)
        if gaps:
            st.warning(t("smart_gaps") + "\n\n" + "\n".join(f"- {t('smart_gap_' + g[0])}" for g in gaps))
        else:
            st.success(t("smart_ok"))
        st.code(catalog.definition_yaml(m.definition()), language="yaml")
    with tab_lin:
        lin = catalog.lineage(ms, code)
        st.markdown(f"**{t('source')}**: {t('source_' + lin.source)}")
        if lin.dataset:
            st.markdown(f"- {t('dataset')}: {md(lin.dataset)}")
            st.code(f"measure: {lin.measure}" + (f"\nfilter: {lin.filter}" if lin.filter else ""), language="sql")
        for c in lin.components:
            st.markdown(f"- ← {md(metric_name(ms[c]))} ({md(c)})")
        st.markdown(f"**{t('used_by')}**")
        if lin.used_by:
            for c in lin.used_by:
                st.markdown(f"- → {md(metric_name(ms[c]))} ({md(c)})")
        else:
            st.caption(t("not_used"))
    with tab_hist:
        hist = dictionary.history(warehouse(), code)
        st.dataframe(pd.DataFrame([{t("version"): h["version"], t("col_user_name"): h["user"],
                                    t("col_created_at"): h["at"][:16].replace("T", " "),
                                    t("reason"): h["reason"] or "—"} for h in hist]),
                     hide_index=True, width="stretch", placeholder="—", key="mc_hist")
        if len(hist) > 1:
            versions = [h["version"] for h in hist]
            c1, c2 = st.columns(2)
            old = c1.selectbox(t("from_version"), versions[:-1], index=len(versions) - 2, key="mc_old")
            new = c2.selectbox(t("to_version"), [v for v in versions if v > old], key="mc_new")
            st.code(catalog.version_diff(hist, old, new) or t("no_difference"), language="diff")
    with tab_edit:
        if may_edit(user()):
            by_form, by_yaml = st.tabs([t("mf_form"), t("mf_yaml")])
            with by_form:
                metric_form(m, f"mf_{code}", ms, data_version)
            with by_yaml:
                editor(catalog.definition_yaml(m.definition()), key=f"edit_{code}")
        else:
            st.code(catalog.definition_yaml(m.definition()), language="yaml")


def editor(initial: str, key: str) -> None:
    with st.form(key):
        text = st.text_area(t("yaml_definition"), initial, height=320, key=f"{key}_text")
        reason = st.text_input(t("reason"), key=f"{key}_reason")
        c1, c2 = st.columns(2)
        check = c1.form_submit_button(t("check"))
        save = c2.form_submit_button(t("save"), type="primary")
    if not (check or save):
        return
    try:
        res = catalog.apply_text(warehouse(), text, reason=reason, user=user(), dry_run=check)
    except ValidationFailed as exc:
        show_problems(exc)
        return
    except KpiError as exc:
        error(exc)
        return
    word = t("checked_ok") if check else t("saved")
    st.success(md(f"{word} — {t('created')}: {', '.join(res.created) or '—'}; {t('updated')}: "
                  f"{', '.join(res.updated) or '—'}; {t('unchanged')}: {', '.join(res.unchanged) or '—'}"))


def page() -> None:
    v = version_or_busy()
    if v is None:
        return
    st.title(t("metric_center"))
    show_flash()
    ms = metrics(v)
    if may_edit(user()):  # the dictionary is the admins' to change (kpi_core refuses others anyway)
        with st.expander(t("new_metric"), icon=":material/add:"):
            by_form, by_yaml = st.tabs([t("mf_form"), t("mf_yaml")])
            with by_form:
                metric_form(None, "mf_new", ms, v)
            with by_yaml:
                editor(NEW_METRIC, key="new_metric")
    if not ms:
        st.info(t("no_metrics_yet"))
        return
    code = browse(ms)
    if code:
        detail(ms, code, v)


page()
