"""通知渠道 Channels (a tab of the admin page): the channels with whether each secret is set, a form
to add or edit one (fields by kind; a secret field that never shows the secret), a test button,
and the dead letters with a retry button. The work is kpi_core/store/channels.py and
kpi_core/services/delivery.py.

A typed secret lives only in its widget until saved: saving renews the widget, so the value is
dropped from the session; what is shown afterwards is only "set" or "not set".
"""

from __future__ import annotations

import urllib.parse

import pandas as pd
import streamlit as st

from kpi_core.model.channel import KINDS, SECURITIES
from kpi_core.model.errors import KpiError
from kpi_core.services import delivery
from kpi_core.store import channels, deliveries
from pages import through_app
from pages.common import error, flash, labels, lang, md, renew, renewed, show_problems, t, user, warehouse

through_app()  # never straight from this folder: see pages/__init__.py

NEW = ""
BRANDS = {"slack": "Slack", "lark": "Lark"}  # product names, the same in every language
TESTED = "ch_tested"  # the last test's outcome, shown under the form


def where(info: channels.ChannelInfo) -> str:
    """Where a channel sends, without a URL's query (it often holds an access token)."""
    ch = info.channel
    if ch.kind == "email":
        return f"{ch.host}:{ch.smtp_port}"
    parts = urllib.parse.urlsplit(ch.url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def channels_section() -> None:
    st.subheader(t("ch_title"))
    st.caption(t("ch_help"))
    infos = channels.list_channels(warehouse(), user=user())
    kind_names = {k: t(f"ch_kind_{k}", name=BRANDS.get(k, "")) for k in KINDS}
    if infos:
        st.dataframe(pd.DataFrame([{
            t("ch_name"): i.channel.name, t("ch_kind"): kind_names[i.channel.kind], t("ch_where"): where(i),
            t("ch_default"): "✔" if i.channel.default else "",
            t("ch_secret"): t("ch_secret_set") if i.secret_set else t("ch_secret_not_set")} for i in infos]),
            hide_index=True, width="stretch", placeholder="—", key="ch_table")
    else:
        st.caption(t("ch_none"))
    edit_form({i.channel.name: i for i in infos}, kind_names)
    dead_letters()


def edit_form(infos: dict[str, channels.ChannelInfo], kind_names: dict[str, str]) -> None:
    st.markdown(f"**{t('ch_edit')}**")
    if "ch_pick_next" in st.session_state:  # the channel just saved (or none after removing), chosen before drawing
        st.session_state["ch_pick"] = st.session_state.pop("ch_pick_next")
    c1, c2 = st.columns(2)
    pick = c1.selectbox(t("ch_pick"), [NEW, *infos], key="ch_pick",
                        format_func=labels({NEW: t("ch_new"), **{n: n for n in infos}}))
    info = infos.get(pick)
    ch = info.channel if info else None
    kind = c2.selectbox(t("ch_kind"), KINDS, index=KINDS.index(ch.kind) if ch else 0, key=f"ch_kind_{pick}",
                        format_func=labels(kind_names))
    with st.form(f"ch_form_{pick}_{kind}"):
        name = st.text_input(t("ch_name"), value=ch.name if ch else "", disabled=ch is not None,
                             help=t("ch_name_help"))
        raw: dict = {"name": (ch.name if ch else name.strip()), "kind": kind}
        if kind == "email":
            e1, e2, e3 = st.columns([3, 1, 1])
            raw["host"] = e1.text_input(t("ch_host"), value=(ch.host or "") if ch else "").strip() or None
            port = e2.number_input(t("ch_port"), min_value=0, max_value=65535, value=(ch.port or 0) if ch else 0,
                                   help=t("ch_port_help"))
            raw["port"] = int(port) or None
            sec = e3.selectbox(t("ch_security"), SECURITIES, index=SECURITIES.index(ch.security) if ch else 0,
                               format_func=labels({s: t(f"ch_security_{s}") for s in SECURITIES}))
            raw["security"] = sec
            f1, f2 = st.columns(2)
            raw["sender"] = f1.text_input(t("ch_sender"), value=(ch.sender or "") if ch else "").strip() or None
            raw["username"] = f2.text_input(t("ch_username"), value=(ch.username or "") if ch else "").strip() or None
            to = st.text_input(t("ch_to"), value=", ".join(ch.to) if ch else "", help=t("ch_to_help"))
            raw["to"] = [a.strip() for a in to.replace(";", ",").split(",") if a.strip()]
            raw["password_env"] = st.text_input(t("ch_env"), value=(ch.password_env or "") if ch else "",
                                                help=t("ch_env_help")).strip() or None
            raw["default"] = st.checkbox(t("ch_default_help"), value=ch.default if ch else False)
        elif info is not None and ch.url and where(info) != ch.url:
            # a saved URL's query (often an access token) is not shown back, like the secret
            typed = st.text_input(t("ch_url"), value="", placeholder=f"{where(info)}?…", help=t("ch_url_kept"),
                                  key=renew(f"ch_url_{pick}"))
            raw["url"] = typed.strip() or ch.url
            raw["secret_env"] = st.text_input(t("ch_env"), value=ch.secret_env or "",
                                              help=t("ch_env_help")).strip() or None
        else:
            raw["url"] = st.text_input(t("ch_url"), value=(ch.url or "") if ch else "").strip() or None
            raw["secret_env"] = st.text_input(t("ch_env"), value=(ch.secret_env or "") if ch else "",
                                              help=t("ch_env_help")).strip() or None
        state = t("ch_secret_set") if info and info.secret_set else t("ch_secret_not_set")
        secret = st.text_input(t("ch_secret_field", state=state), type="password", key=renew(f"ch_secret_{pick}"),
                               help=t("ch_secret_help"))
        b1, b2, b3, _ = st.columns([1, 1, 1, 3])
        save = b1.form_submit_button(t("ch_save"), type="primary")
        test = b2.form_submit_button(t("ch_test"), disabled=ch is None)
        remove = b3.form_submit_button(t("ch_remove"), disabled=ch is None)
    if save:
        renewed(f"ch_secret_{pick}")  # the typed secret leaves the session whatever happens next
        renewed(f"ch_url_{pick}")  # and so does a typed URL that is not shown back
        try:
            saved = channels.save(warehouse(), {k: v for k, v in raw.items() if v not in (None, [], False)}
                                  | ({"default": True} if raw.get("default") else {}), user=user())
            if secret.strip():
                channels.set_secret(warehouse(), saved.name, secret, user=user())
        except KpiError as exc:
            show_problems(exc)
            return
        st.session_state["ch_pick_next"] = saved.name
        st.session_state.pop(TESTED, None)  # a test of the channel as it was says nothing about it now
        flash("success", t("ch_saved", name=md(saved.name)))
        st.rerun()
    if test and ch is not None:
        got = delivery.test(warehouse(), ch.name, user(), lang=lang())
        st.session_state[TESTED] = {"name": ch.name, "status": got.status, "error": got.error}
    if remove and ch is not None:
        try:
            channels.remove(warehouse(), ch.name, user=user())
        except KpiError as exc:
            error(exc)
            return
        st.session_state["ch_pick_next"] = NEW
        st.session_state.pop(TESTED, None)
        flash("success", t("ch_removed", name=md(ch.name)))
        st.rerun()
    shown = st.session_state.get(TESTED)
    if shown and shown["name"] == pick:
        if shown["status"] == "sent":
            st.success(t("ch_test_sent", name=md(shown["name"])))
        else:
            st.error(t("ch_test_failed", name=md(shown["name"]), error=md(shown["error"] or "")))


def dead_letters() -> None:
    st.markdown(f"**{t('ch_dead')}**")
    dead = deliveries.letters(warehouse(), user=user())
    if not dead:
        st.caption(t("ch_no_dead"))
        return
    st.dataframe(pd.DataFrame([{
        "#": d.id, t("ch_name"): d.channel, t("ch_address"): d.address or "—", t("ch_subject"): d.subject,
        t("ch_attempts"): d.attempts, t("ch_error"): d.last_error or "—",
        t("ch_created"): d.created_at.strftime("%Y-%m-%d %H:%M")} for d in dead]),
        hide_index=True, width="stretch", placeholder="—", key="ch_dead_table")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    oid = c1.selectbox(t("ch_retry_which"), [d.id for d in dead], key="ch_retry_id",
                       format_func=labels({d.id: f"#{d.id} · {d.channel} · {d.subject}" for d in dead}))
    if c2.button(t("ch_retry"), key="ch_retry"):
        try:
            delivery.retry(warehouse(), int(oid), user=user())
        except KpiError as exc:
            error(exc)
            return
        st.session_state.pop(TESTED, None)
        flash("success", t("ch_retried", id=oid))
        st.rerun()
