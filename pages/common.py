"""What every page shares: the warehouse, the language, the place in the URL, cached reads.

Pages only lay out widgets; numbers come from kpi_core. Cached reads key on the warehouse data
version, which every import bumps, so a page shows new data on its next render.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kpi_core.jobs import schedule
from kpi_core.model import access
from kpi_core.model import display as fmt
from kpi_core.model.access import Actor
from kpi_core.model.config import jobs_enabled, warehouse_path
from kpi_core.model.errors import WarehouseBusy
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import period_choice
from kpi_core.model.text import visible
from kpi_core.present import cockpit
from kpi_core.present.i18n import problem_text, rule_text
from kpi_core.present.i18n import t as _t
from kpi_core.query.api import context, latest_month
from kpi_core.store.warehouse import Warehouse
from pages import through_app

through_app()  # never straight from this folder: see pages/__init__.py

# Okabe–Ito colours, told apart by colour-blind readers, and a symbol for each status so the
# colour is never the only cue.
STATUS_STYLE = {
    "green": ("#009E73", "✔"), "amber": ("#E69F00", "▲"), "red": ("#D55E00", "✖"),
    "no_data": ("#999999", "○"), "no_target": ("#56B4E9", "–"),
}
BADGE_COLOR = {"green": "green", "amber": "orange", "red": "red", "no_data": "gray", "no_target": "blue"}


def warehouse() -> Warehouse:
    """One Warehouse per app process and file; it hands out short-lived connections (see warehouse.py)."""
    return _warehouse(str(warehouse_path()))


@st.cache_resource
def _warehouse(path: str) -> Warehouse:
    wh = Warehouse(path, timeout=10)
    wh.migrate()
    return wh


def start_jobs() -> None:
    """The scheduler (alert checks, deliveries, subscriptions, reminders) in this process, started
    once; `serve.py` starts it with the server, this at the first visit otherwise. $KPI_JOBS=off
    leaves it out."""
    if jobs_enabled():
        _jobs(str(warehouse_path()))


@st.cache_resource(show_spinner=False)
def _jobs(path: str) -> bool:
    schedule.start(_warehouse(path))
    return True


def lang() -> str:
    return st.session_state.get("lang", "zh")


def t(key: str, **kw) -> str:
    text = _t(key, lang())
    return text.format(**kw) if kw else text


def today() -> dt.date:
    """The app's today; KPI_TODAY pins it for demos and tests."""
    import os

    pinned = os.environ.get("KPI_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def version() -> int:
    """The data version, read once per script run (a page shows one version throughout, and its
    widgets, breadcrumbs and tiles ask for it several times), and again after a write of this
    process within the run. A fragment's run is a run of its own."""
    wh = warehouse()
    ctx = get_script_run_ctx()
    if ctx is None:
        return wh.data_version()
    held = getattr(ctx, "kpi_version", None)
    if held is not None and held[0] is ctx.cursors and held[1] == wh.commits:  # cursors: new each run
        return held[2]
    commits, found = wh.commits, wh.data_version()
    ctx.kpi_version = (ctx.cursors, commits, found)
    return found


# The org tree, the dictionary and a cockpit are shared objects (st.cache_resource), not copies:
# they are read-only by contract (the query layer holds the same tree and dictionary), and a copy
# per view cost a pickle round trip and the tree's name index built again (~15 ms a cockpit view).
@st.cache_resource(max_entries=16, show_spinner=False)
def tree(data_version: int) -> OrgTree:
    return context(warehouse())[0]


@st.cache_data(max_entries=16, show_spinner=False)
def latest(data_version: int, today_: dt.date) -> str | None:
    """The latest month with data (pages open on it), not after today's month."""
    return latest_month(warehouse(), today_)


@st.cache_resource(max_entries=16, show_spinner=False)
def metrics(data_version: int) -> dict:
    return context(warehouse())[1]


@st.cache_resource(max_entries=64, show_spinner=False)
def cockpit_data(data_version: int, unit: str, period: str, today_: dt.date, actor: Actor) -> cockpit.Cockpit:
    wh = warehouse()
    return cockpit.build(wh, tree(data_version), unit, period, today=today_, actor=actor)


def unit_label(tr: OrgTree, code: str) -> str:
    u = tr.units.get(code)
    return f"{u.name} ({code})" if u else code


def metric_name(m) -> str:
    return m.display_name(lang())


def status_text(status: str) -> str:
    return f"{STATUS_STYLE[status][1]} {t('status_' + status)}"


def value(v, unit) -> str:
    return fmt.value(v, unit, lang())


def target_text(cell, m) -> str:
    """The target as shown: a range for in-range metrics, else the value."""
    return range_or(m, value(cell.target, m.unit))


def range_or(m, shown: str) -> str:
    """An in-range metric's range (its target), else what is shown already."""
    if m.direction == "in_range" and m.range:
        return f"{value(m.range.low, m.unit)} – {value(m.range.high, m.unit)}"
    return shown


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$@])")
# Where GFM turns plain text into a link after escapes are read (http://…, www.…, a@b.c): a word
# joiner there, which shows nothing, keeps it text.
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=www)(?=\.)|(?<=@)")


