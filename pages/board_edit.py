"""Building a board: the draft kept in the session with undo, the tile palette, arranging (drag,
arrows, width, duplicate, delete), saving and sharing, a new board, renaming and deleting."""

from __future__ import annotations

import json

import streamlit as st

from kpi_core.model import access
from kpi_core.model.board import (
    TILE_TYPES,
    WIDTHS,
    Board,
    Tile,
    add_tile,
    delete_tile,
    duplicate_tile,
    move_tile,
    new_tile,
    relaid,
    resize_tile,
    share_choices,
)
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.store import boards
from pages import through_app
from pages.common import error, labels, md, metric_name, show_problems, t, tm, unit_label, user, warehouse

through_app()  # never straight from this folder: see pages/__init__.py

EDIT = "board_edit"      # the board being edited (its definition), in the session
UNDO = "board_undo"      # earlier definitions, newest last


# --- editing state --------------------------------------------------------------------------------

def edited_board() -> Board | None:
    raw = st.session_state.get(EDIT)
    return Board.model_validate(json.loads(raw)) if raw else None


def change(board: Board) -> None:
    """Keep the new definition; the old one goes on the undo stack."""
    if st.session_state.get(EDIT):
        st.session_state.setdefault(UNDO, []).append(st.session_state[EDIT])
        del st.session_state[UNDO][:-30]
    st.session_state[EDIT] = json.dumps(board.definition(), ensure_ascii=False)


def undo() -> None:
    if st.session_state.get(UNDO):
        st.session_state[EDIT] = st.session_state[UNDO].pop()


def start_edit(board: Board) -> None:
    st.session_state[EDIT] = json.dumps(board.definition(), ensure_ascii=False)
    st.session_state[UNDO] = []


def stop_edit() -> None:
    st.session_state.pop(EDIT, None)
    st.session_state.pop(UNDO, None)


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
        st.button(t("add"), type="primary", key="pal_add", on_click=add_from_palette, args=(board,))
        if st.session_state.get("pal_error"):
            error(st.session_state.pop("pal_error"))


def add_from_palette(board: Board) -> None:
    """The palette's choice as a new tile at the end; the palette is cleared for the next one."""
    kind = st.session_state.get("pal_type", "kpi_card")
    try:
        tile = new_tile(kind, list(st.session_state.get("pal_metrics") or []) if kind not in ("text", "scorecard")
                        else [],
                        title=(st.session_state.get("pal_title") or "").strip() or None,
                        text=st.session_state.get("pal_text") if kind == "text" else None)
        change(add_tile(board, tile))
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
            change(relaid(board, ids))
            st.rerun()
    except ImportError:  # the fallback below always works
        pass
    for tl in ordered:
        c = st.columns([4, 1, 1, 2, 1.5, 1.5])
        c[0].markdown(md(names[tl.id]))
        if c[1].button("↑", key=f"up_{tl.id}", help=t("move_up")):
            change(move_tile(board, tl.id, -1))
            st.rerun()
        if c[2].button("↓", key=f"down_{tl.id}", help=t("move_down")):
            change(move_tile(board, tl.id, 1))
            st.rerun()
        width = c[3].select_slider(t("width"), options=list(WIDTHS), value=tl.place.width,
                                   key=f"w_{tl.id}_{tl.place.width}", label_visibility="collapsed")
        if width != tl.place.width:
            change(resize_tile(board, tl.id, width))
            st.rerun()
        if c[4].button(t("duplicate"), key=f"dup_{tl.id}", icon=":material/content_copy:"):
            change(duplicate_tile(board, tl.id))
            st.rerun()
        if c[5].button(t("delete"), key=f"del_{tl.id}", icon=":material/delete:"):
            change(delete_tile(board, tl.id))
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
        stop_edit()
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
            start_edit(board)
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

