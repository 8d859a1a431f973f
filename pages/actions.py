"""行动项 Action items: the actions on the unit's subtree the user may read, with the KPI's movement
since each was opened; a form to open one (prefilled from a link: ?metric=&org=&period=) and
one to close one with its note. kpi_core decides who may; the forms show only to them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kpi_core.model import display as fmt
from kpi_core.model.errors import KpiError
from kpi_core.services import actions as service
from kpi_core.store.actions import Action, Baseline
from pages import through_app
from pages.common import (
    error,
    flash,
    labels,
    md,
    metric_name,
    metrics,
    open_warehouse_tree,
    place_widgets,
    readable,
    show_flash,
    status_text,
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

SHOW = ("open", "overdue", "closed", "all")
LINKED = "ac_linked"  # the last link (?metric=&org=&period=) taken into the form
ORIGIN = "ac_origin"  # the alert the link came from (?ref=alert:RULE:METRIC:ORG:PERIOD)
CLEAR = "ac_clear"  # text fields to empty on the next run, before they are drawn (after a save)


def take_link(tr) -> None:
    """A link from the cockpit (?metric=&org=&period=) or a message (?action=) sets the place and
    prefills the form, once: then the sidebar and the form are the user's again."""
    q = st.query_params
    asked = (q.get("metric"), q.get("org"), q.get("period"), q.get("action"), q.get("ref"))
    if not any(asked) or st.session_state.get(LINKED) == asked:
        return
    st.session_state[LINKED] = asked
    metric, org, period, action, ref = asked
    st.session_state.pop(ORIGIN, None)
    if ref:  # from an alert: the action keeps the alert it answers (a bad reference is ignored)
        try:
            st.session_state[ORIGIN] = service.parse_alert_ref(ref)
        except KpiError:
            pass
    if org in tr and org in readable(tr):
        st.session_state["org"] = org
    if period:
        st.session_state["period"] = period
    if metric:
        st.session_state["ac_metric"] = metric
    if action and action.isdigit():
        st.session_state["ac_pick"] = int(action)
        st.session_state["ac_edit_pick"] = int(action)


def clear_later(*keys: str) -> None:
    """Empty these text fields on the next run: a widget keeps what was typed in the browser, so
    dropping its key is not enough, and it may not be set once drawn in this run."""
    st.session_state.setdefault(CLEAR, []).extend(keys)


def clear_now() -> None:
    for key in st.session_state.pop(CLEAR, []):
        st.session_state[key] = ""
    if st.session_state.pop("ac_retitled", False):
        # a title changed: the pickers keep showing an option's old label in the browser unless
        # their value is set again from here
        for key in ("ac_pick", "ac_edit_pick"):
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]


@st.cache_data(max_entries=256, show_spinner=False)
def move_of(data_version: int, action: Action, today_: dt.date, actor) -> service.Movement:
    return service.movement(warehouse(), action, today_, actor=actor)


def kpi_text(period: str | None, b: Baseline | None, unit) -> str:
    if period is None or b is None:
        return t("status_no_data")
    return f"{status_text(b.status)} · {value(b.actual, unit)} · {fmt.attainment(b.attainment)} ({period})"


def rows(found: list[Action], ms, tr) -> list[dict]:
    out = []
    for a in found:
        m = ms.get(a.metric)
        move = move_of(version(), a, today(), user())
        due = a.due.isoformat()
        out.append({t("ac_col_id"): f"#{a.id}", t("ac_col_title"): a.title,
                    t("metric"): metric_name(m) if m else a.metric, t("org_unit"): unit_label(tr, a.org),
                    t("ac_col_owner"): a.owner,
                    t("ac_col_due"): t("ac_overdue_mark", due=due) if a.overdue(today()) else due,
                    t("ac_col_status"): t("ac_status_" + a.status),
                    t("ac_col_opened"): kpi_text(move.since, move.then, m.unit if m else None),
                    t("ac_col_now"): kpi_text(move.latest, move.now, m.unit if m else None),
                    t("ac_col_trend"): t("ac_trend_" + move.trend),
                    t("ac_col_note"): a.note or ""})
    return out


def listing(tr, org: str) -> list[Action]:
    """The filter and the table; returns the actions on the unit's subtree the user reads."""
    shown = labels({s: t("ac_show_" + s) for s in SHOW})
    which = st.radio(t("ac_show"), SHOW, format_func=shown, horizontal=True, key="ac_show")
    found = service.visible_actions(warehouse(), by=user(), org=org)
    pick = {"open": lambda a: a.status == "open", "overdue": lambda a: a.overdue(today()),
            "closed": lambda a: a.status == "closed", "all": lambda a: True}[which]
    chosen = [a for a in found if pick(a)]
    if not chosen:
        st.info(t("ac_none"))
    else:
        st.dataframe(pd.DataFrame(rows(chosen, metrics(version()), tr)), hide_index=True, width="stretch",
                     placeholder="—", key="ac_table")
    return found


