"""管理 Admin: the org tree and its import; users, roles and lock-outs; the audit log (search and
export); closed periods; warehouse settings — fiscal year start, thresholds, grade bands, phasing."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from kpi_core.auth import users
from kpi_core.ingest.org_file import import_org
from kpi_core.ingest.template import org_template
from kpi_core.model.access import ROLES
from kpi_core.model.errors import KpiError
from kpi_core.present.i18n import problem_text
from kpi_core.store import audit, closing, phasing, settings
from pages import through_app
from pages.common import (
    error,
    flash,
    labels,
    lang,
    md,
    renew,
    renewed,
    show_flash,
    t,
    tabbed,
    tm,
    tree,
    user,
    version_or_busy,
    warehouse,
)
from pages.login import deferred

through_app()  # never straight from this folder: see pages/__init__.py

TABS = ("org", "users", "audit", "periods", "settings", "sources", "channels")  # names a link may give


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
    st.download_button(t("org_template"), org_template(tr, lang()), file_name=t("org_template_file"),
                       key="org_template", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    upload = st.file_uploader(t("choose_file"), type=["xlsx", "xls", "ods", "csv"], key=renew("org_file"))
    if upload is None:
        return
    folder = Path(tempfile.gettempdir()) / "kpi-uploads" / hashlib.sha256(upload.getvalue()).hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    try:
        check = import_org(warehouse(), path, dry_run=True, user=user())
    except KpiError as exc:
        st.error(tm("file_refused", why=problem_text(exc, lang())))
        return
    if check.errors:
        st.error(tm("errors_found", n=len(check.errors), file=upload.name))
        st.dataframe(pd.DataFrame([{t("col_row"): e.row or "", t("col_column"): e.column, t("col_value"): e.value,
                                    t("col_message"): problem_text(e.message, lang())} for e in check.errors]),
                     hide_index=True, width="stretch", placeholder="—", key="org_errors")
        return
    st.info(t("org_will_load", n=check.loaded))
    if st.button(t("confirm_upload"), type="primary", key="org_confirm"):
        done = import_org(warehouse(), path, user=user())
        # Drawn again from the new tree: the table shows the units just loaded, the uploader is empty.
        flash("success", t("org_loaded", batch=done.batch, n=done.loaded))
        renewed("org_file")
        st.rerun()


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
    wanted = {"fiscal_year_start": str(fy), "default_green": f"{green:g}", "default_amber": f"{amber:g}",
              "grade_bands": bands}
    save_settings(wanted, reason)


def save_settings(wanted: dict[str, str], reason: str) -> None:
    """Store a form's settings together (kpi_core checks each and needs the reason); say what it did."""
    try:
        changed = settings.put_many(warehouse(), wanted, user=user(), reason=reason)
    except KpiError as exc:
        error(exc)
        return
    st.success(t("settings_saved", n=len(changed)))


REVIEW_SETTINGS = ("review_competencies", "review_points", "review_weights", "review_rater_weights",
                   "review_min_raters", "review_guideline", "review_incentives")


def review_settings_section() -> None:
    """The review settings a cycle keeps when it is opened (competencies, scale, weights, the
    fewest anonymous raters, the calibration guideline, incentive coefficients)."""
    st.subheader(t("rv_settings"))
    st.caption(t("rv_settings_help"))
    current = settings.all_settings(warehouse())
    with st.form("review_settings_form"):
        wanted = {k: st.text_input(t(f"rv_setting_{k}"), current[k], key=f"set_{k}") for k in REVIEW_SETTINGS}
        reason = st.text_input(t("reason"), key="set_review_reason")
        saved = st.form_submit_button(t("save"))
    if not saved:
        return
    save_settings(wanted, reason)


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


def users_section(tr) -> None:
    st.subheader(t("users"))
    people = users.list_users(warehouse())
    st.dataframe(pd.DataFrame([{t("user_name"): u.name, t("role"): t(f"role_{u.role}"),
                                t("user_orgs"): ", ".join(u.orgs), t("email"): u.email or "",
                                t("active"): u.active} for u in people]),
                 hide_index=True, width="stretch", placeholder="—", key="users_table")
    codes = tr.subtree(tr.root) if tr.root else []
    role_names = labels({r: t(f"role_{r}") for r in ROLES})
    unit_names = labels({c: f"{tr.units[c].name} ({c})" for c in codes})
    with st.form("add_user", clear_on_submit=True):
        st.markdown(f"**{t('add_user')}**")
        c1, c2, c3 = st.columns(3)
        name = c1.text_input(t("user_name"), key="nu_name", help=t("user_name_rule"))
        role = c2.selectbox(t("role"), ROLES, format_func=role_names, key="nu_role")
        orgs = c3.multiselect(t("user_orgs"), codes, format_func=unit_names, key="nu_orgs")
        c4, c5 = st.columns(2)
        pw = c4.text_input(t("password"), type="password", key="nu_pw",
                           help=t("password_rule", n=users.MIN_PASSWORD))
        email = c5.text_input(t("email"), key="nu_email")
        st.caption(f"{t('password_rule', n=users.MIN_PASSWORD)} {t('user_name_rule')}")
        if st.form_submit_button(t("add_user"), type="primary"):
            try:
                users.add(warehouse(), name.strip(), role, orgs=orgs, password=pw or None, email=email.strip() or None,
                          by=user())
            except KpiError as exc:
                error(exc)
            else:  # drawn again, so the table above lists the new user
                flash("success", f"{md(name)} ✓")
                st.rerun()
    if not people:
        return
    with st.form("edit_user"):
        st.markdown(f"**{t('save_user')}**")
        c1, c2, c3, c4 = st.columns([1, 1, 2, 1])
        who = c1.selectbox(t("user_name"), [u.name for u in people], key="eu_name")
        current = next(u for u in people if u.name == who)
        role = c2.selectbox(t("role"), ROLES, index=ROLES.index(current.role), format_func=role_names, key="eu_role")
        orgs = c3.multiselect(t("user_orgs"), codes, default=[o for o in current.orgs if o in codes],
                              format_func=unit_names, key="eu_orgs")
        active = c4.checkbox(t("active"), value=current.active, key="eu_active")
        c5, c6 = st.columns(2)
        pw = c5.text_input(t("password"), type="password", key="eu_pw",
                           help=t("password_rule", n=users.MIN_PASSWORD))
        reason = c6.text_input(t("reason"), key="eu_reason")
        b1, b2 = st.columns(2)
        save = b1.form_submit_button(t("save_user"), type="primary")
        unlock = b2.form_submit_button(t("unlock"))
    try:
        if save:
            users.update(warehouse(), who, role=role, orgs=orgs, active=active, by=user(), reason=reason or None)
            if pw:
                users.set_password(warehouse(), who, pw, by=user())
        if unlock:
            users.unlock(warehouse(), who, by=user())
    except KpiError as exc:
        error(exc)
        return
    if save or unlock:  # drawn again, so the table above shows the change
        flash("success", f"{md(who)} ✓")
        st.rerun()


