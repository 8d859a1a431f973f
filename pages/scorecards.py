"""计分卡 Scorecards: what each unit is judged on — its KPIs with weights (shown as shares), own or
inherited; edited with a reason by admins and by managers within their subtree; cascaded to the
children as their starting point; every version kept."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kpi_core.model import access
from kpi_core.model.errors import KpiError
from kpi_core.model.scorecard import PERSPECTIVES, Item, ScorecardDef
from kpi_core.present.i18n import problem_text
from kpi_core.query.scorecard import Scorecard, unit_scorecard
from kpi_core.services.scorecards import cascade
from kpi_core.store import scorecards
from pages import through_app
from pages.common import (
    error,
    labels,
    lang,
    md,
    metric_name,
    metrics,
    open_warehouse_tree,
    place_widgets,
    scorecard_view,
    show_problems,
    t,
    tm,
    today,
    tree,
    unit_label,
    user,
    version,
    warehouse,
)

through_app()  # never straight from this folder: see pages/__init__.py


@st.cache_data(max_entries=64, show_spinner=False)
def card_of(data_version: int, org: str, period: str, actor) -> Scorecard:
    return unit_scorecard(warehouse(), tree(data_version), org, period, actor=actor, today=today())


@st.cache_data(max_entries=16, show_spinner=False)
def own_cards(data_version: int) -> dict[str, ScorecardDef]:
    return scorecards.current(warehouse())


DONE = "scorecard_done"  # what the last change did, shown after the rerun that reads it back


def done(text: str) -> None:
    """A saved change: rerun, so the scorecard above shows it, and say so there."""
    st.session_state[DONE] = text
    st.rerun()


def origin_text(card: Scorecard, tr) -> str:
    """Where the unit's scorecard comes from, in a sentence."""
    if card.origin == "own":
        return tm("scorecard_own", n=len(card.items))
    if card.origin == "inherited":
        return tm("scorecard_inherited", unit=unit_label(tr, card.source), n=len(card.items))
    return t("scorecard_default")


def show(card: Scorecard, ms, tr) -> None:
    st.caption(origin_text(card, tr))
    scorecard_view(card, ms, key="sc_items")
    if card.dropped:
        st.caption(tm("scorecard_dropped", metrics=", ".join(metric_name(ms[c]) for c in card.dropped if c in ms)))


def editor(card: Scorecard, ms, org: str) -> None:
    """The unit's own scorecard as a table of metric and weight, saved as a new version with a reason."""
    st.subheader(t("scorecard_edit"))
    start = own_cards(version()).get(org)
    base = start.metrics if start else tuple(Item(metric=it["metric"], weight=it["weight"]) for it in card.items)
    shown = labels({c: metric_name(m) for c, m in ms.items()})
    frame = pd.DataFrame({"metric": [i.metric for i in base], "weight": [float(i.weight) for i in base]},
                         columns=["metric", "weight"])
    edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, width="stretch", key=f"sc_editor_{org}",
                            column_config={
                                "metric": st.column_config.SelectboxColumn(t("metric"), options=list(ms),
                                                                           format_func=shown, required=True),
                                "weight": st.column_config.NumberColumn(t("weight"), min_value=0.0, required=True,
                                                                        format="%g")})
    pw = None
    used = [p for p in PERSPECTIVES if p in {ms[c].perspective for c in edited["metric"].dropna() if c in ms}]
    if used and st.checkbox(t("weigh_perspectives"), value=bool(start and start.perspective_weights),
                            key=f"sc_pw_{org}"):
        cols = st.columns(len(used))  # only the perspectives the card has metrics in
        have = (start.perspective_weights if start else None) or {}
        pw = {p: cols[i].number_input(t("perspective_" + p), min_value=0.0,
                                      value=float(have.get(p, round(100 / len(used), 1))), key=f"sc_pw_{org}_{p}")
              for i, p in enumerate(used)}
    reason = st.text_input(t("reason"), key=f"sc_reason_{org}")
    row = st.container(horizontal=True)
    if row.button(t("save"), type="primary", key=f"sc_save_{org}"):
        items = [{"metric": r["metric"], "weight": r["weight"]} for r in edited.to_dict("records")
                 if isinstance(r["metric"], str)]
        try:
            res = scorecards.apply_raw(warehouse(), [{"org": org, "metrics": items, "perspective_weights": pw}],
                                       reason=reason, user=user())
            done(t("saved") if res.created or res.updated else t("nothing_changed"))
        except KpiError as exc:
            show_problems(exc)
    if start and row.button(t("scorecard_remove"), key=f"sc_remove_{org}"):
        try:
            scorecards.remove(warehouse(), org, reason=reason, user=user())
            done(t("saved"))
        except KpiError as exc:
            error(exc)


