"""目标管理 Targets: the unit's targets for a year, edited with a reason; cascade to the children
by the engine's methods with an uplift; phasing to months; parent against children."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kpi_core.model import display as fmt
from kpi_core.model.errors import KpiError, WarehouseBusy
from kpi_core.model.periods import planning_years
from kpi_core.present.i18n import problem_text
from kpi_core.services import planning
from kpi_core.services.cascade import HEADCOUNT_METRIC, METHODS, UPLIFT, cascade_metrics
from pages import through_app
from pages.common import (
    error,
    flash,
    labels,
    lang,
    md,
    metric_name,
    metrics,
    open_warehouse_tree,
    place_widgets,
    show_flash,
    t,
    tm,
    today,
    unit_label,
    user,
    value,
    version,
    warehouse,
)

through_app()  # never straight from this folder: see pages/__init__.py


@st.cache_data(max_entries=32, show_spinner=False)
def plan_rows(data_version: int, org: str, year: int, actor) -> list[planning.PlanRow]:
    return planning.plan(warehouse(), org, year, actor=actor)


def _month(label: str) -> str:
    return f"{int(label[5:])}{t('month_suffix')}" if t("month_suffix") else label[5:]


def targets_table(ms, rows, org: str, year: int) -> None:
    st.subheader(t("targets_of", year=year))
    st.caption(t("targets_hint"))
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    frame = pd.DataFrame([{"code": r.metric, t("metric"): metric_name(ms[r.metric]), t("unit"): ms[r.metric].unit or "",
                           t("explicit_year"): r.explicit_year,
                           **{_month(m): value(r.months.get(m), ms[r.metric].unit) for m in months}}
                          for r in rows])
    frame[t("explicit_year")] = pd.to_numeric(frame[t("explicit_year")])
    edited = st.data_editor(frame, hide_index=True, width="stretch", placeholder="—", key="target_editor",
                            disabled=["code", t("metric"), t("unit"), *[_month(m) for m in months]],
                            column_config={"code": None, t("explicit_year"): st.column_config.NumberColumn(
                                format="localized", help=t("explicit_year_help"))})
    changed = [(frame.at[i, "code"], org, str(year), float(edited.at[i, t("explicit_year")]))
               for i in frame.index
               if pd.notna(edited.at[i, t("explicit_year")]) and edited.at[i, t("explicit_year")] != frame.at[i, t(
                   "explicit_year")]]
    reason = st.text_input(t("reason"), key="target_reason")
    if st.button(t("save_targets", n=len(changed)), disabled=not changed, type="primary", key="save_targets"):
        try:
            res = planning.save_targets(warehouse(), changed, reason=reason,
                                        user=user())
        except KpiError as exc:
            error(exc)
        else:  # drawn again: the months, the reconciliation and the cascade preview read the new targets
            flash("success", t("targets_saved", batch=res.batch, n=res.loaded))
            st.rerun()


def reconciliation(ms, rows, tr, org: str) -> None:
    st.subheader(t("reconciliation"))
    if not tr.children.get(org):
        st.info(t("no_children"))
        return
    data = [{t("metric"): metric_name(ms[r.metric]), t("own_target"): value(r.year_target, ms[r.metric].unit),
             t("children_total"): value(r.children_total, ms[r.metric].unit),
             t("gap"): value(r.gap, ms[r.metric].unit)} for r in rows if r.children_total is not None]
    if not data:
        st.caption(t("nothing_to_reconcile"))
        return
    st.dataframe(pd.DataFrame(data), hide_index=True, width="stretch", placeholder="—", key="recon_table")


def _basis(ms, method: str, year: int, p, s) -> dict[str, str]:
    """The basis a child's share came from, as a preview column (none for equal shares or a copied target)."""
    if method == "equal" or not p.additive:
        return {}
    if method == "weights":
        return {t("weight"): value(s.basis, None)}
    if method == "headcount":
        return {t("basis_headcount", year=year - 1): value(s.basis, getattr(ms.get(HEADCOUNT_METRIC), "unit", None))}
    return {t("basis_last_year", year=year - 1): value(s.basis, ms[p.metric].unit)}