def md(text: object) -> str:
    """User text made inert for Streamlit's markdown (titles, captions, messages, widget labels
    and help): every markdown, colour (`:red[…]`), icon and maths character is escaped, web and
    mail addresses are kept from turning into links, and line breaks become spaces, so a name
    or a cell cannot become a link, an image fetched from elsewhere, a heading or formatting.
    Invisible characters show escaped (\\u200b). (Raw HTML is never enabled anywhere.)"""
    plain = visible(" ".join(str(text).splitlines()))
    return _MARKDOWN.sub(r"\\\1", _AUTOLINK.sub("\u2060", plain))


def tm(key: str, **params) -> str:
    """A UI string for a place that renders markdown, its parameters (names, file names,
    messages quoting a cell) made inert by md."""
    return t(key, **{k: md(v) if isinstance(v, str) else v for k, v in params.items()})


def error(exc: object) -> None:
    """A refusal from kpi_core, in the UI language, as plain text."""
    st.error(md(problem_text(exc, lang())))


def rule(text: str) -> str:
    """A status rule in the UI language (plain: pass it through md where markdown renders)."""
    return rule_text(text, lang())


def user() -> Actor:
    """The signed-in user: app.py runs no page without one, and checks the session each run."""
    return st.session_state["actor"]


def readable(tr: OrgTree) -> list[str]:
    """The units the signed-in user may read, in tree order."""
    return access.visible_units(user(), tr, tr.subtree(tr.root))


def version_or_busy() -> int | None:
    """The data version, or None after telling the user an import holds the warehouse."""
    try:
        return version()
    except WarehouseBusy:
        st.warning(t("busy"))
        return None


def open_warehouse_tree() -> tuple[int, OrgTree] | None:
    """(data version, org tree) for a page, or None after saying why the page cannot show
    (the warehouse is busy, or holds no org tree yet)."""
    v = version_or_busy()
    if v is None:
        return None
    tr = tree(v)
    if tr.root is None:
        empty_company()
        return None
    return v, tr


def empty_company() -> None:
    """An empty warehouse: the admin is led to the guided start, anyone else told to ask them."""
    if user().is_admin:
        st.info(t("empty_warehouse_admin"))
        st.page_link("pages/start.py", label=t("start"), icon=":material/rocket_launch:")
    else:
        st.info(t("empty_warehouse_ask"))


def show_problems(exc) -> None:
    """A refused change: the summary, then each problem (ValidationFailed lists them)."""
    error(exc)
    for p in getattr(exc, "problems", []):
        st.markdown(f"- {md(problem_text(p, lang()))}")


def uploader_style(button: str, limit: str) -> str:
    """CSS that shows `button` and `limit` in place of Streamlit's English uploader words."""
    def css_text(text: str) -> str:  # a CSS string: only our catalog's words, quotes and backslashes escaped
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    drop = '[data-testid="stFileUploaderDropzone"]'
    return (f"<style>{drop} button p, {drop} [data-testid='stFileUploaderDropzoneInstructions'] span"
            "{font-size:0 !important}"
            f"{drop} button p::after{{content:{css_text(button)};font-size:0.875rem}}"
            f"{drop} [data-testid='stFileUploaderDropzoneInstructions'] span::after"
            f"{{content:{css_text(limit)};font-size:0.875rem}}</style>")


def flash(kind: str, text: str) -> None:
    """A message that outlives the rerun after an action: the page is drawn again from fresh data
    (no stale table, preview or button) and says what was done at the top."""
    st.session_state.setdefault("_flash", []).append((kind, text))


def show_flash() -> None:
    """The messages left by the last action (see flash), shown once."""
    for kind, what in st.session_state.pop("_flash", []):
        if kind == "table":  # rows of plain values, e.g. a reconciliation after a cascade
            st.dataframe(pd.DataFrame(what), hide_index=True, width="stretch", placeholder="—")
        else:
            getattr(st, kind)(what)