def cascade_form(tr, org: str, period: str, ms) -> None:
    st.subheader(t("scorecard_cascade"))
    if not tr.children.get(org):
        st.info(t("no_children"))
        return
    keep = st.checkbox(tm("scorecard_keep_to_data", period=period), value=True, key=f"scc_keep_{org}")
    replace = st.checkbox(t("scorecard_replace"), key=f"scc_replace_{org}")
    asked = dict(period=period if keep else None, replace=replace, user=user())
    try:
        plan = cascade(warehouse(), org, dry_run=True, **asked)
    except KpiError as exc:
        st.info(md(problem_text(exc, lang())))
        return
    rows = [{t("org_unit"): unit_label(tr, c.org), t("metrics"): ", ".join(metric_name(ms[m]) for m in c.codes)}
            for c in plan.cards]
    rows += [{t("org_unit"): unit_label(tr, c), t("metrics"): t("scorecard_keeps_own")} for c in plan.kept_own]
    rows += [{t("org_unit"): unit_label(tr, c), t("metrics"): t("scorecard_nothing_here")} for c in plan.empty]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—", key=f"scc_preview_{org}")
    reason = st.text_input(t("reason"), key=f"scc_reason_{org}")
    if st.button(t("scorecard_cascade_apply", n=len(plan.cards)), disabled=not plan.cards, type="primary",
                 key=f"scc_apply_{org}"):
        try:
            cascade(warehouse(), org, reason=reason, **asked)
            done(t("saved"))
        except KpiError as exc:
            error(exc)


def history(org: str, ms) -> None:
    rows = scorecards.history(warehouse(), org)
    if not rows:
        st.caption(t("scorecard_no_history"))
        return
    st.dataframe(pd.DataFrame([{t("version"): r["version"], t("col_created_at"): r["at"][:16].replace("T", " "),
                                t("col_user_name"): r["user"], t("reason"): r["reason"],
                                t("metrics"): t("scorecard_removed") if r["removed"] else
                                ", ".join(f"{metric_name(ms[i['metric']]) if i['metric'] in ms else i['metric']}"
                                          f" ×{i['weight']:g}" for i in r["definition"]["metrics"])}
                               for r in reversed(rows)]), hide_index=True, width="stretch", placeholder="—",
                 key=f"sc_history_{org}")


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    v, tr = opened
    place = place_widgets(tr)
    ms = metrics(v)
    st.title(f"{t('scorecards')} · {md(tr.units[place.org].name)}")
    if DONE in st.session_state:
        st.success(st.session_state.pop(DONE))
    card = card_of(v, place.org, place.period, user())
    show(card, ms, tr)
    if not access.can(user(), tr, "scorecards", place.org):  # admins; managers in their subtree
        return
    tab_edit, tab_cascade, tab_history = st.tabs([t("scorecard_edit"), t("scorecard_cascade"), t("history")])
    with tab_edit:
        editor(card, ms, place.org)
    with tab_cascade:
        cascade_form(tr, place.org, place.period, ms)
    with tab_history:
        history(place.org, ms)


page()
