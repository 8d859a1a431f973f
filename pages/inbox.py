"""消息 Inbox: what the product told the signed-in user — alerts, subscriptions, action reminders —
read or unread, each with its table and a link to the place it is about; and the user's
subscriptions (a board or a cockpit place, sent on a schedule or after each import)."""

from __future__ import annotations

import urllib.parse

import pandas as pd
import streamlit as st

from kpi_core.jobs import subscriptions as subs
from kpi_core.model.errors import KpiError
from kpi_core.model.subscription import WEEKDAYS, Schedule
from kpi_core.store import boards, outbox
from kpi_core.store import subscriptions as sub_store
from kpi_core.store.warehouse import now
from pages import through_app
from pages.common import (
    flash,
    labels,
    md,
    open_warehouse_tree,
    readable,
    show_flash,
    show_problems,
    t,
    tabbed,
    tm,
    unit_label,
    user,
    warehouse,
)
from pages.nav import PAGES, menu

through_app()  # never straight from this folder: see pages/__init__.py

SCHEDULES: tuple[str, ...] = Schedule.__args__  # type: ignore[attr-defined]


def mark(ids: list[int] | None, read: bool = True) -> None:
    outbox.mark_read(warehouse(), user().name, ids, now=now(), read=read)


def target(link: str | None) -> tuple[str, dict[str, str]] | None:
    """The page and query of a message's app-relative link: "?org=…" (the cockpit), "boards?board=…",
    "actions?action=…", "?page=admin"; None when it names no page in the user's menu."""
    if not link:
        return None
    path, _, query = link.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    key = path.strip("/") or params.pop("page", "") or "cockpit"
    if key not in PAGES or key not in menu(user().role):
        return None
    return PAGES[key][0], params


def messages() -> None:
    me = user().name
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    only_unread = c1.toggle(t("inbox_unread_only"), key="inbox_unread")
    c2.button(t("inbox_read_all"), key="inbox_read_all", on_click=mark, args=(None,),
              disabled=outbox.unread(warehouse(), me) == 0)
    items = outbox.inbox(warehouse(), me, unread_only=only_unread, limit=200)
    if not items:
        st.info(t("inbox_empty_unread" if only_unread else "inbox_empty"))
        return
    for m in items:
        new = m.read_at is None
        head = f"{'● ' if new else ''}{md(m.subject)} · {t('inbox_kind_' + m.kind)} · {m.created_at:%Y-%m-%d %H:%M}"
        with st.expander(head, expanded=False, key=f"inbox_msg_{m.id}"):  # stays open when marked read
            st.text(m.body)
            c1, c2 = st.columns([1, 4], vertical_alignment="center")
            c1.button(t("inbox_mark_read" if new else "inbox_mark_unread"), key=f"inbox_toggle_{m.id}",
                      on_click=mark, args=([m.id], new))
            found = target(m.link)
            if found is not None:
                c2.page_link(found[0], label=t("inbox_open"), query_params=found[1])


def subscriptions(tr) -> None:
    me = user()
    mine = sub_store.listed(warehouse(), me.name)
    seen = boards.visible(warehouse(), me, tree=tr)
    titles = {b.code: b.title for b in seen}  # a board by its title, as on the boards page
    if mine:
        rows = [{t("sub_what"): t("sub_item", kind=t("boards"), name=titles.get(s.sub.board, s.sub.board))
                 if s.sub.board
                 else t("sub_item", kind=t("cockpit"), name=unit_label(tr, s.sub.cockpit)),
                 t("sub_schedule"): t("sub_schedule_" + s.sub.schedule),
                 t("sub_last_sent"): f"{s.last_sent_at:%Y-%m-%d %H:%M}" if s.last_sent_at else "—"} for s in mine]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        keys = [s.sub.key for s in mine]
        shown = labels({s.sub.key: rows[i][t("sub_what")] for i, s in enumerate(mine)})
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(t("sub_pick"), keys, format_func=shown, key="sub_remove_pick")
        if c2.button(t("sub_remove"), key="sub_remove"):
            try:
                subs.remove(warehouse(), pick, by=me)
            except KpiError as exc:
                show_problems(exc)
            else:
                flash("success", tm("sub_removed", what=shown(pick)))
                st.rerun()
    else:
        st.info(t("sub_none"))
    with st.form("sub_new"):
        st.markdown(f"**{t('sub_new')}**")
        kind = st.radio(t("sub_what"), ["cockpit", "board"], horizontal=True, key="sub_kind",
                        format_func=labels({"cockpit": t("cockpit"), "board": t("boards")}))
        units = readable(tr)
        org = st.selectbox(t("org_unit"), units, key="sub_org",
                           format_func=labels({c: unit_label(tr, c) for c in units}))
        board = st.selectbox(t("boards"), [b.code for b in seen], key="sub_board", placeholder=t("choose_option"),
                             format_func=labels({b.code: md(b.title) for b in seen}))
        c1, c2, c3, c4 = st.columns(4)
        schedule = c1.selectbox(t("sub_schedule"), SCHEDULES, index=1, key="sub_schedule",
                                format_func=labels({s: t("sub_schedule_" + s) for s in SCHEDULES}))
        at = c2.time_input(t("sub_at"), value=pd.Timestamp("08:00").time(), key="sub_at", step=900)
        weekday = c3.selectbox(t("sub_weekday"), WEEKDAYS, key="sub_weekday",
                               format_func=labels({d: t("sub_weekday_" + d) for d in WEEKDAYS}))
        day = c4.number_input(t("sub_day"), 1, 28, 1, key="sub_day")
        st.caption(t("sub_hint"))
        if st.form_submit_button(t("sub_save"), type="primary"):
            item = {"user": me.name, "schedule": schedule, "at": f"{at:%H:%M}", "weekday": weekday, "day": int(day)}
            item.update({"board": board} if kind == "board" else {"cockpit": org})
            if kind == "board" and not board:
                st.error(t("sub_no_board"))
                return
            try:
                subs.apply(warehouse(), [item], by=me)
            except KpiError as exc:
                show_problems(exc)
            else:
                flash("success", t("sub_saved"))
                st.rerun()


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    _v, tr = opened
    st.title(t("inbox"))
    show_flash()
    tabbed([t("inbox_messages"), t("sub_mine")], [messages, lambda: subscriptions(tr)], key="inbox_tabs")


page()
