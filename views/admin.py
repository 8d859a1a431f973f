"""组织与设置 Org and settings (admins): the org tree, importing it, and the warehouse settings —
fiscal year start, default thresholds, grade bands, phasing profiles."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from kpi_core import settings
from kpi_core.engine import phasing
from kpi_core.errors import KpiError
from kpi_core.i18n import problem_text
from kpi_core.org import import_org
from views.common import labels, lang, t, tree, user, version_or_busy, warehouse


def org_section(tr) -> None:
    st.subheader(t("org_tree"))
    rows = [{t("code"): c, t("name"): "\u3000" * tr.units[c].depth + tr.units[c].name,
             t("parent"): tr.units[c].parent or "—", t("level"): tr.units[c].depth,
             t("children_n"): len(tr.children.get(c, []))} for c in tr.subtree(tr.root)] if tr.root else []
    st.caption(t("n_units", n=len(rows)))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—", height=360,
                 key="org_table")
    st.markdown(f"**{t('org_import')}**")
    st.caption(t("org_import_help"))
    upload = st.file_uploader(t("choose_file"), type=["xlsx", "xls", "ods", "csv"], key="org_file")
    if upload is None:
        return
    folder = Path(tempfile.gettempdir()) / "kpi-uploads" / hashlib.sha256(upload.getvalue()).hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    try:
        check = import_org(warehouse(), path, dry_run=True)
    except KpiError as exc:
        st.error(t("file_refused", why=str(exc)))
        return
    if check.errors:
        st.error(t("errors_found", n=len(check.errors), file=upload.name))
        st.dataframe(pd.DataFrame([{t("col_row"): e.row or "", t("col_column"): e.column, t("col_value"): e.value,
                                    t("col_message"): problem_text(e.message, lang())} for e in check.errors]),
                     hide_index=True, width="stretch", placeholder="—", key="org_errors")
        return
    st.info(t("org_will_load", n=check.loaded))
    if st.button(t("confirm_upload"), type="primary", key="org_confirm"):
        done = import_org(warehouse(), path, user=user())
        st.success(t("uploaded", batch=done.batch, n=done.loaded))


def settings_section() -> None:
    st.subheader(t("settings"))
    current = settings.all_settings(warehouse())
    with st.form("settings_form"):
        c1, c2, c3 = st.columns(3)
        shown = labels({m: t("month_n", m=m) for m in range(1, 13)})
        fy = c1.selectbox(t("setting_fiscal_year_start"), list(range(1, 13)),
                          index=int(current["fiscal_year_start"]) - 1, format_func=shown)
        green = c2.number_input(t("setting_default_green"), value=float(current["default_green"]), step=0.05,
                                format="%.2f")
        amber = c3.number_input(t("setting_default_amber"), value=float(current["default_amber"]), step=0.05,
                                format="%.2f")
        bands = st.text_input(t("setting_grade_bands"), current["grade_bands"], help=t("grade_bands_help"))
        reason = st.text_input(t("reason"))
        saved = st.form_submit_button(t("save"), type="primary")
    st.caption(t("fiscal_help"))
    if not saved:
        return
    if not reason.strip():
        st.error(t("reason_needed"))
        return
    wanted = {"fiscal_year_start": str(fy), "default_green": f"{green:g}", "default_amber": f"{amber:g}",
              "grade_bands": bands}
    changed = {k: v for k, v in wanted.items() if v != current[k]}
    # Green before amber when raising both, amber before green when lowering both, so the pair
    # never passes through amber > green.
    order = sorted(changed, key=lambda k: (k == "default_amber") == (float(green) >= float(current["default_green"])))
    try:
        for k in order:
            settings.put(warehouse(), k, changed[k], user=user(), reason=reason)
    except KpiError as exc:
        st.error(str(exc))
        return
    st.success(t("settings_saved", n=len(changed)))


def phasing_section() -> None:
    st.subheader(t("phasing_profiles"))
    with warehouse().connect() as con:
        profiles = phasing.profiles(con)
    if profiles:
        st.dataframe(pd.DataFrame([{t("name"): n, **{t("month_n", m=i + 1): w for i, w in enumerate(ws)}}
                                   for n, ws in profiles.items()]), hide_index=True, width="stretch",
                     placeholder="—", key="phasing_table")
    else:
        st.caption(t("no_profiles"))


def page() -> None:
    v = version_or_busy()
    if v is None:
        return
    st.title(t("admin"))
    tr = tree(v)
    tab_org, tab_set = st.tabs([t("org_tree"), t("settings")])
    with tab_org:
        if tr.root is None:
            st.info(t("org_empty"))
        org_section(tr)
    with tab_set:
        settings_section()
        phasing_section()


page()
