"""驾驶舱 Cockpit: headline KPIs, the BSC view, the children × metrics heat map and what is red."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from kpi_core.model import access
from kpi_core.model import display as fmt
from kpi_core.model.errors import KpiError
from kpi_core.model.periods import GRAINS, parse_period
from kpi_core.present import attribution as gap_present
from kpi_core.present import charts, forecast_tile
from kpi_core.present import cockpit as ck
from kpi_core.query import attribution as gap_query
from kpi_core.query import drillthrough
from kpi_core.query import forecast as fc_query
from kpi_core.services import actions as action_service
from pages import through_app
from pages.common import (
    BADGE_COLOR,
    STATUS_STYLE,
    cockpit_data,
    error,
    goto,
    labels,
    lang,
    latest,
    md,
    metric_name,
    metrics,
    open_warehouse_tree,
    place_widgets,
    rule,
    status_text,
    t,
    target_text,
    tm,
    today,
    tree,
    unit_label,
    user,
    value,
    version,
    warehouse,
)

through_app()  # never straight from this folder: see pages/__init__.py

OFF_CARD = "off_card"  # a heat-map cell for a metric that is not on that child's scorecard


def breadcrumbs(tr, place: ck.Place) -> None:
    """Org path and period path as buttons: a click goes back up."""
    path = ck.breadcrumb(tr, place.org)
    row = st.container(horizontal=True, gap="small", key="crumbs")
    for i, code in enumerate(path):
        last = i == len(path) - 1
        shut = not access.can(user(), tr, "read", code)  # above the user's part of the tree
        row.button(md(tr.units[code].name), key=f"crumb_{code}", disabled=last or shut, type="tertiary",
                   on_click=goto, kwargs={"org": code})
        if not last:
            row.markdown("›")
    periods = ck.coarser_periods(place.period) + [place.period]
    prow = st.container(horizontal=True, gap="small", key="period_crumbs")
    for i, p in enumerate(periods):
        last = i == len(periods) - 1
        prow.button(p, key=f"pcrumb_{p}", disabled=last, type="tertiary", on_click=goto, kwargs={"period": p})
        if not last:
            prow.markdown("›")
    finer = ck.finer_periods(place.period, latest(version(), today()))
    if finer:
        prow.markdown("｜")
        for p in finer:
            prow.button(p, key=f"pdown_{p}", on_click=goto, kwargs={"period": p})


def card(c: ck.Card, m, ahead=None) -> None:
    """A headline card; `ahead`: its period-end forecast when one is kept (a period in progress)."""
    cell = c.cell
    with st.container(border=True):
        delta = fmt.change(cell.actual, c.previous.actual if c.previous else None, m.unit)
        spark = [x.actual for x in c.series if fmt.finite(x.actual)]
        # The trend and the change take the status colour: a rising line is not good news when it is red.
        st.metric(md(metric_name(m)), value(cell.actual, m.unit), None if delta == fmt.DASH else delta,
                  delta_color=BADGE_COLOR[cell.status], chart_data=spark or None, chart_type="area",
                  delta_description=t("vs_previous"), help=md(rule(cell.rule)) or None)
        if cell.status == "no_data" and GRAINS.index(m.frequency) > GRAINS.index(parse_period(cell.period).grain):
            st.badge(t("reported_by_" + m.frequency), color="gray")  # a quarterly survey has no month value
        else:
            st.badge(status_text(cell.status), color=BADGE_COLOR[cell.status])
        yoy = fmt.change(cell.actual, c.last_year.actual if c.last_year else None, m.unit)
        if cell.in_progress:  # judged on the target to date; the whole period's target beside it
            progress = fmt.attainment(cell.actual / cell.target_full) if (
                m.time_agg == "sum" and cell.actual is not None and cell.target_full) else None
            st.caption(f"{t('target_to_date')}: {target_text(cell, m)} · {t('attainment')}: "
                       f"{fmt.attainment(cell.attainment)} · {t('target_full')}: {value(cell.target_full, m.unit)}"
                       + (f" · {t('progress_full')}: {progress}" if progress else "")
                       + f" · {t('vs_last_year')}: {yoy}")
        else:
            st.caption(f"{t('target')}: {target_text(cell, m)} · {t('attainment')}: "
                       f"{fmt.attainment(cell.attainment)} · {t('vs_last_year')}: {yoy}")
        if ahead is not None:
            st.caption(md(forecast_tile.line(ahead, m, lang())))


@st.cache_data(max_entries=64, show_spinner=False)
def heat_spec(data_version: int, org: str, period: str, today_, actor, language: str) -> dict:
    """The heat map's Vega-Lite spec, kept per data version, place, viewer and language: a rerun
    at the same place (a tab switch, a click elsewhere) does not build the chart again."""
    data, tr = cockpit_data(data_version, org, period, today_, actor), tree(data_version)
    table = []
    for child in data.children:
        for code in data.heat_rows:  # the union of the children's scorecards, by perspective
            cell = data.heat[(child, code)]
            table.append({"unit": unit_label(tr, child), "code": child, "metric": metric_name(data.metrics[code]),
                          "mcode": code, "status": t("status_" + cell.status) if cell else t("not_on_scorecard"),
                          "key": cell.status if cell else OFF_CARD,
                          "symbol": STATUS_STYLE[cell.status][1] if cell else "",
                          "attainment": fmt.attainment(cell.attainment) if cell else fmt.DASH,
                          "value": value(cell.actual, data.metrics[code].unit) if cell else fmt.DASH})
    df = pd.DataFrame(table)
    colours = alt.Scale(domain=[*STATUS_STYLE, OFF_CARD], range=[s[0] for s in STATUS_STYLE.values()] + ["#F2F2F2"])
    pick = alt.selection_point(fields=["code"], name="unit")
    # Units across, metrics down (many units and few metrics: turned round). Names wrap to the room
    # each column gets, from one line on a wide screen to a character a line on a phone.
    units = {c: tr.units[c].name for c in data.children}
    metric_names = {c: metric_name(data.metrics[c]) for c in data.heat_rows}
    cols, rows = (("code", units), ("mcode", metric_names)) if charts.across(len(units), len(metric_names)) \
        else (("mcode", metric_names), ("code", units))
    chart = charts.heat(
        df, col=cols[0], row=rows[0], col_names=cols[1], row_names=rows[1],
        colour=alt.Color("key:N", scale=colours, legend=None), pick=pick,
        tooltip=[alt.Tooltip("unit:N", title=t("org_unit")), alt.Tooltip("metric:N", title=t("metric")),
                 alt.Tooltip("value:N", title=t("actual")), alt.Tooltip("attainment:N", title=t("attainment")),
                 alt.Tooltip("status:N", title=t("status"))],
    ).properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    # The spec is ours and fixed in shape: Altair's jsonschema validation (~30 ms a run) is skipped.
    with alt.utils.schemapi.debug_mode(False):
        return chart.to_dict(validate=False)


def heat_map(data: ck.Cockpit, tr) -> None:
    if not data.children:
        st.info(t("no_children"))
        return
    if not data.heat_rows:
        st.info(t("scorecard_empty"))
        return
    spec = heat_spec(version(), data.org, data.period, today(), user(), lang())

    def clicked() -> None:  # runs before the rerun, so the unit filter may still change
        picked = st.session_state["heat"].selection.get("unit") or []
        code = picked[0].get("code") if picked else None
        if code in data.children:
            goto(org=code)

    st.vega_lite_chart(spec, on_select=clicked, selection_mode="unit", key="heat", width="stretch")
    st.caption(t("heat_hint"))
    row = st.container(horizontal=True, key="drill_buttons")
    for child in data.children:
        row.button(f"↓ {md(tr.units[child].name)}", key=f"down_{child}", on_click=goto, kwargs={"org": child})


def bsc(data: ck.Cockpit) -> None:
    cols = st.columns(len(ck.PERSPECTIVES))
    for col, p in zip(cols, ck.PERSPECTIVES, strict=True):
        with col:
            st.markdown(f"**{t('perspective_' + p)}**")
            st.metric(t("perspective_score"), fmt.score(data.perspective_scores.get(p)), border=True)
            for code in data.perspectives.get(p, []):
                c = data.cards[code].cell
                m = data.metrics[code]
                st.markdown(f"{STATUS_STYLE[c.status][1]} {md(metric_name(m))}: {value(c.actual, m.unit)} "
                            f"({fmt.attainment(c.attainment)})", help=md(rule(c.rule)) or None)


def red_list(data: ck.Cockpit, tr) -> None:
    if not data.red:
        st.success(t("nothing_red"))
        return
    rows = [{t("org_unit"): unit_label(tr, r.org), t("metric"): metric_name(data.metrics[r.metric]),
             t("red_since"): (t("since_or_earlier", p=r.since) if r.earlier else r.since),
             t("actual"): value(r.cell.actual, data.metrics[r.metric].unit),
             t("target"): target_text(r.cell, data.metrics[r.metric])
             + (f" ({t('target_to_date')})" if r.cell.in_progress else ""),
             t("attainment"): fmt.attainment(r.cell.attainment), t("rule"): rule(r.cell.rule)}
            for r in data.red]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—")
    action_links(data, tr)


URGENT = 3  # open actions listed on the cockpit (the soonest due); the rest on the actions page


def action_links(data: ck.Cockpit, tr) -> None:
    """Under the red list: for each red row the user may open an action on, a link to the actions
    page prefilled with its metric, unit and period."""
    mine = [r for r in data.red if action_service.may_manage(user(), tr, r.org)]
    if not mine:
        return
    row = st.container(horizontal=True, gap="small", key="red_actions")
    for r in mine:
        row.page_link("pages/actions.py", label=tm("ac_open_link", metric=metric_name(data.metrics[r.metric]),
                                                  unit=tr.units[r.org].name),
                      query_params={"metric": r.metric, "org": r.org, "period": r.cell.period})


def open_actions(tr, org: str) -> None:
    """The open actions on the unit (and below it): how many, how many overdue, and the most
    urgent, each a link to it on the actions page."""
    st.subheader(t("ac_cockpit_head"))
    found = action_service.visible_actions(warehouse(), by=user(), org=org, open_only=True, tree=tr)
    if not found:
        st.caption(t("ac_cockpit_none"))
    else:
        st.caption(t("ac_cockpit_count", n=len(found), late=sum(a.overdue(today()) for a in found)))
        names = metrics(version())
        for a in found[:URGENT]:  # the soonest due first
            due = t("ac_overdue_mark", due=a.due.isoformat()) if a.overdue(today()) else a.due.isoformat()
            name = metric_name(names[a.metric]) if a.metric in names else a.metric
            st.page_link("pages/actions.py", label=tm("ac_cockpit_item", id=a.id, title=a.title, metric=name,
                                                     owner=a.owner, due=due),
                         query_params={"org": a.org, "action": str(a.id)})
    st.page_link("pages/actions.py", label=t("ac_all"), query_params={"org": org})


@st.cache_data(max_entries=64, show_spinner=False)
def behind_data(data_version: int, metric: str, org: str, period: str, actor):
    return drillthrough.behind(warehouse(), metric, org, period, actor=actor)


def drill_through(data: ck.Cockpit, tr) -> None:
    """The rows behind one of this place's numbers, and the rule that coloured it."""
    codes = data.perspectives_order()
    shown = labels({c: metric_name(data.metrics[c]) for c in codes})
    code = st.selectbox(t("metric"), codes, format_func=shown, key="dt_metric")
    m = data.metrics[code]
    b = behind_data(version(), code, data.org, data.period, user())
    c = b.cell
    cols = st.columns(4)
    cols[0].metric(t("actual"), value(c.actual, m.unit))
    cols[1].metric(t("target"), target_text(c, m))
    cols[2].metric(t("attainment"), fmt.attainment(c.attainment))
    cols[3].markdown(f"{t('status')}\n\n{status_text(c.status)}")
    st.markdown(f"**{t('rule')}**: {md(rule(c.rule)) or '—'}")
    if c.status in ("red", "amber") and tr.children.get(data.org):  # where the gap comes from

        @st.cache_data(max_entries=64, show_spinner=False)
        def gap_data(data_version: int, metric: str, org: str, period: str, actor):
            return gap_query.attribute(warehouse(), metric, org, period, actor)

        view = gap_present.gap_view(gap_data(version(), code, data.org, data.period, user()), m, tr, lang())
        st.markdown(f"**{t('gap_title')}**")
        if view.unavailable:
            st.caption(md(view.unavailable))
        if view.headline:
            st.markdown(md(view.headline))
        if view.rows:
            st.dataframe(pd.DataFrame(view.rows), hide_index=True, width="stretch", placeholder="—", key="dt_gap")
        for note in view.notes:
            st.caption(md(note))
    if c.source:
        st.caption(f"{t('value_source')}: {t('value_source_' + c.source)}" + (f" · {md(c.note)}" if c.note else ""))
    elif c.note:
        st.caption(md(c.note))
    if b.kind == "manual":
        st.markdown(f"**{t('uploaded_values')}**")
        if b.facts:
            st.dataframe(pd.DataFrame([{t("org_unit"): unit_label(tr, f["org"]), t("period"): f["period"],
                                        t("actual"): value(f["value"], m.unit), t("col_id"): f["batch"],
                                        t("col_source"): f["file"], t("col_row"): f["source_row"],
                                        t("col_user_name"): f["by"],
                                        t("col_created_at"): f["at"].strftime("%Y-%m-%d %H:%M")} for f in b.facts]),
                         hide_index=True, width="stretch", placeholder="—", key="dt_facts")
        else:
            st.caption(t("nothing_uploaded"))
    elif b.kind == "dataset":
        st.markdown(f"**{t('dataset_rows', n=b.rows_total, shown=len(b.rows))}**")
        st.code(f"{m.source.dataset}: {m.source.measure}" + (f" WHERE {m.source.filter}" if m.source.filter else ""),
                language="sql")
        if b.rows:
            st.dataframe(pd.DataFrame(b.rows), hide_index=True, width="stretch", placeholder="—", key="dt_rows")
    else:
        st.markdown(f"**{t('components')}**")
        st.code(m.source.formula, language="sql")
        st.dataframe(pd.DataFrame([{t("metric"): metric_name(data.metrics[x.metric]) if x.metric in data.metrics
                                    else x.metric, t("actual"): value(x.actual, data.metrics[x.metric].unit
                                                                      if x.metric in data.metrics else None),
                                    t("target"): value(x.target, data.metrics[x.metric].unit
                                                       if x.metric in data.metrics else None)}
                                   for x in b.components]), hide_index=True, width="stretch", placeholder="—",
                     key="dt_parts")
    if b.targets:
        st.markdown(f"**{t('targets_set')}**")
        st.dataframe(pd.DataFrame([{t("period"): f["period"], t("target"): value(f["value"], m.unit),
                                    t("col_id"): f["batch"], t("col_source"): f["file"], t("col_user_name"): f["by"],
                                    t("col_created_at"): f["at"].strftime("%Y-%m-%d %H:%M")} for f in b.targets]),
                     hide_index=True, width="stretch", placeholder="—", key="dt_targets")