def open_form(tr, org: str, period: str) -> None:
    """Open an action on a KPI of the unit at the page's period (only for those who may)."""
    st.subheader(t("ac_new"))
    if not service.may_manage(user(), tr, org):
        st.caption(t("ac_not_allowed"))
        return
    ms = metrics(version())
    if st.session_state.get("ac_metric") not in ms:
        st.session_state.pop("ac_metric", None)
    owners = service.owners(warehouse(), tr, org)
    st.caption(tm("ac_new_for", unit=unit_label(tr, org), period=period))
    alert = st.session_state.get(ORIGIN)
    if alert is not None:  # from an alert's link: said, so the user knows the action will keep it
        st.info(tm("ac_from_alert", rule=alert.rule, period=alert.period,
                   metric=metric_name(ms[alert.metric]) if alert.metric in ms else alert.metric,
                   unit=unit_label(tr, alert.org) if alert.org in tr else alert.org))
    with st.form("ac_new_form", border=True):
        metric = st.selectbox(t("metric"), list(ms), format_func=labels({c: metric_name(m) for c, m in ms.items()}),
                              key="ac_metric")
        owner = st.selectbox(t("ac_col_owner"), owners, placeholder=t("choose_option"),
                             index=owners.index(user().name) if user().name in owners else 0, key="ac_owner")
        due = st.date_input(t("ac_due"), value=today() + dt.timedelta(days=14), min_value=today(), key="ac_due")
        title = st.text_input(t("ac_title_field"), key="ac_title_text", max_chars=200)
        if not st.form_submit_button(t("ac_submit"), type="primary"):
            return
    from_alert = alert is not None and (alert.metric, alert.org) == (metric, org)
    try:
        a = service.open_action(warehouse(), metric=metric, org=org, period=alert.period if from_alert else period,
                                owner=owner, due=due, title=title, by=user(), today=today(),
                                origin=str(alert) if from_alert else service.CELL)
    except KpiError as exc:
        error(exc)
        return
    flash("success", tm("ac_opened_alert", id=a.id, rule=alert.rule) if from_alert else t("ac_opened", id=a.id))
    clear_later("ac_title_text")
    st.session_state.pop(ORIGIN, None)
    st.rerun()


def picker(actions: list[Action], key: str):
    """The ids a picker offers and their labels ("#id title", plain text); the picker keeps its
    choice while it is still offered, else the first."""
    ids = [a.id for a in actions]
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    return ids, labels({a.id: f"#{a.id} {a.title}" for a in actions})


def close_form(tr, found: list[Action]) -> None:
    """Close one of the open actions the user may close, with its note."""
    closable = [a for a in found if a.status == "open" and service.may_close(user(), tr, a)]
    if not closable:
        return
    st.subheader(t("ac_close_head"))
    ids, shown = picker(closable, "ac_pick")
    with st.form("ac_close_form", border=True):
        action_id = st.selectbox(t("ac_pick"), ids, format_func=shown, key="ac_pick")
        note = st.text_area(t("ac_note"), key="ac_note_text", max_chars=4000)
        if not st.form_submit_button(t("ac_close_button")):
            return
    try:
        service.close(warehouse(), action_id, note=note, by=user())
    except KpiError as exc:
        error(exc)
        return
    flash("success", t("ac_closed", id=action_id))
    clear_later("ac_note_text")
    st.rerun()


def edit_form(tr, found: list[Action]) -> None:
    """Change the owner, due date or title of an open action the user manages."""
    editable = [a for a in found if a.status == "open" and service.may_manage(user(), tr, a.org)]
    if not editable:
        return
    st.subheader(t("ac_edit_head"))
    ids, shown = picker(editable, "ac_edit_pick")
    action_id = st.selectbox(t("ac_pick"), ids, format_func=shown, key="ac_edit_pick")
    a = next(x for x in editable if x.id == action_id)
    owners = service.owners(warehouse(), tr, a.org)
    if a.owner not in owners:
        owners = [a.owner, *owners]
    with st.form(f"ac_edit_form_{a.id}", border=True):
        owner = st.selectbox(t("ac_col_owner"), owners, index=owners.index(a.owner), key=f"ac_edit_owner_{a.id}")
        due = st.date_input(t("ac_due"), value=a.due, min_value=min(a.due, today()), key=f"ac_edit_due_{a.id}")
        title = st.text_input(t("ac_title_field"), value=a.title, max_chars=200, key=f"ac_edit_title_{a.id}")
        if not st.form_submit_button(t("ac_edit_button")):
            return
    try:
        service.edit(warehouse(), a.id, by=user(), today=today(), owner=owner if owner != a.owner else None,
                     due=due if due != a.due else None, title=title if title != a.title else None)
    except KpiError as exc:
        error(exc)
        return
    flash("success", t("ac_edited", id=a.id))
    st.session_state["ac_retitled"] = title != a.title
    st.rerun()


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    _v, tr = opened
    take_link(tr)
    place = place_widgets(tr)
    st.title(f"{t('ac_title')} · {md(tr.units[place.org].name)}")
    st.caption(t("ac_intro"))
    show_flash()
    clear_now()
    found = listing(tr, place.org)
    open_form(tr, place.org, place.period)
    edit_form(tr, found)
    close_form(tr, found)


page()
