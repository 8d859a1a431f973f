"""预警 Alerts: the alert rules' current states for the units the user may read — firing,
acknowledged, snoozed, resolved — with acknowledge, snooze and "open an action"; the latest
transitions; and the rules as code (admins edit them here or with `alerts apply`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.present.i18n import problem_text
from kpi_core.services import alerts as alert_service
from kpi_core.store import alerts
from pages import through_app
from pages.common import (
    flash,
    labels,
    lang,
    metric_name,
    metrics,
    open_warehouse_tree,
    show_flash,
    show_problems,
    t,
    tabbed,
    today,
    unit_label,
    user,
    warehouse,
)

through_app()  # never straight from this folder: see pages/__init__.py

STATES = ("firing", "acknowledged", "snoozed", "resolved", "ok")


def said(reason) -> str:
    """A state's or event's reason (a Msg) in the UI language."""
    return reason.render(lang()) if isinstance(reason, Msg) else (str(reason) if reason else "—")


def state_word(state: str) -> str:
    """A state's name as a label: the catalog's word (lower case, as it reads mid-sentence in
    English), its first letter capitalised where it stands alone."""
    word = Msg(f"alert_state_{state}").render(lang())
    return word[:1].upper() + word[1:]


def state_text(row: dict) -> str:
    """A state as listed; a snoozed one says until when."""
    if row["state"] == "snoozed" and row.get("snoozed_until"):
        return t("alp_snoozed_to", until=row["snoozed_until"].isoformat())
    return state_word(row["state"])


def act(what: str, state_id: int) -> None:
    try:
        if what == "ack":
            alerts.ack(warehouse(), state_id, user())
            flash("success", t("alp_acked"))
        else:
            # the date as the user left it: a date changed just before the click arrives with the
            # click, after this callback's arguments were made on the previous run
            until = st.session_state.get("al_until") or today() + dt.timedelta(days=7)
            alerts.snooze(warehouse(), state_id, until, user(), today=today())
            flash("success", t("alp_snoozed", until=until.isoformat()))
    except KpiError as exc:
        flash("error", problem_text(exc, lang()))


def states_tab(tr, ms) -> None:
    rows = alerts.list_states(warehouse(), user(), today=today())
    # pills, not a multiselect: Streamlit's multiselect brings English words of its own ("Select all")
    shown = st.pills(t("alp_show"), STATES, selection_mode="multi", default=["firing", "acknowledged", "snoozed"],
                     key="al_states", format_func=labels({s: state_word(s) for s in STATES}))
    rows = [r for r in rows if r["state"] in shown]
    st.space("small")  # the table's hover toolbar would cover the last pills on a phone
    if not rows:
        st.info(t("alp_none"))
        return
    rows.sort(key=lambda r: (STATES.index(r["state"]), r["since"]), reverse=False)
    table = [{t("alp_rule"): r["rule"], t("metric"): metric_name(ms[r["metric"]]) if r["metric"] in ms else r["metric"],
              t("org_unit"): unit_label(tr, r["org"]), t("period"): r["period"] or "—",
              t("status"): state_text(r),
              t("alp_since"): f"{r['since']:%Y-%m-%d %H:%M}", t("alp_reason"): said(r["reason"])}
             for r in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    ids = [r["id"] for r in rows]
    names = {r["id"]: f"{r['rule']} · {table[i][t('metric')]} · {table[i][t('org_unit')]}" for i, r in enumerate(rows)}
    pick = st.selectbox(t("alp_pick"), ids, format_func=labels(names), key="al_pick")
    chosen = next(r for r in rows if r["id"] == pick)
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    c1.button(t("alp_ack"), key="al_ack", on_click=act, args=("ack", pick), disabled=chosen["state"] != "firing")
    c2.date_input(t("alp_until"), value=today() + dt.timedelta(days=7), min_value=today(), key="al_until")
    c3.button(t("alp_snooze"), key="al_snooze", on_click=act, args=("snooze", pick))
    c4.page_link("pages/actions.py", label=t("alp_open_action"), query_params={
        "metric": chosen["metric"], "org": chosen["org"], "period": chosen["period"] or "",
        "ref": f"alert:{chosen['rule']}:{chosen['metric']}:{chosen['org']}:{chosen['period'] or ''}"})


def events_tab(tr, ms) -> None:
    rows = alerts.events(warehouse(), user(), limit=200)
    if not rows:
        st.info(t("alp_no_events"))
        return
    st.dataframe(pd.DataFrame([{
        t("alp_when"): f"{e['happened_at']:%Y-%m-%d %H:%M}", t("alp_rule"): e["rule"],
        t("metric"): metric_name(ms[e["metric"]]) if e["metric"] in ms else e["metric"],
        t("org_unit"): unit_label(tr, e["org"]), t("period"): e["period"] or "—",
        t("status"): state_word(e["state"]), t("alp_reason"): said(e["reason"])}
        for e in rows]), hide_index=True, width="stretch")


def rules_tab() -> None:
    text = alerts.export(warehouse())
    if not user().is_admin:
        st.code(text or "alerts: []", language="yaml")
        return
    edited = st.text_area(t("alp_rules_yaml"), text or "alerts: []\n", height=360, key="al_yaml")
    reason = st.text_input(t("reason"), key="al_reason")
    c1, c2 = st.columns([1, 4])
    # both buttons drawn before either acts: a refused file must not take "check now" away
    apply = c1.button(t("alp_apply"), key="al_apply", type="primary")
    check = c2.button(t("alp_check_now"), key="al_check")
    if apply:
        try:
            r, _channels = alerts.apply_text(warehouse(), edited, reason=reason or None, user=user())
        except KpiError as exc:
            show_problems(exc)
            return
        flash("success", t("alp_applied", created=len(r.created), updated=len(r.updated),
                           unchanged=len(r.unchanged)))
        st.rerun()
    if check:
        try:
            events = alert_service.check(warehouse(), today=today())
        except KpiError as exc:
            show_problems(exc)
            return
        flash("info", t("alp_checked", n=len(events)))
        st.rerun()


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    v, tr = opened
    ms = metrics(v)
    st.title(t("alerts_page"))
    show_flash()
    # the open tab stays open when a message above it comes or goes (a refused rules file is
    # said in the rules tab, which would otherwise close under the user)
    tabbed([t("alp_states"), t("alp_events"), t("alp_rules")],
           [lambda: states_tab(tr, ms), lambda: events_tab(tr, ms), rules_tab], key="al_tabs")


page()