def scorecard_line(data: ck.Cockpit, tr, org: str) -> None:
    """What the unit is judged on, and for those allowed, a way to set its scorecard."""
    card = data.scorecard
    text = {"own": lambda: tm("scorecard_own", n=len(card.items)),
            "inherited": lambda: tm("scorecard_inherited", unit=unit_label(tr, card.source), n=len(card.items)),
            "default": lambda: t("scorecard_default")}[card.origin]()
    allowed = access.can(user(), tr, "scorecards", org)
    if not data.cards:
        st.info(t("scorecard_empty") + ("" if card.origin == "default" else " " + text))
    else:
        st.caption(text)
    if allowed and (card.origin != "own" or not data.cards):
        st.page_link("pages/scorecards.py", label=t("set_scorecard"), query_params={"org": org})


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    v, tr = opened
    place = place_widgets(tr)
    data = cockpit_data(v, place.org, place.period, today(), user())
    st.title(f"{t('cockpit')} · {md(tr.units[place.org].name)}")
    breadcrumbs(tr, place)
    scorecard_line(data, tr, place.org)
    if not data.cards:
        return
    top = st.columns([1, 1, 3])
    top[0].metric(t("total_score"), fmt.score(data.score), border=True)
    top[1].metric(t("grade"), data.grade or fmt.DASH, border=True)
    top[2].caption(t("score_hint"))
    st.subheader(t("headline"))
    # A quarter or year in progress: each card's period-end forecast, only where one is kept (a cold
    # one takes up to ~2 s: never made in this run for every card). The button makes the missing
    # ones; the import job makes the company's and its children's ahead (forecast.warm).
    ahead = {}
    if data.grain != "month" and (any(data.cards[c].cell.in_progress for c in data.headline)
                                  or data.period in fc_query.in_progress(warehouse(), today())):
        ahead = fc_query.kept_forecasts(warehouse(), data.headline, data.org, data.period, today(), actor=user())
    cols = st.columns(4)
    for i, code in enumerate(data.headline):
        with cols[i % 4]:
            card(data.cards[code], data.metrics[code], ahead.get(code))
    if any(f is None for f in ahead.values()) and st.button(t("fc_show"), key="fc_show", icon=":material/insights:"):
        refused = []
        with st.spinner(t("fc_computing")):
            for code in data.headline:
                try:
                    fc_query.forecast(warehouse(), code, data.org, data.period, today=today(), actor=user())
                except KpiError as exc:  # this one cannot be made: the others still are
                    refused.append(exc)
        for exc in refused:
            error(exc)
        if not refused:
            st.rerun()  # the cards again, with the forecasts now kept
    # Only the open tab is built (a switch of tab reruns): the hidden ones cost a click its time
    # and payload, above all the drill-through's rows and code view (docs/PERFORMANCE.md).
    tabs = st.tabs([t("heat_map"), t("bsc_view"), t("whats_red"), t("drill_through")], key="cockpit_tab",
                   on_change="rerun")
    for tab, draw in zip(tabs, (lambda: heat_map(data, tr), lambda: bsc(data), lambda: red_list(data, tr),
                                lambda: drill_through(data, tr)), strict=True):
        if tab.open is not False:  # None: the tab keeps no state (then all are built, as before)
            with tab:
                draw()
    open_actions(tr, place.org)


page()
