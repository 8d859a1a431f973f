"""The metric form of the metric center (指标中心): fields instead of YAML, each problem shown under
its field as the user types (the checks of `metrics apply`), the YAML the form makes, a preview of
the values computed by the cockpit's engine, and saving with a reason. The logic is
kpi_core/services/metric_form.py and metric_preview.py; this only lays out the widgets."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kpi_core.model import display as fmt
from kpi_core.model.access import Actor
from kpi_core.model.errors import KpiError
from kpi_core.model.messages import render
from kpi_core.model.metric import Metric
from kpi_core.services import metric_catalog as catalog
from kpi_core.services import metric_form as form
from kpi_core.services.metric_form import FilterRow, FormValues
from kpi_core.services.metric_preview import preview
from kpi_core.store import datasets, settings
from pages import through_app
from pages.common import (
    STATUS_STYLE,
    flash,
    labels,
    lang,
    md,
    renew,
    renewed,
    show_problems,
    t,
    today,
    user,
    warehouse,
)

through_app()  # never straight from this folder: see pages/__init__.py

UNITS = "CNY, USD, %, count, days, hours, score"
PENDING = "…"  # a period not over: no status yet
JUDGED = ("green", "amber", "red")


def metric_form(existing: Metric | None, key: str, metrics: dict[str, Metric], data_version: int) -> None:
    """The form, filled from `existing` (its code fixed) or empty for a new metric."""
    k = renew(key)
    v = form.from_definition(existing.definition()) if existing else FormValues()
    slots: dict[str, object] = {}
    _basics(v, k, slots, fixed=existing is not None)
    _judging(v, k, slots)
    _source(v, k, slots, metrics)
    checked = form.check(warehouse(), v, user=user(), new=existing is None)
    for where, problems in [*checked.problems.items(), ("general", checked.general)]:
        if problems:
            (slots.get(where) or slots["general"]).markdown("\n\n".join(_problem(p) for p in problems))
    n = len(checked.general) + sum(len(p) for p in checked.problems.values())
    if checked.ok:
        st.success(t("mf_check_ok"))
    else:
        st.warning(t("mf_problems", n=n))
    with st.expander(t("mf_yaml_out")):
        st.code(catalog.definition_yaml(checked.definition), language="yaml")
    st.markdown(f"**{t('mf_preview')}**")
    computed = checked.ok and show_preview(checked.metric, data_version)
    if not checked.ok:
        st.caption(t("mf_preview_waiting"))
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    reason = c1.text_input(t("reason"), key=f"{k}_reason", help=t("mf_reason_help"))
    if c2.button(t("mf_save"), type="primary", key=f"{k}_save", disabled=not computed):
        _save(v, reason, key, new=existing is None)


def _problem(p) -> str:
    """A problem under its field: a field still to fill in grey, anything wrong in red."""
    text = md(render(p, lang()))
    return f":gray[{text}]" if getattr(p, "code", "") == "model_value_required" else f":red[✖ {text}]"


def _field(slots: dict, name: str, col=None) -> None:
    """A place under a field for its problems (filled once the whole form is checked)."""
    slots[name] = (col or st).empty()


def _choice(col, label: str, name: str, current, key: str, *, none: bool = False):
    """A choice by its names in the UI language; "" (not None, which a selectbox shows as no choice
    at all) stands for a field left unset."""
    names = {value: render(text, lang()) for value, text in form.choices(name).items()}
    options = ([""] if none else []) + list(names)
    shown = labels({"": t("mf_none"), **names})
    chosen = col.selectbox(label, options, index=options.index(current) if current in options else 0, key=key,
                           format_func=shown)
    return chosen or None


def _basics(v: FormValues, k: str, slots: dict, *, fixed: bool) -> None:
    st.markdown(f"**{t('mf_basics')}**")
    c1, c2, c3 = st.columns(3)
    v.code = c1.text_input(t("mf_code"), v.code, key=f"{k}_code", disabled=fixed, help=t("mf_code_help"),
                           placeholder="repeat_rate")
    _field(slots, "code", c1)
    v.name = c2.text_input(t("mf_name"), v.name, key=f"{k}_name")
    _field(slots, "name", c2)
    v.name_en = c3.text_input(t("mf_name_en"), v.name_en, key=f"{k}_name_en")
    _field(slots, "name_en", c3)
    v.description = st.text_area(t("mf_description"), v.description, key=f"{k}_description", height=68,
                                 help=t("mf_description_help"))
    _field(slots, "description")
    c1, c2, c3, c4 = st.columns(4)
    v.unit = c1.text_input(t("mf_unit"), v.unit, key=f"{k}_unit", help=t("mf_unit_help", examples=UNITS))
    _field(slots, "unit", c1)
    v.perspective = _choice(c2, t("mf_perspective"), "perspective", v.perspective, f"{k}_perspective", none=True)
    _field(slots, "perspective", c2)
    v.kind = _choice(c3, t("mf_kind"), "kind", v.kind, f"{k}_kind", none=True)
    _field(slots, "kind", c3)
    v.owner = c4.text_input(t("mf_owner"), v.owner, key=f"{k}_owner", help=t("mf_owner_help"))
    _field(slots, "owner", c4)
    v.tags = st.text_input(t("mf_tags"), v.tags, key=f"{k}_tags", help=t("mf_tags_help"))
    _field(slots, "tags")


def _judging(v: FormValues, k: str, slots: dict) -> None:
    st.markdown(f"**{t('mf_judging')}**")
    c1, c2, c3, c4 = st.columns(4)
    v.direction = _choice(c1, t("mf_direction"), "direction", v.direction, f"{k}_direction")
    _field(slots, "direction", c1)
    v.frequency = _choice(c2, t("mf_frequency"), "frequency", v.frequency, f"{k}_frequency")
    _field(slots, "frequency", c2)
    v.time_agg = _choice(c3, t("mf_time_agg"), "time_agg", v.time_agg, f"{k}_time_agg")
    _field(slots, "time_agg", c3)
    v.org_agg = _choice(c4, t("mf_org_agg"), "org_agg", v.org_agg, f"{k}_org_agg")
    _field(slots, "org_agg", c4)
    if form.HAS_DUE_DAY:
        v.due_day = st.number_input(t("mf_due_day"), 1, 28, v.due_day, key=f"{k}_due_day") or None
        _field(slots, "due_day")
    if v.direction == "in_range":
        c1, c2, _ = st.columns([1, 1, 2])
        v.low = c1.number_input(t("mf_low"), value=v.low, key=f"{k}_low", format="%g", help=t("mf_range_help"))
        v.high = c2.number_input(t("mf_high"), value=v.high, key=f"{k}_high", format="%g", help=t("mf_range_help"))
        _field(slots, "range")
    v.custom_thresholds = st.checkbox(t("mf_own_thresholds"), v.custom_thresholds, key=f"{k}_own_thresholds")
    if v.custom_thresholds:
        c1, c2, _ = st.columns([1, 1, 2])
        v.green = c1.number_input(t("mf_green"), value=v.green, min_value=0.0, step=1.0, format="%g",
                                  key=f"{k}_green")
        v.amber = c2.number_input(t("mf_amber"), value=v.amber, min_value=0.0, step=1.0, format="%g",
                                  key=f"{k}_amber")
    else:
        defaults = settings.all_settings(warehouse())
        st.caption(t("mf_default_thresholds", green=f"{float(defaults['default_green']):.0%}",
                     amber=f"{float(defaults['default_amber']):.0%}"))
    _field(slots, "thresholds")


def _source(v: FormValues, k: str, slots: dict, metrics: dict[str, Metric]) -> None:
    st.markdown(f"**{t('mf_source')}**")
    v.source = st.radio(t("mf_source"), form.SOURCES, index=form.SOURCES.index(v.source), key=f"{k}_source",
                        horizontal=True, label_visibility="collapsed",
                        format_func=labels({s: t(f"mf_source_{s}") for s in form.SOURCES}))
    _field(slots, "source")
    if v.source == "dataset":
        _dataset(v, k, slots)
    elif v.source == "formula":
        v.formula = st.text_input(t("mf_formula"), v.formula, key=f"{k}_formula",
                                  help=t("mf_formula_help", example="gross_profit / revenue"))
        _field(slots, "formula")
        with st.expander(t("mf_formula_metrics")):
            st.dataframe(pd.DataFrame([{t("code"): c, t("metric"): m.display_name(lang()), t("unit"): m.unit or "—"}
                                       for c, m in metrics.items()]), hide_index=True, width="stretch",
                         placeholder="—", key=f"{k}_formula_metrics", height=240)
    _field(slots, "general")


def _dataset(v: FormValues, k: str, slots: dict) -> None:
    names = [d["name"] for d in datasets.list_datasets(warehouse())]
    if not names:
        st.info(t("mf_no_datasets"))
        _field(slots, "dataset")
        return
    options = names if v.dataset in names or not v.dataset else [v.dataset, *names]
    c1, c2 = st.columns(2)
    v.dataset = c1.selectbox(t("mf_dataset"), options, index=options.index(v.dataset) if v.dataset in options else 0,
                             key=f"{k}_dataset")
    _field(slots, "dataset", c1)
    types = form.column_types(warehouse(), v.dataset)
    columns = list(types)
    ds = f"{k}_{v.dataset}"  # widgets over the columns start again when the dataset changes
    aggs = form.AGGREGATIONS
    v.aggregation = c2.selectbox(t("mf_aggregation"), aggs, index=aggs.index(v.aggregation), key=f"{ds}_agg",
                                 format_func=labels({a: t(f"mf_agg_{a}") for a in aggs}))
    c1, c2, c3 = st.columns(3)
    if v.aggregation == "custom":
        v.measure = c1.text_input(t("mf_measure"), v.measure, key=f"{ds}_measure",
                                  help=t("mf_measure_help", example="sum(amount) / nullif(count(*), 0)"))
    else:
        fit = [c for c in columns if v.aggregation in form.fitting(types[c])]
        options = ([""] if v.aggregation == "count" else []) + (fit if v.column in fit or not v.column
                                                                 else [v.column, *fit])
        v.column = c1.selectbox(t("mf_column"), options, index=options.index(v.column) if v.column in options else 0,
                                key=f"{ds}_column_{v.aggregation}", format_func=labels({"": t("mf_all_rows")}))
        v.column = v.column or ""
    _field(slots, "measure", c1)
    v.time_column = _column(c2, t("mf_time_column"), columns, v.time_column or _guess(types, "date"), f"{ds}_time")
    _field(slots, "time_column", c2)
    v.org_column = _column(c3, t("mf_org_column"), columns, v.org_column or _guess(types, "org"), f"{ds}_org",
                           help=t("mf_org_column_help"))
    _field(slots, "org_column", c3)
    _filters(v, ds, columns)
    _field(slots, "filter")


def _column(col, label: str, columns: list[str], current: str, key: str, help: str | None = None) -> str:
    options = ["", *columns] if current in columns or not current else ["", current, *columns]
    return col.selectbox(label, options, index=options.index(current), key=key, help=help,
                         format_func=labels({"": t("mf_pick")})) or ""


def _guess(types: dict[str, str], what: str) -> str:
    """A likely date or org column of a new dataset metric (the user picks another at will)."""
    if what == "date":
        return next((c for c, ty in types.items() if ty.upper().startswith(("DATE", "TIMESTAMP"))), "")
    words = ("org", "dept", "team", "unit", "部门", "组织", "团队", "单位")
    return next((c for c, ty in types.items() if ty.upper() == "VARCHAR" and any(w in c.lower() for w in words)), "")


def _filters(v: FormValues, ds: str, columns: list[str]) -> None:
    st.markdown(t("mf_filter"))
    v.filter_by_hand = st.toggle(t("mf_filter_by_hand"), v.filter_by_hand, key=f"{ds}_by_hand")
    if v.filter_by_hand:
        v.filter_text = st.text_input(t("mf_filter_text"), v.filter_text or v.original.get("filter", ""),
                                      key=f"{ds}_filter_text",
                                      help=t("mf_filter_text_help", example="status <> 'cancelled' AND amount > 0"))
        return
    count_key, gone_key = f"{ds}_n_filters", f"{ds}_gone_filters"
    n = st.session_state.setdefault(count_key, len(v.filters))
    gone: set = st.session_state.setdefault(gone_key, set())
    rows = []
    ops = labels({o: t(f"mf_op_{o}") for o in form.OPERATORS})
    for i in range(n):
        if i in gone:
            continue
        start = v.filters[i] if i < len(v.filters) else FilterRow()
        c1, c2, c3, c4 = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
        options = [""] + columns if start.column in columns or not start.column else ["", start.column, *columns]
        shown = "visible" if not rows else "collapsed"
        column = c1.selectbox(t("mf_column"), options, index=options.index(start.column), key=f"{ds}_f{i}_col",
                              label_visibility=shown)
        op = c2.selectbox(t("mf_operator"), form.OPERATORS, index=form.OPERATORS.index(start.op),
                          key=f"{ds}_f{i}_op", format_func=ops, label_visibility=shown)
        value = c3.text_input(t("mf_value"), start.value, key=f"{ds}_f{i}_value", label_visibility=shown,
                              disabled=op in form.NO_VALUE)
        if c4.button("✕", key=f"{ds}_f{i}_remove", help=t("mf_remove")):
            gone.add(i)
            st.rerun()
        rows.append(FilterRow(column or "", op, value if op not in form.NO_VALUE else ""))
    v.filters = rows
    if not rows:
        st.caption(t("mf_no_filter"))
    if st.button(t("mf_add_filter"), key=f"{ds}_add_filter", icon=":material/add:"):
        st.session_state[count_key] = n + 1
        st.rerun()


@st.cache_data(max_entries=32, show_spinner=False)
def _preview(definition: str, data_version: int, actor: Actor, today_) -> object:
    return preview(warehouse(), Metric.model_validate_json(definition), actor=actor, today=today_)


def show_preview(metric: Metric, data_version: int) -> bool:
    """The draft's values as the cockpit would compute them; False when they cannot be computed."""
    try:
        p = _preview(metric.model_dump_json(exclude_unset=True), data_version, user(), today())
    except KpiError as exc:
        show_problems(exc)
        return False
    if not p.units:
        return True
    st.caption(t("mf_preview_for", unit=md(p.names[p.units[0]]), n=len(p.periods)))
    rows = []
    for i, unit in enumerate(p.units):
        row = {t("org_unit"): ("" if i == 0 else "\u3000") + p.names[unit]}
        for period in p.periods:
            cell = p.cells[(unit, period)]
            shown = fmt.value(cell.actual, metric.unit, lang())
            if cell.actual is not None and cell.status in JUDGED:  # no symbol beside a value without a target
                shown = f"{STATUS_STYLE[cell.status][1]} {shown}"
            elif cell.actual is not None and not cell.status:
                shown = f"{PENDING} {shown}"
            row[period] = shown
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder="—",
                 key=f"mf_preview_{metric.code}")
    st.caption(t("mf_preview_empty") if p.empty else t("mf_preview_legend"))
    if p.unmapped:
        st.caption(t("mf_unmapped", n=f"{p.unmapped:,}"))
    return True


def _save(v: FormValues, reason: str, key: str, *, new: bool) -> None:
    try:
        result = form.save(warehouse(), v, reason=reason, user=user(), new=new)
    except KpiError as exc:
        show_problems(exc)
        return
    if result.created or result.updated:
        word = "mf_saved_new" if result.created else "mf_saved_version"
        flash("success", t(word, name=md(v.name), code=md(v.code)))
    else:
        flash("info", t("mf_unchanged"))
    st.session_state["mc_code"] = v.code.strip()
    renewed(key)  # the form starts again: empty for a new metric, from the saved version for this one
    st.rerun()