def audit_section() -> None:
    st.subheader(t("audit_log"))
    c1, c2, c3, c4, c5 = st.columns(5)
    who = c1.text_input(t("who"), key="au_who")
    action = c2.text_input(t("action"), key="au_action")
    obj = c3.text_input(t("object"), key="au_object")
    since = c4.date_input(t("since"), value=None, key="au_since")
    until = c5.date_input(t("until"), value=None, key="au_until")
    text = st.text_input(t("text_contains"), key="au_text")
    query = audit.Search(who.strip() or None, action.strip() or None, obj.strip() or None, None,
                         since if isinstance(since, dt.date) else None, until if isinstance(until, dt.date) else None,
                         text.strip() or None)
    rows = audit.search(warehouse(), query, limit=2000, user=user())
    # Shown in a data grid, as text: nothing a user typed is rendered as HTML or markdown.
    heads = {"id": "#", "happened_at": t("col_created_at"), "user_name": t("who"), "action": t("action"),
             "object_type": t("object"), "object_key": t("object_key"), "before": t("before_value"),
             "after": t("after_value"), "reason": t("reason")}
    table = pd.DataFrame([{**r, "happened_at": r["happened_at"].strftime("%Y-%m-%d %H:%M:%S")} for r in rows],
                         columns=list(audit.COLUMNS)).rename(columns=heads)
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", key="audit_table", height=420)
    b1, b2 = st.columns([1, 6])
    b1.download_button(t("export_xlsx"), deferred(lambda actor: audit.to_xlsx(rows)), key="au_xlsx", on_click="ignore",
                       file_name="audit.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    b2.download_button(t("export_csv"), deferred(lambda actor: audit.to_csv(rows)), key="au_csv", on_click="ignore",
                       file_name="audit.csv",
                       mime="text/csv")


def periods_section() -> None:
    st.subheader(t("closed_periods"))
    shut = closing.list_closed(warehouse())
    if shut:
        heads = {"period": t("period"), "closed_by": t("who"), "closed_at": t("col_created_at"), "reason": t("reason")}
        st.dataframe(pd.DataFrame(shut).rename(columns=heads), hide_index=True, width="stretch", placeholder="—",
                     key="closed_table")
    with st.form("close_period"):
        c1, c2 = st.columns([1, 3])
        period = c1.text_input(t("period"), placeholder="2026-09", key="cp_period")
        reason = c2.text_input(t("reason"), key="cp_reason")
        b1, b2 = st.columns(2)
        close = b1.form_submit_button(t("close_period"), type="primary")
        reopen = b2.form_submit_button(t("reopen_period"))
    try:
        if close:
            closing.close(warehouse(), period.strip(), by=user(), reason=reason or None)
            st.rerun()
        if reopen:
            closing.reopen(warehouse(), period.strip(), by=user(), reason=reason or None)
            st.rerun()
    except (KpiError, ValueError) as exc:
        error(exc)


def page() -> None:
    v = version_or_busy()
    if v is None:
        return
    st.title(t("admin"))
    show_flash()
    if not user().is_admin:  # kpi_core refuses every change here anyway; say so plainly
        st.info(t("admin_only"))
        return
    tr = tree(v)
    names = [t("org_tree"), t("users"), t("audit_log"), t("closed_periods"), t("settings"), t("src_title"),
             t("ch_title")]
    # A link may name the tab to open (a dead-letter message: ?page=admin&tab=channels). It stays
    # in the address, so the tabs keep one default while the page is open.
    asked = st.query_params.get("tab")
    opened = names[TABS.index(asked)] if asked in TABS else None
    def org_tab() -> None:
        if tr.root is None:
            st.info(t("org_empty"))
        org_section(tr)

    def settings_tab() -> None:
        settings_section()
        review_settings_section()
        phasing_section()

    def sources_tab() -> None:
        from pages.sources import sources_section

        sources_section()

    def channels_tab() -> None:
        from pages.channels import channels_section

        channels_section()

    tabbed(names, [org_tab, lambda: users_section(tr), audit_section, periods_section, settings_tab, sources_tab,
                   channels_tab], key="admin_tabs", default=opened)


page()
