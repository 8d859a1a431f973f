"""看板 Boards: open a board (live, cross-filtered), or build one — add tiles from a palette, pick
metrics and a chart type, arrange by dragging or with the arrows, resize, duplicate, delete, undo
— then save and share it."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial

import streamlit as st

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.board import (
    TILE_TYPES,
    WIDTHS,
    Board,
    Tile,
    add_tile,
    delete_tile,
    distinct_titles,
    duplicate_tile,
    move_tile,
    new_tile,
    relaid,
    resize_tile,
    share_choices,
)
from kpi_core.model.errors import KpiError, NotFound, ValidationFailed
from kpi_core.model.periods import GRAINS, period_choice
from kpi_core.present import board_export, tiles
from kpi_core.present import format as fmt
from kpi_core.store import boards
from pages import through_app
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

EDIT = "board_edit"      # the board being edited (its definition), in the session
UNDO = "board_undo"      # earlier definitions, newest last
CROSS = "board_cross"    # the cross-filter: {"org": code} from a click in a tile


# --- editing state --------------------------------------------------------------------------------

def _editing() -> Board | None:
    raw = st.session_state.get(EDIT)
    return Board.model_validate(json.loads(raw)) if raw else None


def _change(board: Board) -> None:
    """Keep the new definition; the old one goes on the undo stack."""
    if st.session_state.get(EDIT):
        st.session_state.setdefault(UNDO, []).append(st.session_state[EDIT])
        del st.session_state[UNDO][:-30]
    st.session_state[EDIT] = json.dumps(board.definition(), ensure_ascii=False)


def _undo() -> None:
    if st.session_state.get(UNDO):
        st.session_state[EDIT] = st.session_state[UNDO].pop()


def _start_edit(board: Board) -> None:
    st.session_state[EDIT] = json.dumps(board.definition(), ensure_ascii=False)
    st.session_state[UNDO] = []


def _stop_edit() -> None:
    st.session_state.pop(EDIT, None)
    st.session_state.pop(UNDO, None)


# --- viewing ---------------------------------------------------------------------------------------

def _tile_labels() -> dict[str, str]:
    return {k: t(k if k != "unit" else "org_unit") for k in ("unit", "metric", "period", "actual", "target",
                                                              "attainment")}


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


@st.cache_data(max_entries=512, show_spinner=False)
def tile_frame(data_version: int, board_json: str, tile_id: str, cross_json: str, day: dt.date, language: str,
               actor: Actor):
    """A tile's cells and table, kept per data version and viewer: a warm board reads no data at all."""
    board = Board.model_validate(json.loads(board_json))
    tile = next(tl for tl in board.tiles if tl.id == tile_id)
    tr, ms = tree(data_version), metrics(data_version)
    data = tiles.tile_data(warehouse(), board, tile, tr, day, json.loads(cross_json), actor)
    df = tiles.frame(data, ms, tr, language)
    if tile.type == "ranking" and not df.empty:
        df = tiles.ranking(df, tile)
    spec = tiles.spec(tile, df, _tile_labels()) if not df.empty else None
    return data, df, spec


def render_tile(board: Board, tile: Tile, tr, ms, cross: dict, stamp: str) -> None:
    with st.container(border=True, key=f"tile_{tile.id}"):
        title = tile.title or ", ".join(metric_name(ms[c]) for c in tile.metrics if c in ms) or t("tile_" + tile.type)
        if tile.title or tile.type != "kpi_card":  # a card's metric name is its label already
            st.markdown(f"**{md(title)}**")
        if tile.type == "text":
            st.text(tile.text or "")  # user text is shown as text, never as HTML or markdown
            return
        # Keyed on this tile and the board's filters, not the whole board: adding, moving or
        # retitling another tile leaves this tile's numbers cached.
        whole = board.definition()
        definition = json.dumps({**whole, "title": "-", "tiles": [d for d in whole["tiles"] if d["id"] == tile.id]},
                                ensure_ascii=False, sort_keys=True)
        try:
            data, df, spec = tile_frame(version(), definition, tile.id, json.dumps(cross, sort_keys=True), today(),
                                        lang(), user())
        except KpiError as exc:  # this tile's question is refused (too big, out of reach): the others still show
            error(exc)
            return
        if df.empty:
            st.info(t("tile_empty"))
            return
        if tile.type == "kpi_card":
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
                                    key=f"dl_{kind}_{tile.id}", type="tertiary", icon=":material/image:")


def render_board(board: Board, tr, ms) -> None:
    with warehouse().connect():  # one connection for every tile's queries (each open costs ~40 ms)
        _render_board(board, tr, ms)


