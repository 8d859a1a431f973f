"""看板 Boards: open a board (live, cross-filtered), or build one — add tiles from a palette, pick
metrics and a chart type, arrange by dragging or with the arrows, resize, duplicate, delete, undo
— then save and share it."""

from __future__ import annotations

import datetime as dt
from functools import partial

import streamlit as st

from kpi_core.jobs import subscriptions as subs
from kpi_core.model import access
from kpi_core.model import display as fmt
from kpi_core.model.board import Board, Tile, distinct_titles
from kpi_core.model.errors import KpiError, NotFound
from kpi_core.model.periods import GRAINS, period_choice
from kpi_core.model.subscription import Schedule
from kpi_core.present import board_export, forecast_tile, tile_view, tiles
from kpi_core.store import boards
from kpi_core.store import subscriptions as sub_store
from pages import through_app
from pages.board_edit import (
    UNDO,
    arrange,
    change,
    edited_board,
    manage_form,
    new_board_form,
    palette,
    save_form,
    start_edit,
    stop_edit,
    undo,
)
from pages.common import (
    BADGE_COLOR,
    empty_company,
    error,
    labels,
    lang,
    latest,
    md,
    metric_name,
    metrics,
    readable,
    scorecard_view,
    show_problems,
    status_text,
    t,
    tm,
    today,
    tree,
    unit_label,
    user,
    value,
    version,
    version_or_busy,
    warehouse,
)
from pages.login import deferred, live_user

through_app()  # never straight from this folder: see pages/__init__.py

CROSS = "board_cross"    # the cross-filter: {"org": code} from a click in a tile


# --- viewing ---------------------------------------------------------------------------------------

def _cross_clicked(key: str) -> None:
    """A click on a unit (bars, ranking, heat map) or a period (trend) filters the other tiles."""
    state = st.session_state.get(key)
    cross = dict(st.session_state.get(CROSS) or {})
    for field in ("org", "period"):
        picked = (state.selection.get(field) or []) if state else []
        if picked and picked[0].get(field):
            cross[field] = picked[0][field]
    if cross:
        st.session_state[CROSS] = cross


def render_tile(board: Board, tile: Tile, tr, ms, cross: dict, stamp: str) -> None:
    with st.container(border=True, key=f"tile_{tile.id}"):
        title = tile.title or ", ".join(metric_name(ms[c]) for c in tile.metrics if c in ms) or t("tile_" + tile.type)
        if tile.type == "forecast" and not tile.title:
            title = f"{title} · {t('tile_forecast')}"
        if tile.title or tile.type != "kpi_card":  # a card's metric name is its label already
            st.markdown(f"**{md(title)}**")
        if tile.type == "text":
            st.text(tile.text or "")  # user text is shown as text, never as HTML or markdown
            return
        # Kept per data version, tile and place for every viewer (warm-on-write builds the
        # default places after each import); what this viewer may read is checked each time.
        try:
            data, df, spec = tile_view.view(warehouse(), board, tile, tr, ms, today(), lang(), cross=cross,
                                            actor=user(), version=version())
        except KpiError as exc:  # this tile's question is refused (too big, out of reach): the others still show
            error(exc)
            return
        if df.empty and data.forecast is None:  # a forecast says why it has none (below)
            st.info(t("tile_empty"))
            return
        if data.forecast is not None:  # the path to the period end in its band, and what it says
            if spec is not None:
                st.vega_lite_chart(spec=spec, width="stretch", key=f"chart_{tile.id}")
            st.caption(md(forecast_tile.caption(data.forecast, ms[data.forecast.metric], lang())))
        elif tile.type == "kpi_card":
            c = data.cells[0]
            m = ms[c.metric]
            prev = data.previous[0].actual if data.previous else None
            delta = fmt.change(c.actual, prev, m.unit)
            st.metric(md(metric_name(m)), value(c.actual, m.unit), None if delta == fmt.DASH else delta,
                      delta_color="inverse" if m.direction == "lower_is_better" else "normal")
            st.badge(status_text(c.status), color=BADGE_COLOR[c.status])
            st.caption(f"{t('target')}: {value(c.target, m.unit)} · {t('attainment')}: {fmt.attainment(c.attainment)}")
        elif tile.type == "scorecard":
            scorecard_view(data.scorecard, ms, {c.metric: c for c in data.cells}, key=f"sc_{tile.id}")
        elif tile.type == "table":
            shown = df.pivot_table(index="unit", columns="metric", values="actual_text", aggfunc="first", sort=False)
            shown.index.name = t("org_unit")
            status = df.pivot_table(index="unit", columns="metric", values="status", aggfunc="first", sort=False)
            colours = {"green": "#d5f0e7", "amber": "#fbebc7", "red": "#f8d9c9"}
            styled = shown.style.apply(lambda col: [f"background-color: {colours.get(status.at[i, col.name], '')}"
                                                    for i in col.index], axis=0)
            st.dataframe(styled, width="stretch", placeholder="—", key=f"table_{tile.id}")
        else:
            if spec is None:
                st.info(t("tile_empty"))
            elif tile.type in ("bar_by_org", "ranking", "heatmap", "trend"):
                key = f"chart_{tile.id}"
                st.vega_lite_chart(spec=spec, on_select=lambda k=key: _cross_clicked(k), key=key, width="stretch",
                                   selection_mode="period" if tile.type == "trend" else "org")
            else:
                st.vega_lite_chart(spec=spec, width="stretch", key=f"chart_{tile.id}")
        st.caption(f"{md(unit_label(tr, data.place.org))} · {data.place.period} · {stamp}")
        if tile.type not in ("kpi_card", "table", "scorecard"):
            row = st.container(horizontal=True, key=f"img_{tile.id}")
            language = lang()
            for kind, mime in (("svg", "image/svg+xml"), ("png", "image/png")):
                # Rendered only when clicked: vl-convert takes ~0.1 s a chart.
                def image(actor, kind=kind) -> bytes:
                    return board_export.chart_image(warehouse(), board, tile, tr, ms, today(), kind, language,
                                                    actor) or b""
                row.download_button(kind.upper(), deferred(image), file_name=f"{tile.id}.{kind}", mime=mime,
                                    key=f"dl_{kind}_{tile.id}", on_click="ignore", type="tertiary",
                                    icon=":material/image:")