def tabbed(names: Sequence[str], draws: Sequence[Callable[[], None]], *, key: str, default: str | None = None) -> None:
    """Tabs whose open one the server keeps (on_change="rerun"): a message that comes or goes
    above them, or the rerun after an action inside one, leaves the same tab open (a tab kept only
    by the browser went back to the first now and then). Only the open tab is built."""
    for tab, draw in zip(st.tabs(list(names), key=key, default=default, on_change="rerun"), draws, strict=True):
        if tab.open is not False:  # None: the tabs keep no state here (then all are built)
            with tab:
                draw()


def renew(key: str) -> str:
    """A widget key that changes after an action, so the widget starts empty (an uploader that
    has done its work does not offer the same file again)."""
    n = st.session_state.get(f"_renew_{key}", 0)
    return f"{key}_{n}"


def renewed(key: str) -> None:
    st.session_state[f"_renew_{key}"] = st.session_state.get(f"_renew_{key}", 0) + 1


def labels(shown: dict):
    """A format_func over labels made now, in this render's language: widget labels must not
    look the language up later (Streamlit may format an option outside the script run)."""
    return lambda v: shown.get(v, str(v))


def goto(**params) -> None:
    """Move to another place: the URL's query parameters change and the page reruns."""
    for k, v in params.items():
        st.session_state[k] = v


PLACE = "place_kept"  # the unit and period last shown, carried from page to page


def place_widgets(tr: OrgTree) -> cockpit.Place:
    """The shared filters (org unit, period) in the sidebar, kept in the URL's query parameters
    (codes and labels, so a link can be shared and read)."""
    td = today()
    # Streamlit forgets a widget's value when another page is opened from the menu (and that page's
    # URL has no parameters): the place is also kept under a key of our own, and carried over.
    kept = st.session_state.get(PLACE) or {}
    if "org" not in st.session_state or st.session_state["org"] not in tr:
        params = {k: st.query_params.get(k) or kept.get(k) for k in ("org", "period")}
        place, problems = cockpit.place_from(params, tr, td, latest(version(), td))
        for p in problems:
            st.toast(tm("bad_link", what=problem_text(p, lang())))
        st.session_state["org"], st.session_state["period"] = place.org, place.period
        asked = st.query_params.get("org")
        if asked and place.org in tr and place.org not in readable(tr):
            # Said, not silently replaced: the link's unit is out of this user's reach (its code
            # is what they typed; its name is not shown to someone who may not read it).
            st.warning(tm("org_not_yours", org=asked, home=unit_label(tr, access.home(user(), tr))))
    options, chosen = period_choice(td, st.session_state.get("period"), latest=latest(version(), td))
    # Set anew on every run, even unchanged: a value a page's widget left behind is otherwise
    # dropped by the next page's widget of the same key, which then starts on its first option.
    st.session_state["period"] = chosen
    with st.sidebar:
        codes = readable(tr)
        org = st.session_state.get("org")
        st.session_state["org"] = org if org in codes else access.home(user(), tr)  # (see "period" above)
        st.selectbox(t("org_unit"), codes, key="org",
                     format_func=lambda c: "\u3000" * tr.units[c].depth + unit_label(tr, c))
        st.selectbox(t("period"), options, key="period")
    place = cockpit.Place(st.session_state["org"], st.session_state["period"])
    st.query_params.update({"org": place.org, "period": place.period})
    st.session_state[PLACE] = {"org": place.org, "period": place.period}
    return place


def scorecard_view(card, ms, cells=None, *, key: str) -> None:
    """A scored scorecard: total and grade, then each KPI with its share, actual, target and status."""
    if card is None or not card.items:
        st.info(t("scorecard_empty"))
        return
    top = st.columns(2)
    top[0].metric(t("total_score"), fmt.score(card.score), border=True)
    top[1].metric(t("grade"), card.grade or fmt.DASH, border=True)
    rows = [{t("perspective"): t("perspective_" + it["perspective"]) if it["perspective"] != "none" else fmt.DASH,
             t("metric"): metric_name(ms[it["metric"]]), t("share"): f"{it['share']:.1%}",
             t("actual"): value(it["actual"], ms[it["metric"]].unit),
             t("target"): range_or(ms[it["metric"]], value(it["target"], ms[it["metric"]].unit))
             + (f" ({t('target_to_date')})" if it["in_progress"] else ""),
             t("status"): status_text(it["status"]), t("score"): fmt.score(it["score"])} for it in card.items]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—", key=key)
