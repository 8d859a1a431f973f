"""The sign-in page: local users (argon2 hashes), optional single sign-on via `st.login`, and
the first-run form that creates the administrator (only while no active admin exists)."""

from __future__ import annotations

import streamlit as st

from kpi_core.auth import users
from kpi_core.model.config import session_hours
from kpi_core.model.errors import KpiError
from pages import through_app
from pages.common import error, t, warehouse

through_app()  # never straight from this folder: see pages/__init__.py


def sso_configured() -> bool:
    """Single sign-on is on when .streamlit/secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all  # noqa: BLE001
        return False


COOKIE = "kpi_session"


def _signed_in(actor) -> None:
    token = users.start_session(warehouse(), actor)
    st.session_state.update(actor=actor, session_token=token, set_cookie=token, just_signed_in=True)
    st.rerun()


def resume() -> None:
    """A browser that signed in before (its session cookie) is signed in again on a new page load."""
    token = st.context.cookies.get(COOKIE)
    actor = users.resume(warehouse(), token) if token else None
    if actor is not None:
        st.session_state.update(actor=actor, session_token=token)


def recheck() -> bool:
    """On every rerun, in every open tab: the session must still be live (SPEC §7), and the user
    acts with their role and units as they are now. A user disabled, given a new password or
    signed out elsewhere lands on the sign-in page at their next click."""
    token = st.session_state.get("session_token")
    actor = users.resume(warehouse(), token) if token else None
    if actor is None:
        end_session(ended=True)
        return False
    st.session_state["actor"] = actor
    return True


def live_user():
    """The signed-in user, checked again: for work that runs outside a full rerun (a live
    fragment's timer, a download built on click). A session that has ended reruns the app,
    which shows the sign-in page."""
    if not recheck():
        st.rerun(scope="app")
    return st.session_state["actor"]


def deferred(build):
    """A download's bytes built when clicked, as the user they are built for. Streamlit calls
    the function outside the script run (no session state there), so the session token is taken
    now and checked again then: a session ended meanwhile gets an empty file, never the data."""
    token = st.session_state.get("session_token")
    wh = warehouse()

    def run() -> bytes:
        actor = users.resume(wh, token) if token else None
        return build(actor) if actor is not None else b""
    return run


def end_session(*, ended: bool = False) -> None:
    """Forget who is signed in, in this browser tab (the language stays)."""
    for key in list(st.session_state):
        if key not in ("lang", "lang_asked"):
            del st.session_state[key]
    st.session_state["clear_cookie"] = True
    if ended:
        st.session_state["session_ended"] = True


def cookie_script() -> None:
    """Set or clear the session cookie in the browser (Streamlit's server cannot set one itself).

    The token is random URL-safe text, so it needs no quoting; the cookie is SameSite=Strict,
    Secure over HTTPS, and lives as long as the server-side session."""
    token = st.session_state.pop("set_cookie", None)
    if token:
        body = f"{COOKIE}={token}; path=/; max-age={int(session_hours() * 3600)}; SameSite=Strict"
    elif st.session_state.pop("clear_cookie", False):
        body = f"{COOKIE}=; path=/; max-age=0; SameSite=Strict"
    else:
        return
    # Secure whenever the app is served over HTTPS, so the token never travels in clear text there.
    script = f"document.cookie = {body!r} + (location.protocol === 'https:' ? '; Secure' : '');"
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True, width=1)


def _sso() -> None:
    if getattr(st.user, "is_logged_in", False):  # back from the identity provider
        try:
            _signed_in(users.by_email(warehouse(), st.user.get("email")))
        except KpiError as exc:
            error(exc)
            st.button(t("sign_out"), on_click=st.logout)
        return
    st.button(t("sso"), on_click=st.login, type="primary")
    st.divider()


def _first_admin() -> None:
    st.info(t("first_run"))
    with st.form("first_admin"):
        name = st.text_input(t("user_name"), key="fa_name", help=t("user_name_rule"))
        pw = st.text_input(t("password"), type="password", key="fa_pw", help=t("password_rule", n=users.MIN_PASSWORD))
        st.caption(t("password_rule", n=users.MIN_PASSWORD))
        pw2 = st.text_input(t("password_again"), type="password", key="fa_pw2")
        if st.form_submit_button(t("create_admin"), type="primary"):
            if pw != pw2:
                st.error(t("passwords_differ"))
                return
            try:
                users.add(warehouse(), name.strip(), "admin", password=pw, by=name.strip() or "?", first_admin=True)
                _signed_in(users.authenticate(warehouse(), name.strip(), pw))
            except KpiError as exc:
                error(exc)


def page() -> None:
    cookie_script()
    st.title(t("sign_in_title"))
    if st.session_state.pop("session_ended", False):
        st.warning(t("session_ended"))
    if sso_configured():
        _sso()
    if not users.has_admin(warehouse()):
        _first_admin()
        return
    with st.form("sign_in"):
        name = st.text_input(t("user_name"), key="login_name")
        pw = st.text_input(t("password"), type="password", key="login_pw")
        if st.form_submit_button(t("sign_in"), type="primary"):
            try:
                actor = users.authenticate(warehouse(), name.strip(), pw)
            except KpiError as exc:
                error(exc)
            else:
                _signed_in(actor)
