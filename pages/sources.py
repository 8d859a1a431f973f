"""数据源 Data sources (a tab of the admin page): the datasets with where their rows came from, and a
form to connect a database (PostgreSQL, MySQL/MariaDB or any SQLAlchemy URL), test the connection
on a table or a query, and import it as a dataset. The work is kpi_core/services/data_sources.py.

The password lives only in its widget until it is used: a test or an import renews the widget
(its value is dropped from the session), and nothing else holds it. The same form links a table
or query instead (SPEC §8, `datasets link`: the rows stay at the source), and the linked datasets
are listed with their last refresh and a refresh button.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kpi_core.model.errors import KpiError
from kpi_core.present.i18n import problem_text
from kpi_core.services import data_sources as sources
from kpi_core.services import linked
from kpi_core.services.data_sources import Connection, Read
from pages import through_app
from pages.common import error, flash, labels, lang, md, renew, renewed, t, user, warehouse

through_app()  # never straight from this folder: see pages/__init__.py

OUTCOME = "src_outcome"  # what the last test or import said (never the password), shown while the form is unchanged


def sources_section() -> None:
    st.subheader(t("src_title"))
    datasets_table()
    linked_table()
    st.markdown(f"**{t('src_connect')}**")
    connection, read = connection_fields()
    keep = st.radio(t("src_keep"), ["import", "link"], key="src_keep", horizontal=True,
                    format_func=labels({k: t(f"src_keep_{k}") for k in ("import", "link")}))
    outcome = st.session_state.get(OUTCOME)
    tested = outcome.get("columns") if outcome and outcome["for"] == _where(connection, read) else None
    c1, c2 = st.columns([2, 1])
    name = c1.text_input(t("src_name"), key="src_name", help=t("src_name_help"),
                         placeholder=read.table.strip().rpartition(".")[2] or None)
    if keep == "import":
        mode = c2.radio(t("src_mode"), ["replace", "append"], key="src_mode", horizontal=True,
                        format_func=labels({m: t(f"src_mode_{m}") for m in ("replace", "append")}))
    else:
        roles = link_fields(tested)
    b1, b2, _ = st.columns([1, 1, 4])
    test_clicked = b1.button(t("src_test"), key="src_test")
    act = b2.button(t("src_import") if keep == "import" else t("src_link"), type="primary",
                    key="src_import" if keep == "import" else "src_link")
    if test_clicked or act:
        # The password has been used: the page is drawn again with an empty field (the widget and
        # its value are gone from the session), and what the action found is shown there.
        renewed("src_pw")
        where = _where(connection, read)
        named = (name or read.table.strip().rpartition(".")[2]).strip()
        if test_clicked:
            st.session_state[OUTCOME] = {"for": where, **try_connection(connection, read)}
        elif keep == "import":
            st.session_state[OUTCOME] = {"for": where, **import_now(connection, read, named, mode)}
        else:
            st.session_state[OUTCOME] = {"for": where, **link_now(connection, read, named, *roles)}
        st.rerun()
    show_outcome(st.session_state.get(OUTCOME), _where(connection, read))


def link_fields(columns: list[str] | None) -> tuple[str, str, str]:
    """The time, org unit and watermark columns of a link: picked from the tested table's columns,
    or typed before a test."""
    c1, c2, c3 = st.columns(3)
    if columns:
        none = [""] + list(columns)
        time_col = c1.selectbox(t("src_time_column"), columns, key="src_time_pick")
        org_col = c2.selectbox(t("src_org_column"), columns, key="src_org_pick")
        mark = c3.selectbox(t("src_watermark"), none, key="src_mark_pick", help=t("src_watermark_help"),
                            format_func=lambda c: c or t("src_no_watermark"))
    else:
        time_col = c1.text_input(t("src_time_column"), key="src_time_text")
        org_col = c2.text_input(t("src_org_column"), key="src_org_text")
        mark = c3.text_input(t("src_watermark"), key="src_mark_text", help=t("src_watermark_help"))
    return time_col.strip(), org_col.strip(), mark.strip()


def link_now(connection: Connection, read: Read, name: str, time_col: str, org_col: str, mark: str) -> dict:
    if not name:
        return {"refused": t("src_needs_name"), "detail": ""}
    if not time_col or not org_col:
        return {"refused": t("src_needs_columns"), "detail": ""}
    try:
        r = sources.link(warehouse(), name, connection, read, time_column=time_col, org_column=org_col,
                         watermark=mark or None, user=user())
    except KpiError as exc:
        return _refusal(exc)
    flash("success", t("src_linked", name=md(name), batch=r.batch, rows=f"{r.rows:,}", partials=f"{r.partials:,}",
                       seconds=f"{r.seconds:.1f}"))
    return {}


def linked_table() -> None:
    """The linked datasets: where they live, their last refresh, and a refresh button."""
    rows = linked.listed(warehouse(), user=user())
    if not rows:
        return
    st.markdown(f"**{t('src_linked_title')}**")
    st.dataframe(pd.DataFrame([{
        t("src_col_name"): r.name, t("src_time_column"): r.time_column, t("src_org_column"): r.org_column,
        t("src_watermark"): r.watermark or "—",
        t("src_col_refreshed"): r.refreshed_at.strftime("%Y-%m-%d %H:%M") if r.refreshed_at else "—",
        t("src_col_source_rows"): r.last_rows, t("src_col_partials"): r.last_partials,
        t("src_col_seconds"): r.last_seconds} for r in rows]),
        hide_index=True, width="stretch", placeholder="—", key="src_linked_table",
        column_config={t("src_col_source_rows"): st.column_config.NumberColumn(format="localized"),
                       t("src_col_partials"): st.column_config.NumberColumn(format="localized"),
                       t("src_col_seconds"): st.column_config.NumberColumn(format="%.2f")})
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = c1.selectbox(t("src_refresh_which"), [r.name for r in rows], key="src_refresh_name")
    full = c2.checkbox(t("src_refresh_full"), key="src_refresh_full", help=t("src_refresh_full_help"))
    if c3.button(t("src_refresh"), key="src_refresh"):
        try:
            r = linked.refresh(warehouse(), name, full=full, user=user())
        except KpiError as exc:
            error(exc.args[0] if exc.args else str(exc))
            return
        if r.batch is None:
            flash("info", t("src_nothing_new", name=md(name)))
        else:
            flash("success", t("src_refreshed_incremental" if r.incremental else "src_refreshed_full", name=md(name),
                               batch=r.batch, rows=f"{r.rows:,}", partials=f"{r.partials:,}",
                               seconds=f"{r.seconds:.1f}"))
        st.rerun()


def datasets_table() -> None:
    rows = sources.dataset_rows(warehouse(), user=user())
    if not rows:
        st.caption(t("src_no_datasets"))
        return
    st.markdown(f"**{t('src_datasets')}**")
    st.dataframe(pd.DataFrame([{
        t("src_col_name"): r.name, t("src_col_source"): problem_text(r.source, lang()),
        t("src_col_rows"): r.rows, t("src_col_columns"): r.columns,
        t("src_col_last_import"): r.last_import.strftime("%Y-%m-%d %H:%M") if r.last_import else "—",
        t("src_col_batch"): r.batch} for r in rows]),
        hide_index=True, width="stretch", placeholder="—", key="src_table",
        column_config={t("src_col_rows"): st.column_config.NumberColumn(format="localized")})


def connection_fields() -> tuple[Connection, Read]:
    """The connection and what to read, as the form holds them (the password read from its widget)."""
    drivers = [*sources.DRIVERS, "url"]
    names = labels({**sources.BRANDS, "url": t("src_driver_url", lib="SQLAlchemy")})
    driver = st.selectbox(t("src_driver"), drivers, key="src_driver", format_func=names)
    if driver == "url":
        text = st.text_input(t("src_url"), key="src_url",
                             help=t("src_url_help", example="postgresql+psycopg://user@host:5432/db"))
        host = port = database = login = None
    else:
        c1, c2, c3, c4 = st.columns([3, 1, 2, 2])
        host = c1.text_input(t("src_host"), key="src_host", placeholder="127.0.0.1")
        port = c2.number_input(t("src_port"), min_value=1, max_value=65535, value=sources.PORTS[driver], step=1,
                               key=f"src_port_{driver}")
        database = c3.text_input(t("src_database"), key="src_database")
        login = c4.text_input(t("src_user"), key="src_user")
        text = ""
    password = st.text_input(t("src_password"), type="password", key=renew("src_pw"), help=t("src_password_once"))
    st.caption(t("src_password_once"))
    how = st.radio(t("src_read"), ["table", "query"], key="src_how", horizontal=True,
                   format_func=labels({"table": t("src_read_table"), "query": t("src_read_query")}))
    if how == "table":
        read = Read(table=st.text_input(t("src_table"), key="src_table_name", help=t("src_table_help")))
    else:
        read = Read(query=st.text_area(t("src_query"), key="src_query", height=100,
                                       placeholder="SELECT order_date, dept, amount FROM sales"))
    connection = Connection(driver, host or "", int(port) if port else None, database or "", login or "",
                            password, text)
    return connection, read


def _where(connection: Connection, read: Read) -> tuple:
    """What a test was for (without the password), so its rows show only while the form is unchanged."""
    return (connection.driver, connection.host, connection.port, connection.database, connection.user,
            connection.text, read.table, read.query)


def try_connection(connection: Connection, read: Read) -> dict:
    try:
        sample = sources.test(connection, read, user=user())
    except KpiError as exc:
        return _refusal(exc)
    return {"columns": sample.columns, "rows": [[_cell(v) for v in r] for r in sample.rows]}


def _refusal(exc: KpiError) -> dict:
    return {"refused": exc.args[0] if exc.args else str(exc), "detail": getattr(exc, "detail", "")}


def show_outcome(outcome: dict | None, where: tuple) -> None:
    """The last test's or import's result, while the form still names the same source."""
    if not outcome or outcome["for"] != where:
        return
    if "refused" in outcome:
        error(outcome["refused"])
        if outcome["detail"]:
            with st.expander(t("src_detail")):
                st.code(outcome["detail"], language=None)
    elif "problems" in outcome:
        st.error(t("src_rejected", n=len(outcome["problems"])))
        for p in outcome["problems"][:20]:
            st.markdown(f"- {md(problem_text(p, lang()))}")
    elif "columns" in outcome:
        show_sample(outcome["columns"], outcome["rows"])


def _cell(v: object) -> object:
    """A sample value as the table shows it (text for what a data grid cannot show)."""
    return v if isinstance(v, int | float | str | bool) or v is None else str(v)


def show_sample(columns: list[str], rows: list[list]) -> None:
    if not rows:
        st.success(t("src_test_empty", n=len(columns)))
        return
    st.success(t("src_test_ok", n=len(columns), rows=len(rows)))
    frame = pd.DataFrame(rows, columns=[f"{c}" for c in columns])
    st.dataframe(frame.astype(object).where(frame.notna(), None), hide_index=True, width="stretch",
                 placeholder="—", key="src_sample_table")


def import_now(connection: Connection, read: Read, name: str, mode: str) -> dict:
    if not name:
        return {"refused": t("src_needs_name"), "detail": ""}
    try:
        result = sources.pull(warehouse(), name, connection, read, mode=mode, user=user())
    except KpiError as exc:
        return _refusal(exc)
    if not result.ok:
        return {"problems": result.errors}
    flash("success", t("src_imported", name=md(name), batch=result.batch, n=f"{result.loaded:,}"))
    return {}
