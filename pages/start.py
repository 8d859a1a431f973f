"""开始使用 Getting started: a new company's first hour in the browser, step by step (org →
metrics → scorecards → targets → first upload → first board), each step with what is there
now and a link to the page where it is done; an empty warehouse can take the demo company."""

from __future__ import annotations

import streamlit as st

from kpi_core.ingest.template import org_template
from kpi_core.model.errors import KpiError
from kpi_core.services import first_steps
from pages import through_app
from pages.common import error, flash, lang, show_flash, t, today, tree, user, version_or_busy, warehouse
from pages.nav import PAGES

through_app()  # never straight from this folder: see pages/__init__.py


@st.cache_data(max_entries=8, show_spinner=False)
def progress(data_version: int, boards_stamp: str) -> list[first_steps.Step]:
    """The checklist, cached per data version (boards do not bump it: their own stamp keys it)."""
    return first_steps.steps(warehouse())


def step_box(i: int, step: first_steps.Step, is_next: bool, may: bool) -> None:
    with st.container(border=True, key=f"step_{step.key}"):
        mark = "✔" if step.done else ("➜" if is_next else "○")
        st.markdown(f"**{mark} {i}. {t('start_' + step.key)}**")
        st.caption(t(f"start_{step.key}_help"))
        st.caption(t("start_have", n=f"{step.count:,}"))
        if step.key == "org" and may:
            st.download_button(t("org_template"), org_template(tree(warehouse().data_version()), lang()),
                               file_name=t("org_template_file"), key="start_org_template", on_click="ignore",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        if step.key == "scorecards" and may and not step.done and is_next:
            st.caption(t("start_default_card_help"))
            if st.button(t("start_default_card"), key="start_default_card"):
                try:
                    first_steps.adopt_default_scorecard(warehouse(), user=user(), reason=t("start_default_card"))
                except KpiError as exc:
                    error(exc)
                else:
                    flash("success", t("start_default_card_done"))
                    st.rerun()
        if may:
            st.page_link(PAGES[step.page][0], label=t("start_go", page=t(PAGES[step.page][1])),
                         icon="➡️" if is_next else None)


def demo_offer() -> None:
    """An empty warehouse may take the demo company, to look around before loading one's own."""
    with st.expander(t("start_demo_title")):
        st.caption(t("start_demo_help"))
        if st.button(t("start_demo_load"), key="start_demo"):
            from kpi_core.demo.load import load_demo

            bar = st.progress(0.0, text=t("start_demo_loading"))
            try:
                load_demo(warehouse(), today=today(), progress=lambda stage, done, total: bar.progress(
                    min(1.0, done / total) if total else 0.0, text=f"{t('start_demo_loading')} · {stage}"))
            except KpiError as exc:
                error(exc)
                return
            flash("success", t("start_demo_done"))
            st.rerun()


def page() -> None:
    st.title(t("start"))
    show_flash()
    v = version_or_busy()
    if v is None:
        return
    from kpi_core.store import boards

    stamp = ",".join(sorted(b.code for b in boards.all_boards(warehouse())))
    steps = progress(v, stamp)
    done = sum(s.done for s in steps)
    st.progress(done / len(steps), text=t("start_progress", done=done, n=len(steps)))
    nxt = first_steps.next_step(steps)
    if nxt is None:
        st.success(t("start_all_done"))
    else:
        st.info(t("start_next", step=t("start_" + nxt.key)))
    may = user().is_admin
    for i, step in enumerate(steps, start=1):
        step_box(i, step, nxt is not None and step.key == nxt.key, may)
    if may and steps[0].count == 0 and steps[1].count == 0:
        demo_offer()


page()