def render_board(board: Board, tr, ms) -> None:
    with warehouse().read():  # one connection for every tile's queries (each open costs ~40 ms)
        _render_board(board, tr, ms)


@st.cache_data(max_entries=16, show_spinner=False)
def last_loaded(data_version: int) -> tuple[str | None, str | None]:
    """The freshness line's facts, read once per data version (every import bumps it)."""
    return tiles.last_loaded(warehouse())


def _render_board(board: Board, tr, ms) -> None:
    cross = st.session_state.get(CROSS) or {}
    if cross:
        c1, c2 = st.columns([4, 1])
        what = " · ".join(filter(None, [unit_label(tr, cross["org"]) if cross.get("org") in tr else None,
                                        cross.get("period")]))
        c1.info(t("cross_filter", unit=what))
        c2.button(t("clear_filter"), key="clear_cross", on_click=lambda: st.session_state.pop(CROSS, None))
    at, latest = last_loaded(version())
    stamp = f"{tiles.freshness(at, dt.datetime.now(dt.UTC), lang())} · {t('latest_period')}: {latest or '—'}"
    rows: dict[int, list[Tile]] = {}
    for tile in board.ordered_tiles():
        rows.setdefault(tile.place.row, []).append(tile)
    for row in rows.values():
        cols = st.columns([tl.place.width for tl in row])
        for col, tile in zip(cols, row, strict=True):
            with col:
                render_tile(board, tile, tr, ms, cross, stamp)


def filters_bar(board: Board, tr) -> Board:
    """The board's unit, period and grain for this view (saved with the board when editing)."""
    c1, c2, c3 = st.columns([2, 1, 1])
    codes = readable(tr)
    org = board.filters.org or tr.root
    if org not in codes:  # the board's unit is outside the viewer's part: show them theirs
        org = access.home(user(), tr)
    periods, period = period_choice(today(), board.filters.period, latest=latest(version(), today()))
    shown = labels({c: "\u3000" * tr.units[c].depth + unit_label(tr, c) for c in codes})
    new_org = c1.selectbox(t("org_unit"), codes, index=codes.index(org) if org in codes else 0, format_func=shown,
                           key=f"bf_org_{board.code}")
    grains = list(GRAINS)
    new_grain = c3.selectbox(t("grain"), grains, index=grains.index(board.filters.grain),
                             format_func=labels({g: t("grain_" + g) for g in grains}), key=f"bf_grain_{board.code}")
    new_period = c2.selectbox(t("period"), periods, index=periods.index(period), key=f"bf_period_{board.code}")
    return board.model_copy(update={"filters": board.filters.model_copy(update={
        "org": new_org, "period": new_period, "grain": new_grain})})