def _render_board(board: Board, tr, ms) -> None:
    cross = st.session_state.get(CROSS) or {}
    if cross:
        c1, c2 = st.columns([4, 1])
        what = " · ".join(filter(None, [unit_label(tr, cross["org"]) if cross.get("org") in tr else None,
                                        cross.get("period")]))
        c1.info(t("cross_filter", unit=what))
        c2.button(t("clear_filter"), key="clear_cross", on_click=lambda: st.session_state.pop(CROSS, None))
    at, latest = tiles.last_loaded(warehouse())
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


# --- building --------------------------------------------------------------------------------------

def palette(board: Board, ms) -> None:
    with st.container(border=True, key="palette"):
        st.markdown(f"**{t('add_tile')}**")
        c1, c2 = st.columns([1, 3])
        kind = c1.selectbox(t("tile_type"), TILE_TYPES, key="pal_type",
                            format_func=labels({k: t("tile_" + k) for k in TILE_TYPES}))
        if kind == "text":
            c2.text_area(t("tile_text"), key="pal_text")
        elif kind != "scorecard":  # a scorecard tile shows the unit's own metrics
            c2.multiselect(t("metrics_pick"), list(ms), key="pal_metrics", placeholder=t("choose"),
                           format_func=labels({c: metric_name(ms[c]) for c in ms}))
        st.text_input(t("tile_title"), key="pal_title")
        st.button(t("add"), type="primary", key="pal_add", on_click=_add_tile, args=(board,))
        if st.session_state.get("pal_error"):
            error(st.session_state.pop("pal_error"))


def _add_tile(board: Board) -> None:
    """The palette's choice as a new tile at the end; the palette is cleared for the next one."""
    kind = st.session_state.get("pal_type", "kpi_card")
    try:
        tile = new_tile(kind, list(st.session_state.get("pal_metrics") or []) if kind not in ("text", "scorecard")
                        else [],
                        title=(st.session_state.get("pal_title") or "").strip() or None,
                        text=st.session_state.get("pal_text") if kind == "text" else None)
        _change(add_tile(board, tile))
    except KpiError as exc:
        st.session_state["pal_error"] = exc  # shown on the next run, in the UI language
        return
    st.session_state["pal_metrics"], st.session_state["pal_title"], st.session_state["pal_text"] = [], "", ""


def arrange(board: Board, ms) -> None:
    if not board.tiles:
        return
    st.markdown(f"**{t('arrange')}**")
    ordered = board.ordered_tiles()
    # Numbered by place (the sortable list needs unique labels), never by the tile's internal id.
    def name(tl: Tile) -> str:
        return tl.title or ", ".join(metric_name(ms[c]) for c in tl.metrics if c in ms) or t("tile_" + tl.type)
    names = {tl.id: f"{i}. {t('tile_' + tl.type)} · {name(tl)}" for i, tl in enumerate(ordered, start=1)}
    try:
        from streamlit_sortables import sort_items

        dragged = sort_items([names[tl.id] for tl in ordered], key=f"sort_{len(st.session_state.get(UNDO, []))}")
        ids = [next(i for i, n in names.items() if n == label) for label in dragged]
        if ids != [tl.id for tl in ordered]:
            _change(relaid(board, ids))
            st.rerun()
    except ImportError:  # the fallback below always works
        pass
    for tl in ordered:
        c = st.columns([4, 1, 1, 2, 1.5, 1.5])
        c[0].markdown(md(names[tl.id]))
        if c[1].button("↑", key=f"up_{tl.id}", help=t("move_up")):
            _change(move_tile(board, tl.id, -1))
            st.rerun()
        if c[2].button("↓", key=f"down_{tl.id}", help=t("move_down")):
            _change(move_tile(board, tl.id, 1))
            st.rerun()
        width = c[3].select_slider(t("width"), options=list(WIDTHS), value=tl.place.width,
                                   key=f"w_{tl.id}_{tl.place.width}", label_visibility="collapsed")
        if width != tl.place.width:
            _change(resize_tile(board, tl.id, width))
            st.rerun()
        if c[4].button(t("duplicate"), key=f"dup_{tl.id}", icon=":material/content_copy:"):
            _change(duplicate_tile(board, tl.id))
            st.rerun()
        if c[5].button(t("delete"), key=f"del_{tl.id}", icon=":material/delete:"):
            _change(delete_tile(board, tl.id))
            st.rerun()


