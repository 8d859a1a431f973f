"""数据上报 Upload: download a template, upload a file, see every error or what will change,
confirm; the batch history with revert. A refused file changes nothing."""

from __future__ import annotations

import errno
import hashlib
import tempfile
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from kpi_core.ingest.error_report import write_error_workbook
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.preview import preview
from kpi_core.ingest.sheets import SeveralSheets
from kpi_core.ingest.template import template
from kpi_core.jobs import schedule
from kpi_core.model.errors import DiskFull, KpiError, WarehouseBusy
from kpi_core.model.messages import Msg
from kpi_core.model.periods import planning_years
from kpi_core.present.i18n import problem_text
from kpi_core.services import first_steps
from kpi_core.services.alerts import check_quietly
from kpi_core.services.revert import revert
from kpi_core.store import batches
from pages import through_app
from pages.common import (
    error,
    flash,
    labels,
    lang,
    metric_name,
    metrics,
    open_warehouse_tree,
    place_widgets,
    renew,
    renewed,
    show_flash,
    status_text,
    t,
    tm,
    today,
    unit_label,
    user,
    version,
    warehouse,
)

through_app()  # never straight from this folder: see pages/__init__.py

KINDS = ("actuals", "targets")
TYPES = ["xlsx", "xlsm", "xls", "ods", "csv"]


def kinds() -> list[str]:
    """What the signed-in user may load: a team lead actuals, a manager targets, an admin both."""
    return [k for k in KINDS if user().reach(k) is not None]


def _kind_label(k: str) -> str:
    return t("kind_" + k)