def subscribe_form(board: Board) -> None:
    """Send this board to me on a schedule or after each import (the inbox page lists them)."""
    me = user()
    key = f"{me.name}:board:{board.code}"
    current = next((s for s in sub_store.listed(warehouse(), me.name) if s.sub.key == key), None)
    if current is not None:
        st.caption(tm("sub_already", schedule=t("sub_schedule_" + current.sub.schedule)))
    schedules = list(Schedule.__args__)
    schedule = st.selectbox(t("sub_schedule"), schedules, key=f"sub_sched_{board.code}",
                            index=schedules.index(current.sub.schedule) if current else 1,
                            format_func=labels({s: t("sub_schedule_" + s) for s in schedules}))
    if st.button(t("sub_save"), key=f"sub_save_{board.code}", type="primary"):
        try:
            subs.apply(warehouse(), [{"user": me.name, "board": board.code, "schedule": schedule}], by=me)
        except KpiError as exc:
            show_problems(exc)
        else:
            st.session_state["board_flash"] = t("sub_saved")
            st.rerun()
    st.caption(t("sub_board_hint"))


# --- the page --------------------------------------------------------------------------------------

def page() -> None:
    v = version_or_busy()
    if v is None:
        return
    tr = tree(v)
    ms = metrics(v)
    if tr.root is None or not ms:
        empty_company()
        return
    editing = edited_board()
    visible = boards.visible(warehouse(), user(), tree=tr)
    with st.sidebar:
        codes = [b.code for b in visible]
        if codes and not editing:
            asked = st.query_params.get("board")
            if asked and asked not in codes and "board" not in st.session_state:
                # a link to a board this user may not open: the same answer as a missing board
                st.session_state["board_refused"] = asked
            if st.session_state.get("board") not in codes:
                st.session_state["board"] = asked if asked in codes else codes[0]
            titles = {c: md(x) for c, x in distinct_titles(visible).items()}  # a radio's options render markdown
            st.radio(t("boards"), codes, key="board", format_func=labels(titles))
    if editing is not None:
        st.title(f"{t('editing')} · {md(editing.title)}")
        c = st.columns([1, 1, 6])
        c[0].button(t("undo"), key="undo", on_click=undo, disabled=not st.session_state.get(UNDO))
        c[1].button(t("cancel"), key="cancel_edit", on_click=stop_edit)
        filtered = filters_bar(editing, tr)
        if filtered.filters != editing.filters:
            change(filtered)
            st.rerun()
        palette(editing, ms)
        arrange(editing, ms)
        save_form(editing, tr)
        st.divider()
        render_board(editing, tr, ms)
        return
    if st.session_state.get("board_flash"):
        st.success(st.session_state.pop("board_flash"))
    if st.session_state.get("board_refused"):
        st.error(tm("no_such_board", code=st.session_state.pop("board_refused")))
    may_build = user().reach("boards") is not None
    if not visible:
        st.info(t("no_boards"))
        if may_build:
            new_board_form()
        return
    code = st.session_state["board"]
    st.query_params["board"] = code
    try:
        board = boards.open_for(warehouse(), code, user(), tree=tr)
    except NotFound:
        st.error(tm("no_such_board", code=code))
        return
    st.title(md(board.title))
    # The board's actions in one row, each as wide as its label (columns of a fixed share cut
    # "导出 Excel" and "新建看板" short at 1440 px), wrapping on a phone.
    bar = st.container(horizontal=True, key="board_actions")
    mine = boards.can_edit(board, user())
    bar.button(t("edit_board"), key="edit_board", on_click=start_edit, args=(board,), disabled=not mine)
    # The workbook is built when clicked, not on every render.
    bar.download_button(t("export_excel"),
                        deferred(partial(board_export.workbook, warehouse(), board, tr, ms, today(), lang())),
                        file_name=f"{board.code}.xlsx", key="export_xlsx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if may_build:
        with bar.popover(t("new_board")):
            new_board_form()
    if mine and bar.button(t("manage_board"), key="manage_board"):
        st.dialog(t("manage_board"))(manage_form)(board)
    with bar.popover(t("sub_this")):
        subscribe_form(board)
    view = filters_bar(board, tr)

    @st.fragment(run_every=board.refresh_seconds)
    def live() -> None:
        live_user()  # the timer reruns only this fragment: the session is checked here too
        render_board(view, tree(version()), metrics(version()))

    live()
    st.caption(tm("board_meta", owner=board.owner, share=t("share_" + board.share),
                 refresh=f"{board.refresh_seconds} s" if board.refresh_seconds else t("refresh_off")))


page()
