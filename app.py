"""KPI Cockpit (绩效驾驶舱): the Streamlit frame — sign-in, language, navigation by role."""

from __future__ import annotations

import re

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.util import calc_hash

from kpi_core.auth import users
from kpi_core.model.errors import WarehouseBusy
from kpi_core.present.i18n import LANGS
from kpi_core.store import outbox, prefs
from pages import login, through_app
from pages.common import start_jobs, t, tm, uploader_style, warehouse
from pages.nav import PAGES, menu

through_app()  # the first run of a new server comes here in Streamlit's legacy folder mode

# An emoji icon: a :material/…: one makes the browser fetch it from fonts.gstatic.com, and the app
# makes no request outside its own origin (companies run it inside their network).
st.set_page_config(page_title="绩效驾驶舱 KPI Cockpit", layout="wide", page_icon="📊")
start_jobs()  # alert checks, deliveries, subscriptions, reminders: once per process

try:
    if "actor" not in st.session_state:
        login.resume()
    else:
        login.recheck()  # every click: a disabled user or a changed role takes effect at once
except WarehouseBusy:
    st.warning(t("busy"))
    st.stop()
actor = st.session_state.get("actor")


def remember_lang() -> None:
    if actor is None:
        return
    try:
        prefs.put(warehouse(), actor.name, "lang", st.session_state["lang"])
    except WarehouseBusy:  # an import holds the warehouse: the switch still applies to this session
        pass


def sign_out() -> None:
    users.log_out(warehouse(), actor.name, st.session_state.get("session_token"))
    login.end_session()
    if getattr(st.user, "is_logged_in", False):
        st.logout()


if "lang" not in st.session_state:  # a shared link may carry the language
    asked = st.query_params.get("lang")
    st.session_state["lang_asked"] = asked in LANGS
    st.session_state["lang"] = asked if asked in LANGS else "zh"
if st.session_state.pop("just_signed_in", False) and not st.session_state["lang_asked"]:
    st.session_state["lang"] = prefs.get(warehouse(), actor.name, "lang") or st.session_state["lang"]
with st.sidebar:
    # A fixed label: a label that changed with the language would make Streamlit see a new widget.
    st.radio("语言 / Language", LANGS, key="lang", horizontal=True, on_change=remember_lang,
             format_func=lambda x: {"zh": "中文", "en": "English"}[x])
st.query_params["lang"] = st.session_state["lang"]
# Streamlit's file uploader has no words of ours ("Upload", "200MB per file"): they are replaced
# by the UI language's, from the catalogs (a style only; nothing a user typed goes in it).
st.html(uploader_style(t("uploader_button"), t("uploader_limit", mb=st.get_option("server.maxUploadSize"))))

if actor is None:
    # Signed out: the sign-in page in place of any page, so a deep link still lands after sign-in.
    st.navigation([st.Page(path, title=t(title), url_path=key, default=key == "cockpit")
                   for key, (path, title, _icon, _roles) in PAGES.items()], position="hidden")
    login.page()
    st.stop()

with st.sidebar:
    login.cookie_script()
    st.caption(tm("signed_in_as", name=actor.name, role=t(f"role_{actor.role}")))
    st.button(t("sign_out"), on_click=sign_out, key="sign_out", type="tertiary", icon=":material/logout:")

ADDRESS = re.compile(r"[a-z0-9_-]{1,40}")  # what a page's address may be (anything else: Streamlit's own answer)


def refused_page() -> str | None:
    """The page a link asked for when this user's menu has no such page (said, not silently
    replaced by the cockpit). A link names it by path; a rerun after sign-in by its hash."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    by_hash = {calc_hash(key): key for key in PAGES}
    asked = ctx.pages_manager.intended_page_name or by_hash.get(ctx.pages_manager.intended_page_script_hash or "")
    if not asked or asked in menu(actor.role):
        return None
    return asked


def title(key: str) -> str:
    """A page's menu title; the inbox's carries the unread count (the sidebar's badge)."""
    if key == "inbox":
        try:
            n = outbox.unread(warehouse(), actor.name)
        except WarehouseBusy:
            n = 0
        if n:
            return t("inbox_count", n=n)
    return t(PAGES[key][1])


def refuse(asked: str) -> st.Page:
    """A stand-in at the refused page's address: without it Streamlit would say "Page not found" in
    English; it notes what was asked and opens the cockpit, which says so in the UI language."""
    def go_home() -> None:
        st.session_state["_refused"] = asked
        st.switch_page(PAGES["cockpit"][0])
    # its menu entry is hidden: the page is not this user's, the stand-in only answers the link
    st.html(f"<style>[data-testid='stSidebarNavLink'][href$='/{asked}']{{display:none}}</style>")
    return st.Page(go_home, title=asked, url_path=asked)


asked = refused_page()
pages = [st.Page(PAGES[key][0], title=title(key), icon=PAGES[key][2], default=key == "cockpit", url_path=key)
         for key in menu(actor.role)]
if asked and ADDRESS.fullmatch(asked):
    pages.append(refuse(asked))
page = st.navigation(pages, expanded=True)  # every page of the menu shown (past 12, Streamlit folds the rest)
asked = st.session_state.pop("_refused", None) or asked
if asked in PAGES:
    sep = "、" if st.session_state["lang"] == "zh" else ", "
    roles = sep.join(t(f"role_{r}") for r in sorted(PAGES[asked][3] or ()))
    st.warning(tm("page_refused", page=t(PAGES[asked][1]), roles=roles))
elif asked:
    st.warning(tm("page_unknown", page=asked))
page.run()