def cascade_form(ms, tr, org: str, year: int, in_force: dict[str, float | None]) -> None:
    """Metrics, method, uplift and the total to split (the unit's full-year target to start with); the
    split with its warnings before anything is written; parent against children right after."""
    st.subheader(t("cascade"))
    children = tr.children.get(org, [])
    if not children:
        st.info(t("no_children"))
        return
    shown = labels({c: metric_name(ms[c]) for c in ms})
    codes = st.multiselect(t("metrics"), list(ms), default=list(ms)[:1], format_func=shown, key="cas_metrics")
    c2, c3 = st.columns(2)
    shown_method = labels({m: t("method_" + m) for m in METHODS})
    method = c2.selectbox(t("method"), METHODS, format_func=shown_method, key="cas_method")
    uplift = c3.number_input(t("uplift"), min_value=UPLIFT[0], max_value=UPLIFT[1], value=1.0, step=0.01,
                             key="cas_uplift")
    if not codes:
        st.info(t("cascade_pick_metric"))
        return
    cols = st.columns(min(len(codes), 3))
    totals = {code: cols[i % len(cols)].number_input(
        tm("cascade_total", metric=shown(code)), value=in_force.get(code), step=None,
        format="%.0f" if fmt.is_count(ms[code].unit) else "%.2f",
        help=t("cascade_total_help"), key=f"cas_total_{org}_{year}_{code}") for i, code in enumerate(codes)}
    weights = None
    if method == "weights":
        w = st.data_editor(pd.DataFrame({"code": children, t("org_unit"): [unit_label(tr, c) for c in children],
                                         t("weight"): [1.0] * len(children)}),
                           hide_index=True, key="cas_weights", column_config={"code": None},
                           disabled=["code", t("org_unit")])
        weights = dict(zip(w["code"], w[t("weight")], strict=True))
    asked = dict(metrics=codes, org=org, year=year, method=method, uplift=uplift, weights=weights, totals=totals)
    try:
        plan = cascade_metrics(warehouse(), **asked, dry_run=True, user=user())
    except KpiError as exc:
        st.warning(md(problem_text(exc, lang())))
        return
    st.caption(t("cascade_preview"))
    preview = [{t("metric"): shown(p.metric), t("org_unit"): unit_label(tr, s.child), t("share"): f"{s.share:.1%}",
                t("target"): value(s.target, ms[p.metric].unit), **_basis(ms, method, year, p, s)}
               for p in plan.metrics for s in p.splits]
    st.dataframe(pd.DataFrame(preview), hide_index=True, width="stretch", placeholder="—", key="cas_preview")
    for w in plan.warnings:
        st.warning(md(w.render(lang())))
    update_parent = False
    if any(p.gap for p in plan.metrics):
        update_parent = st.checkbox(t("update_parent"), key="cas_update_parent")
    reason = st.text_input(t("reason"), key="cas_reason")
    if st.button(t("apply_cascade"), type="primary", key="cas_apply"):
        try:
            done = cascade_metrics(warehouse(), **asked, update_parent=update_parent, user=user(), reason=reason)
        except KpiError as exc:
            error(exc)
            return
        # Drawn again from the new targets (no preview of a cascade already written), saying what
        # was written and how each metric reconciles now.
        flash("success", t("targets_saved", batch=done.result.batch, n=done.result.loaded))
        if done.reconciliation:
            flash("caption", t("cascade_after"))
            flash("table", [{t("metric"): shown(code), t("own_target"): value(r.parent, ms[code].unit),
                             t("children_total"): value(r.children_total, ms[code].unit),
                             t("gap"): value(r.gap, ms[code].unit)} for code, r in done.reconciliation.items()])
        st.rerun()


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    v, tr = opened
    place = place_widgets(tr)
    ms = metrics(v)
    st.title(f"{t('targets_page')} · {md(tr.units[place.org].name)}")
    show_flash()
    years = planning_years(today())
    year = st.selectbox(t("year"), years, index=years.index(today().year), key="tp_year")
    if not ms:
        st.info(t("no_metrics_yet"))
        return
    rows = plan_rows(v, place.org, int(year), user())
    tab_t, tab_c, tab_r = st.tabs([t("targets_tab"), t("cascade"), t("reconciliation")])
    with tab_c:  # first: a cascade written now shows in the other tabs in this same run
        cascade_form(ms, tr, place.org, int(year), {r.metric: r.year_target for r in rows})
    try:
        rows = plan_rows(version(), place.org, int(year), user())
    except WarehouseBusy:  # an import holds the warehouse now: the rows read above stand
        pass
    with tab_t:
        targets_table(ms, rows, place.org, int(year))
    with tab_r:
        reconciliation(ms, rows, tr, place.org)


page()
