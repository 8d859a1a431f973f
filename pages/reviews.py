"""考评 Reviews: review cycles (SPEC §10). Everyone sees the cycles that hold a review they may
read, their own review (KPI scorecard, ratings as they may see them, grades) with its packet as
Excel and PDF, and the ratings asked of them now. Who runs a cycle (admins, managers of its
unit) also opens cycles, moves them on, chooses raters, and calibrates with the grade
distribution against the guideline and a 9-box. kpi_core/services/reviews.py decides who may.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kpi_core.auth import users
from kpi_core.model import access, review
from kpi_core.model import display as fmt
from kpi_core.model.errors import KpiError
from kpi_core.present import review_packet as packets
from kpi_core.present.review_export import workbook
from kpi_core.services import review_feedback as feedback
from kpi_core.services import review_results as results
from kpi_core.services import reviews as service
from kpi_core.store.reviews import Cycle
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
    show_flash,
    t,
    tabbed,
    tm,
    today,
    unit_label,
    user,
    value,
    version,
    warehouse,
)
from pages.login import deferred

through_app()  # never straight from this folder: see pages/__init__.py

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def runs_reviews() -> bool:
    return user().reach("reviews") is not None


def new_cycle_form(tr) -> None:
    """Open a cycle: a name, the period judged, the top unit (the admin's whole company, or a
    manager's own unit)."""
    tops = [tr.root] if user().reach("reviews") == "all" else [o for o in user().orgs if o in tr]
    with st.expander(t("rv_new")), st.form("rv_new_form", clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input(t("rv_name"), key="rv_new_name", help=t("rv_name_help"))
        period = c2.text_input(t("rv_period"), key="rv_new_period", placeholder="2026-Q3", help=t("rv_period_help"))
        org = c3.selectbox(t("rv_org"), tops, format_func=labels({o: unit_label(tr, o) for o in tops}),
                           key="rv_new_org")
        if st.form_submit_button(t("rv_open"), type="primary"):
            try:
                c = service.open_cycle(warehouse(), name.strip(), period.strip(), org, by=user())
            except KpiError as exc:
                error(exc)
                return
            st.session_state["rv_cycle"] = c.name
            flash("success", tm("rv_opened", name=c.name, period=c.period, org=unit_label(tr, c.org)))
            st.rerun()


def stages(cycle: Cycle) -> None:
    """Where the cycle is: its stages with the current one marked."""
    shown = [(f"**{t('rv_state_' + s)}**" if s == cycle.state else t("rv_state_" + s)) for s in review.STATES]
    st.markdown(" → ".join(shown))


def move_on(cycle: Cycle, tr) -> None:
    """The button that moves the cycle to its next stage (closing freezes the snapshots)."""
    if cycle.state == "closed" or not runs_reviews():
        return
    after = review.next_state(cycle.state)
    if st.button(t("rv_close") if after == "closed" else t("rv_advance", state=t("rv_state_" + after)),
                 key="rv_advance", type="primary"):
        try:
            c = service.advance(warehouse(), cycle.name, by=user(), today=today())
        except KpiError as exc:
            error(exc)
            return
        flash("success", tm("rv_advanced", name=c.name, state=t("rv_state_" + c.state)))
        st.rerun()


def outcome_view(cycle: Cycle, subject: str, tr) -> None:
    """A review as the user may see it: scores and grades, the KPI lines, the ratings; packets."""
    try:  # the packet's data is what the page shows too: one review worked out per run
        o = feedback.packet(warehouse(), cycle.name, subject, by=user(), lang=lang(), today=today())
    except KpiError as exc:
        error(exc)
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("rv_kpi_score"), fmt.score(o["score"]), o["grade"] or None, delta_color="off", delta_arrow="off")
    c2.metric(t("rv_ratings"), fmt.score(o["ratings"]) if o["person"] else fmt.DASH)
    c3.metric(t("rv_overall"), fmt.score(o["overall"]), o["overall_grade"] or None, delta_color="off",
              delta_arrow="off")
    c4.metric(t("rv_final_grade"), o["final_grade"] or fmt.DASH,
              t(f"rv_potential_{o['potential']}") if o["potential"] else None, delta_color="off", delta_arrow="off")
    if o["frozen"]:
        st.caption(t("rv_frozen", batches=", ".join(map(str, o["batches"])) or fmt.DASH))
    restated = sum(1 for it in o["items"] if it["now"] is not None)
    if restated:
        st.warning(t("rv_restated", n=restated))
    st.dataframe(pd.DataFrame(packets.kpi_rows(o, lang()), columns=[t("rv_col_" + h) for h in KPI_COLUMNS]),
                 hide_index=True, width="stretch", placeholder=fmt.DASH)
    if o["person"]:
        st.dataframe(pd.DataFrame(packets.rating_rows(o, lang()),
                                  columns=[t("rv_col_kind"), t("rv_col_average"), t("rv_col_by_competency")]),
                     hide_index=True, width="stretch", placeholder=fmt.DASH)
        said = packets.comment_rows(o, lang())
        if said:
            st.dataframe(pd.DataFrame(said, columns=[t("rv_col_kind"), t("rv_col_comment")]), hide_index=True,
                         width="stretch")
    if o["calibration_reason"]:
        st.caption(tm("rv_reason_shown", reason=o["calibration_reason"]))
    data = o
    feedback_section(cycle, subject, data, tr)
    name, code, ui = cycle.name, subject, lang()
    b1, b2, _ = st.columns([1, 1, 4])
    b1.download_button(t("rv_packet_xlsx"), deferred(
        lambda actor: packets.xlsx(feedback.packet(warehouse(), name, code, by=actor, lang=ui, today=today()), ui)),
        file_name=f"review_{name}_{code}.xlsx", mime=XLSX, key=f"rv_xlsx_{code}", on_click="ignore")
    b2.download_button(t("rv_packet_pdf"), deferred(
        lambda actor: packets.pdf(feedback.packet(warehouse(), name, code, by=actor, lang=ui, today=today()), ui)),
        file_name=f"review_{name}_{code}.pdf", mime="application/pdf", key=f"rv_pdf_{code}", on_click="ignore")


def feedback_section(cycle: Cycle, subject: str, data: dict, tr) -> None:
    """The meeting notes and the improvement plan; who runs the review adds to them."""
    said = packets.feedback_rows(data, lang())
    if said:
        st.dataframe(pd.DataFrame(said, columns=[t("rv_col_what"), t("rv_col_text")]), hide_index=True,
                     width="stretch", key=f"rv_feedback_{subject}")
    if not access.can(user(), tr, "reviews", subject) or subject in user().orgs:
        return
    with st.expander(t("rv_add_feedback")):
        with st.form(f"rv_note_{subject}", clear_on_submit=True):
            note = st.text_area(t("rv_note"), max_chars=feedback.MAX_NOTE)
            if st.form_submit_button(t("rv_save_note")):
                try:
                    feedback.add_note(warehouse(), cycle.name, subject, note, by=user())
                except KpiError as exc:
                    error(exc)
                    return
                flash("success", t("rv_note_saved"))
                st.rerun()
        items = [it["metric"] for it in data["items"]]
        if not items:
            return
        names = {it["metric"]: it["name"] for it in data["items"]}
        with st.form(f"rv_plan_{subject}", clear_on_submit=True):
            c1, c2, c3 = st.columns(3)
            metric = c1.selectbox(t("rv_plan_metric"), items, format_func=labels(names))
            owner = c2.text_input(t("rv_plan_owner"))
            due = c3.date_input(t("rv_plan_due"), value=today() + dt.timedelta(days=30), min_value=today())
            title = st.text_input(t("rv_plan_title"))
            if st.form_submit_button(t("rv_save_plan")):
                try:
                    feedback.add_plan_item(warehouse(), cycle.name, subject, metric=metric, owner=owner.strip(),
                                           due=due, title=title, by=user(), today=today())
                except KpiError as exc:
                    error(exc)
                    return
                flash("success", tm("rv_plan_saved", title=title.strip()))
                st.rerun()


def retro_tab(cycle: Cycle, tr) -> None:
    """A unit's retrospective at the cycle's period: what was red, the actions taken, the movement."""
    units = [u for u in tr.subtree(cycle.org) if results.may_read(user(), tr, u)]
    if not units:
        st.info(t("rv_nothing_of_yours"))
        return
    unit = st.selectbox(t("rv_unit"), units, format_func=labels({u: unit_label(tr, u) for u in units}),
                        key="rv_retro_unit")
    try:
        r = feedback.retrospective(warehouse(), unit, cycle.period, by=user(), today=today())
    except KpiError as exc:
        error(exc)
        return
    metrics_ = metrics(version())
    st.markdown(f"**{t('rv_retro_red', n=len(r.red))}**")
    if r.red:
        st.dataframe(pd.DataFrame([{
            t("rv_col_metric"): metric_name(metrics_[it["metric"]]) if it["metric"] in metrics_ else it["metric"],
            t("rv_col_actual"): value(it["actual"], _unit(metrics_, it["metric"])),
            t("rv_col_target"): value(it["target"], _unit(metrics_, it["metric"])), t("rv_col_score"): it["score"]}
            for it in r.red]), hide_index=True, width="stretch", placeholder=fmt.DASH, key="rv_retro_red",
            column_config={t("rv_col_score"): st.column_config.NumberColumn(format="%.1f")})
    st.markdown(f"**{t('rv_retro_taken', n=len(r.taken))}**")
    if r.taken:
        st.dataframe(pd.DataFrame([{
            t("rv_col_action"): a.title, t("rv_col_unit"): unit_label(tr, a.org),
            t("rv_col_metric"): metric_name(metrics_[a.metric]) if a.metric in metrics_ else a.metric,
            t("rv_col_owner"): a.owner, t("rv_col_state"): t("rv_action_" + a.status), t("rv_col_note"): a.note,
            t("rv_col_since"): t("rv_trend_" + m.trend)} for a, m in r.taken]), hide_index=True, width="stretch",
            placeholder=fmt.DASH, key="rv_retro_taken")


def _unit(metrics_: dict, code: str) -> str | None:
    m = metrics_.get(code)
    return m.unit if m is not None else None


KPI_COLUMNS = ("metric", "weight", "actual", "target", "score", "status", "since")


def mine_tab(cycle: Cycle, tr) -> None:
    """The user's own review (their units in the cycle), else a unit of theirs to look at."""
    inside = set(tr.subtree(cycle.org))
    own = [o for o in user().orgs if o in inside]
    if runs_reviews():
        own = [u for u in tr.subtree(cycle.org) if results.may_read(user(), tr, u)]
    if not own:
        st.info(t("rv_nothing_of_yours"))
        return
    subject = st.selectbox(t("rv_subject"), own, format_func=labels({u: unit_label(tr, u) for u in own}),
                           key="rv_subject")
    outcome_view(cycle, subject, tr)


def rate_tab(cycle: Cycle, tr) -> None:
    """The ratings asked of the user now: one form per person and kind, a score per competency."""
    todo = service.tasks(warehouse(), cycle.name, by=user())
    if not todo:
        st.info(t("rv_no_tasks", state=t("rv_state_" + cycle.state)))
        return
    shown = {f"{s}|{k}": f"{unit_label(tr, s)} · {t('rv_kind_' + k)}" for s, k in todo}
    pick = st.selectbox(t("rv_rate_whom"), list(shown), format_func=labels(shown), key="rv_rate_pick")
    subject, kind = pick.split("|")
    given = service.rated_by_me(warehouse(), cycle.name, subject, by=user()).get(kind, {})
    cfg = cycle.config
    with st.form(f"rv_rate_{subject}_{kind}"):
        if kind in review.ANONYMOUS:
            st.caption(t("rv_anonymous", n=cfg.min_raters))
        scores = {}
        cols = st.columns(min(len(cfg.competencies), 5))
        for i, c in enumerate(cfg.competencies):
            scores[c.code] = cols[i % len(cols)].number_input(
                c.name(lang()), min_value=float(cfg.lowest), max_value=float(cfg.highest), step=0.5,
                value=float(given.get(c.code, (cfg.lowest + cfg.highest) / 2)), key=f"rv_s_{subject}_{kind}_{c.code}")
        comment = st.text_area(t("rv_comment"), key=f"rv_c_{subject}_{kind}", max_chars=service.MAX_COMMENT)
        if st.form_submit_button(t("rv_save_rating"), type="primary"):
            try:
                for code, score in scores.items():
                    service.rate(warehouse(), cycle.name, subject, kind, score, comment=comment, competency=code,
                                 by=user())
            except KpiError as exc:
                error(exc)
                return
            flash("success", tm("rv_rated", who=unit_label(tr, subject), kind=t("rv_kind_" + kind)))
            st.rerun()


def team_tab(cycle: Cycle, tr) -> None:
    """Everyone in the cycle the user may read, and the raters a manager chooses for a person."""
    rows = results.result_rows(warehouse(), cycle.name, by=user(), today=today())
    table = pd.DataFrame([{
        t("rv_col_unit"): unit_label(tr, r["org"]), t("rv_kpi_score"): r["score"], t("rv_col_grade"): r["grade"],
        t("rv_kind_self"): r["rating_self"], t("rv_kind_manager"): r["rating_manager"],
        t("rv_kind_peer"): r["rating_peer"], t("rv_kind_report"): r["rating_report"], t("rv_overall"): r["overall"],
        t("rv_final_grade"): r["final_grade"], t("rv_incentive"): r["incentive"]} for r in rows])
    st.dataframe(table, hide_index=True, width="stretch", placeholder=fmt.DASH, key="rv_team_table",
                 column_config={c: st.column_config.NumberColumn(format="%.2f" if c == t("rv_incentive") else "%.1f")
                                for c in (t("rv_kpi_score"), t("rv_overall"), t("rv_kind_self"), t("rv_kind_manager"),
                                          t("rv_kind_peer"), t("rv_kind_report"), t("rv_incentive"))})
    name, ui = cycle.name, lang()
    st.download_button(t("rv_results_xlsx"), deferred(lambda actor: _results_book(name, actor, ui)),
                       file_name=f"review_{name}_results.xlsx", mime=XLSX, key="rv_results", on_click="ignore")
    if cycle.state in ("open", "self", "manager"):
        raters_form(cycle, tr)


def _results_book(name: str, actor, ui: str) -> bytes:
    return workbook(service.get(warehouse(), name).as_dict(),
                    results.result_rows(warehouse(), name, by=actor, today=today()), ui)


def raters_form(cycle: Cycle, tr) -> None:
    """Choose a person's peer and report raters (three or more of a kind, or their average stays hidden)."""
    st.markdown(f"**{t('rv_raters')}**")
    people = [u for u in tr.subtree(cycle.org) if not tr.children.get(u) and results.may_read(user(), tr, u)]
    if not people:
        return
    person = st.selectbox(t("rv_person"), people, format_func=labels({u: unit_label(tr, u) for u in people}),
                          key="rv_rater_person")
    names = [u.name for u in users.list_users(warehouse()) if u.active and person not in u.orgs]
    now = service.raters(warehouse(), cycle.name, person, by=user())
    peers = [r for _, r, k in now if k == "peer"]
    reports = [r for _, r, k in now if k == "report"]
    with st.form(f"rv_raters_{person}"):
        new_peers = st.multiselect(t("rv_peers"), names, default=[n for n in peers if n in names])
        new_reports = st.multiselect(t("rv_reports"), names, default=[n for n in reports if n in names])
        st.caption(t("rv_anonymous", n=cycle.config.min_raters))
        if st.form_submit_button(t("rv_save_raters")):
            chosen = {u: "" for u in set(peers + reports)} | {u: "peer" for u in new_peers} | {
                u: "report" for u in new_reports}
            try:
                service.choose_raters(warehouse(), cycle.name, person, chosen, by=user())
            except KpiError as exc:
                error(exc)
                return
            flash("success", tm("rv_raters_saved", who=unit_label(tr, person), n=len(new_peers) + len(new_reports)))
            st.rerun()


def calibration_tab(cycle: Cycle, tr) -> None:
    """The grade distribution against the guideline, the 9-box, and a grade or potential changed
    with a reason (calibration stage only)."""
    units = [u for u in tr.subtree(cycle.org) if tr.children.get(u) and access.can(user(), tr, "reviews", u)]
    if not units:
        st.info(t("rv_no_units"))
        return
    unit = st.selectbox(t("rv_unit"), units, format_func=labels({u: unit_label(tr, u) for u in units}),
                        key="rv_cal_unit")
    view = results.calibration(warehouse(), cycle.name, unit, by=user(), today=today())
    st.dataframe(pd.DataFrame([{
        t("rv_col_grades"): "+".join(g.grades), t("rv_col_rule"): f"{g.op} {g.limit:g}%",
        t("rv_col_share"): f"{g.share:.0f}% ({g.count})",
        t("rv_col_ok"): t("rv_ok") if g.ok else t("rv_gap", n=abs(g.move))}
        for g in view.gaps]), hide_index=True, width="stretch", key="rv_gaps")
    st.caption(t("rv_guideline_advice"))
    levels = ("high", "medium", "low")
    box = pd.DataFrame({t(f"rv_potential_{pot}"): [", ".join(tr.unit(p).name for p in view.box.get((perf, pot), []))
                                                  for perf in levels] for pot in ("low", "medium", "high")},
                       index=[t(f"rv_performance_{perf}") for perf in levels])
    st.markdown(f"**{t('rv_nine_box')}**")
    st.dataframe(box, width="stretch", key="rv_box")
    if cycle.state != "calibration" or not view.people:
        return
    shown = {p["subject"]: f"{p['name']} ({p['subject']}) · {p['final_grade'] or fmt.DASH}" for p in view.people}
    with st.form("rv_calibrate"):
        c1, c2, c3 = st.columns(3)
        who = c1.selectbox(t("rv_person"), list(shown), format_func=labels(shown))
        grade = c2.selectbox(t("rv_final_grade"), [""] + view.grades, format_func=labels({"": t("rv_keep")}))
        potential = c3.selectbox(t("rv_potential"), ["", *review.POTENTIALS],
                                 format_func=labels({"": t("rv_keep")} | {p: t(f"rv_potential_{p}")
                                                                           for p in review.POTENTIALS}))
        reason = st.text_input(t("reason"), key="rv_cal_reason")
        if st.form_submit_button(t("rv_calibrate"), type="primary"):
            try:
                service.calibrate(warehouse(), cycle.name, who, grade=grade or None, potential=potential or None,
                                  reason=reason, by=user())
            except KpiError as exc:
                error(exc)
                return
            flash("success", tm("rv_calibrated", who=unit_label(tr, who)))
            st.rerun()


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    _v, tr = opened
    st.title(t("rv_title"))
    show_flash()
    if runs_reviews():
        new_cycle_form(tr)
    cycles = service.visible_cycles(warehouse(), by=user())
    if not cycles:
        st.info(t("rv_none_admin") if runs_reviews() else t("rv_none"))
        return
    names = [c.name for c in cycles]
    by_name = {c.name: c for c in cycles}
    shown = {c.name: f"{c.name} · {c.period} · {unit_label(tr, c.org)} · {t('rv_state_' + c.state)}" for c in cycles}
    if st.session_state.get("rv_cycle") not in names:
        st.session_state["rv_cycle"] = names[0]
    cycle = by_name[st.selectbox(t("rv_cycle"), names, format_func=labels(shown), key="rv_cycle")]
    stages(cycle)
    move_on(cycle, tr)
    tabs = [(t("rv_mine"), lambda: mine_tab(cycle, tr)), (t("rv_to_rate"), lambda: rate_tab(cycle, tr))]
    if runs_reviews():
        tabs += [(t("rv_team"), lambda: team_tab(cycle, tr)), (t("rv_calibration"), lambda: calibration_tab(cycle, tr))]
    tabs.append((t("rv_retro"), lambda: retro_tab(cycle, tr)))
    tabbed([n for n, _ in tabs], [d for _, d in tabs], key=f"rv_tabs_{len(tabs)}")
    st.caption(md(t("rv_footer")))


page()