def template_section(tr, org: str) -> None:
    st.subheader(t("template_title"))
    c1, c2, c3 = st.columns([1, 1, 2])
    shown = labels({k: _kind_label(k) for k in KINDS})
    kind = c1.radio(t("kind"), kinds() or KINDS, format_func=shown, key="tpl_kind", horizontal=True)
    years = planning_years(today())
    year = c2.selectbox(t("year"), years, index=years.index(today().year), key="tpl_year")
    whole = c3.checkbox(t("whole_subtree"), key="tpl_subtree")
    data = template(warehouse(), kind, org, int(year), subtree=whole, actor=user())
    st.download_button(tm("download_template", unit=tr.units[org].name), data, key="tpl_download", on_click="ignore",
                       file_name=f"{org}_{year}_{kind}.xlsx", icon=":material/download:",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _save(upload) -> Path:
    """The upload on disk under its own name (the importer reads files; the name is shown)."""
    digest = hashlib.sha256(upload.getvalue()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / "kpi-uploads" / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def upload_section(tr) -> None:
    st.subheader(t("upload_title"))
    shown = labels({k: _kind_label(k) for k in KINDS})
    if not kinds():
        return
    kind = st.radio(t("kind"), kinds(), format_func=shown, key="up_kind", horizontal=True)
    reason = st.text_input(t("reason_closed"), key="up_reason") if user().is_admin else None
    upload = st.file_uploader(t("choose_file"), type=TYPES, key=renew("up_file"), help=t("upload_help"))
    if upload is None:
        st.caption(t("upload_empty"))
        return
    try:
        path = _save(upload)
    except OSError as exc:  # the server's temporary folder is full
        error(DiskFull(Msg("present_upload_disk_full")) if exc.errno == errno.ENOSPC else exc)
        return
    sheet = st.session_state.get("up_sheet") if st.session_state.get("up_sheet_of") == upload.file_id else None
    bar = st.progress(0.0, text=t("checking"))

    def step(stage: str, done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=f"{t('checking')} · {stage}")

    try:
        result = import_facts(warehouse(), kind, path, sheet=sheet, dry_run=True, progress=step, user=user(),
                              reason=reason)
    except SeveralSheets as exc:  # which sheet is meant is the uploader's to say, not ours to guess
        bar.empty()
        st.warning(tm("choose_sheet", file=upload.name, sheets=", ".join(exc.sheets)))
        st.session_state["up_sheet_of"] = upload.file_id
        st.selectbox(t("sheet"), exc.sheets, index=None, key="up_sheet", placeholder=t("choose_sheet_hint"))
        return
    except KpiError as exc:
        bar.empty()
        st.error(tm("file_refused", why=problem_text(exc, lang())))
        return
    bar.empty()
    if result.other_sheets:
        st.info(tm("other_sheets", sheet=result.sheet, others=", ".join(result.other_sheets)))
    if result.errors:
        st.error(tm("errors_found", n=len(result.errors), file=upload.name))
        rows = [{t("col_row"): e.row if e.row is not None else "", t("col_column"): e.column,
                 t("col_value"): e.value, t("col_message"): problem_text(e.message, lang())} for e in result.errors]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—", key="error_table")
        out = path.with_name(path.stem + "_errors.xlsx")
        try:
            write_error_workbook(path, result.errors, out, sheet=sheet or result.sheet, lang=lang())
            st.download_button(t("download_errors"), out.read_bytes(), file_name=out.name, key="dl_errors",
                               on_click="ignore", icon=":material/download:")
        except (KpiError, OSError, ValueError):
            pass  # a file that cannot be read back (CSV in a legacy code page): the table says it all
        return
    changes = preview(warehouse(), kind, result.facts)
    turned = changes.turned
    st.info(t("will_change", n=len(changes.changes), same=changes.unchanged, red=turned.get("red", 0),
              green=turned.get("green", 0)))
    if changes.changes:
        ms = metrics(version())
        rows = [{t("org_unit"): unit_label(tr, c["org"]), t("metric"): metric_name(ms[c["metric"]]),
                 t("period"): c["period"], t("before"): c["before"], t("after"): c["after"],
                 t("status_before"): status_text(c["status_before"]),
                 t("status_after"): status_text(c["status_after"])} for c in changes.changes]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—", key="change_table")
    if st.button(t("confirm_upload"), type="primary", key="confirm_upload", disabled=not changes.changes):
        try:
            done = import_facts(warehouse(), kind, path, sheet=sheet, user=user(), reason=reason)
        except WarehouseBusy:
            st.warning(t("busy"))
            return
        if done.batch is None:
            st.error(tm("errors_found", n=len(done.errors), file=upload.name))
            return
        # Drawn again from fresh data: the uploader is empty, no preview or confirm button of a file
        # already loaded, and the batch list below shows the new batch.
        flash("success", t("uploaded", batch=done.batch, n=done.loaded))
        # The alert rules are checked after every import (SPEC §9), in the background: the page
        # never waits for it, and a failing check is logged, not shown as a failed upload. The
        # scheduler's import job does it at once, and works out the pages' default places too.
        if not schedule.nudge(warehouse()):
            threading.Thread(target=check_quietly, args=(warehouse(),), daemon=True, name="alert-check").start()
        if kind == "actuals" and (missing := first_steps.without_targets(warehouse(), set(
                result.facts.column("metric").to_pylist()))):
            ms = metrics(version())
            flash("info", tm("upload_next_targets", metrics="、".join(metric_name(ms[m]) for m in missing if m in ms)))
        renewed("up_file")
        st.rerun()


def history_section() -> None:
    st.subheader(t("history_title"))
    rows = batches.list_batches(warehouse(), 50, user=user())
    if not rows:
        st.caption(t("no_batches"))
        return
    table = [{t("col_id"): b["id"], t("col_kind"): _kind_label(b["kind"]),
              t("col_source"): b["source"], t("col_user_name"): b["user_name"],
              t("col_created_at"): b["created_at"].strftime("%Y-%m-%d %H:%M"), t("col_rows_loaded"): b["rows_loaded"],
              t("col_status"): t("batch_" + b["status"])} for b in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", placeholder="—", key="batch_table")
    live = [b["id"] for b in rows if b["status"] == "loaded" and b["kind"] in KINDS]
    if not live:
        return
    with st.form("revert"):
        c1, c2 = st.columns([1, 3])
        # keyed on the newest batch: a new one is offered first, not the choice made before it came
        bid = c1.selectbox(t("col_id"), live, key=f"revert_id_{live[0]}")
        reason = c2.text_input(t("reason"), key="revert_reason")
        if st.form_submit_button(t("revert")):
            try:
                revert(warehouse(), int(bid), user=user(), reason=reason)
            except KpiError as exc:
                error(exc)
            else:  # drawn again: the table above shows the batch as reverted
                flash("success", t("reverted", batch=bid))
                st.rerun()


def page() -> None:
    opened = open_warehouse_tree()
    if opened is None:
        return
    v, tr = opened
    place = place_widgets(tr)
    st.title(t("upload"))
    show_flash()
    template_section(tr, place.org)
    st.divider()
    upload_section(tr)
    st.divider()
    history_section()


page()