def save_form(board: Board, tr) -> None:
    with st.form("board_save"):
        c1, c2, c3 = st.columns([2, 1, 1])
        title = c1.text_input(t("board_title"), board.title)
        shares = list(share_choices(user()))
        share = c2.selectbox(t("sharing"), shares, index=shares.index(board.share) if board.share in shares else 0,
                             format_func=labels({s: t("share_" + s) for s in shares}))
        codes = access.visible_units(user(), tr, tr.subtree(tr.root), "boards")
        share_org = c3.selectbox(t("share_org"), codes, index=codes.index(board.share_org) if board.share_org in codes
                                 else 0, format_func=labels({c: unit_label(tr, c) for c in codes}))
        refresh = st.selectbox(t("refresh"), [None, 30, 60, 300, 900], index=[None, 30, 60, 300, 900].index(
            board.refresh_seconds) if board.refresh_seconds in (None, 30, 60, 300, 900) else 0,
            format_func=labels({None: t("refresh_off"), 30: "30 s", 60: "1 min", 300: "5 min", 900: "15 min"}))
        reason = st.text_input(t("reason"))
        saved = st.form_submit_button(t("save_board"), type="primary")
    if saved:
        try:
            final = Board.model_validate({**board.definition(), "title": title, "share": share,
                                          "share_org": share_org if share == "org" else None,
                                          "refresh_seconds": refresh})
            v = boards.save(warehouse(), final, user=user(), reason=reason or None)
        except ValidationFailed as exc:
            show_problems(exc)
            return
        except (KpiError, ValueError) as exc:  # not allowed (AccessDenied), or a bad field
            error(exc)
            return
        st.session_state["board"] = final.code
        _stop_edit()
        st.session_state["board_flash"] = tm("board_saved", code=final.code, v=v)  # shown after the rerun
        st.rerun()


def new_board_form() -> None:
    with st.form("new_board"):
        c1, c2 = st.columns(2)
        code = c1.text_input(t("board_code"), placeholder="my_board")
        title = c2.text_input(t("board_title"))
        if st.form_submit_button(t("create")):
            try:
                board = Board(code=code.strip(), title=title.strip() or code.strip(), owner=user().name)
            except ValueError as exc:
                if "code" in str(exc):
                    st.error(t("bad_board_code"))
                else:
                    error(exc)
                return
            if code.strip() in {b.code for b in boards.all_boards(warehouse())}:
                st.error(tm("board_exists", code=code.strip()))
                return
            _start_edit(board)
            st.rerun()


def manage_form(board: Board) -> None:
    """Rename or delete the board (its owner, or an admin); each is a new version with a reason."""
    with st.form("board_rename"):
        title = st.text_input(t("board_title"), board.title, key="rename_title")
        reason = st.text_input(t("reason"), key="rename_reason")
        if st.form_submit_button(t("rename_board")):
            try:
                v = boards.save(warehouse(), board.model_copy(update={"title": title.strip()}), user=user(),
                                reason=reason or None)
            except ValidationFailed as exc:
                show_problems(exc)
                return
            except (KpiError, ValueError) as exc:
                error(exc)
                return
            st.session_state["board_flash"] = tm("board_saved", code=board.code, v=v)
            st.rerun()
    with st.form("board_delete"):
        reason = st.text_input(t("reason"), key="delete_reason")
        sure = st.checkbox(tm("delete_board_sure", title=board.title), key="delete_sure")
        if st.form_submit_button(t("delete_board"), type="primary"):
            if not sure:  # said where the button is: nothing deleted
                st.error(t("delete_board_confirm"))
                return
            try:
                boards.delete(warehouse(), board.code, user=user(), reason=reason or None)
            except KpiError as exc:
                error(exc)
                return
            st.session_state.pop("board", None)
            st.query_params.pop("board", None)
            st.session_state["board_flash"] = tm("board_deleted", title=board.title)
            st.rerun()


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
    editing = _editing()
    visible = boards.visible(warehouse(), user())
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
        c[0].button(t("undo"), key="undo", on_click=_undo, disabled=not st.session_state.get(UNDO))
        c[1].button(t("cancel"), key="cancel_edit", on_click=_stop_edit)
        filtered = filters_bar(editing, tr)
        if filtered.filters != editing.filters:
            _change(filtered)
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
        board = boards.open_for(warehouse(), code, user())
    except NotFound:
        st.error(tm("no_such_board", code=code))
        return
    head = st.columns([5, 1, 1, 1, 1])
    head[0].title(md(board.title))
    mine = boards.can_edit(board, user())
    head[1].button(t("edit_board"), key="edit_board", on_click=_start_edit, args=(board,), disabled=not mine)
    if mine and head[4].button(t("manage_board"), key="manage_board"):
        st.dialog(t("manage_board"))(manage_form)(board)
    # The workbook is built when clicked, not on every render.
    head[2].download_button(t("export_excel"),
                            deferred(partial(board_export.workbook, warehouse(), board, tr, ms, today(), lang())),
                            file_name=f"{board.code}.xlsx", key="export_xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if may_build:
        with head[3].popover(t("new_board")):
            new_board_form()
    view = filters_bar(board, tr)

    @st.fragment(run_every=board.refresh_seconds)
    def live() -> None:
        live_user()  # the timer reruns only this fragment: the session is checked here too
        render_board(view, tree(version()), metrics(version()))

    live()
    st.caption(tm("board_meta", owner=board.owner, share=t("share_" + board.share),
                 refresh=f"{board.refresh_seconds} s" if board.refresh_seconds else t("refresh_off")))


page()
