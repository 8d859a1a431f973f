"""The metric form of the metric center (指标中心): a definition made from fields instead of YAML.

The form's values (`FormValues`) become the same definition mapping a YAML file holds
(`to_definition`), and an existing definition fills the form (`from_definition`). A measure is an
aggregation over a column (or an expression written by hand), a filter is rows of column ·
operator · value (or a condition written by hand); both become SQL fragments built as SQLGlot
syntax trees, so a value is always a quoted literal (services/metric_fragments.py). `check` runs
the definition through every check of `metrics apply` (the model, then the dictionary's
references and phasing, as the YAML editor does) and places each problem at the form field it is
about. `save` stores it with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from kpi_core.model.access import Actor, as_actor, roles_with
from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.metric import CHOICES, Metric, field_problems
from kpi_core.services import metric_catalog as catalog
from kpi_core.services.metric_fragments import (
    AGGREGATIONS,
    LIST_SPLIT,
    NO_VALUE,
    OPERATORS,
    FilterRow,
    filter_text,
    fitting,
    measure_text,
    parse_filter,
    parse_measure,
    same_sql,
)
from kpi_core.store import datasets, dictionary
from kpi_core.store.warehouse import Warehouse

SOURCES = ("manual", "dataset", "formula")
AGGREGATION_NAMES = {"sum": Msg("services_aggregation_sum"), "count": Msg("services_aggregation_count"),
                     "count_distinct": Msg("services_aggregation_count_distinct"),
                     "avg": Msg("services_aggregation_avg"), "min": Msg("services_aggregation_min"),
                     "max": Msg("services_aggregation_max"), "median": Msg("services_aggregation_median"),
                     "custom": Msg("services_aggregation_custom")}
HAS_DUE_DAY = "due_day" in Metric.model_fields  # SPEC §9's due day, once the model holds it
FORM = Msg("services_metric_form")  # where the form's definition comes from, as a problem names it
# Fields whose default the form shows: a new metric writes them (SMART reads a written frequency);
# an edited one only when its definition had them or they differ, so an untouched edit changes nothing.
DEFAULTED = {"direction": "higher_is_better", "frequency": "month", "time_agg": "sum", "org_agg": "sum"}
HANDLED = frozenset({"code", "name", "name_en", "description", "unit", "direction", "range", "perspective", "kind",
                     "owner", "frequency", "time_agg", "org_agg", "source", "thresholds", "tags", "due_day"})


@dataclass
class FormValues:
    """What the form holds; strings as typed (empty: not given), numbers as entered."""

    code: str = ""
    name: str = ""
    name_en: str = ""
    description: str = ""
    unit: str = ""
    direction: str = "higher_is_better"
    low: float | None = None
    high: float | None = None
    perspective: str | None = None
    kind: str | None = None
    owner: str = ""
    frequency: str = "month"
    due_day: int | None = None
    time_agg: str = "sum"
    org_agg: str = "sum"
    custom_thresholds: bool = False
    green: float = 100.0  # attainment in per cent, as the form shows it
    amber: float = 90.0
    tags: str = ""  # comma separated
    source: str = "manual"
    dataset: str = ""
    aggregation: str = "sum"
    column: str = ""
    measure: str = ""  # the measure written by hand (aggregation "custom")
    filters: list[FilterRow] = field(default_factory=list)
    filter_by_hand: bool = False
    filter_text: str = ""  # the condition written by hand
    time_column: str = ""
    org_column: str = ""
    formula: str = ""
    written: frozenset[str] = frozenset()  # the fields the definition being edited had
    keep: dict = field(default_factory=dict)  # fields the form does not edit (score, allowed, phasing, …)
    original: dict = field(default_factory=dict)  # the source as the definition being edited wrote it


def may_edit(actor: Actor | str) -> bool:
    """Whether the user may change the metric dictionary (the form is shown to them)."""
    return as_actor(actor).role in roles_with("metrics")


# --- form values and definitions ---------------------------------------------------------------

def from_definition(d: dict) -> FormValues:
    """The form filled from a definition (as stored or as YAML holds it)."""
    v = FormValues(written=frozenset(d), keep={k: x for k, x in d.items() if k not in HANDLED})
    for name in ("code", "name", "name_en", "description", "unit", "owner"):
        setattr(v, name, str(d.get(name) or ""))
    for name, default in DEFAULTED.items():
        setattr(v, name, d.get(name, default))
    v.perspective, v.kind = d.get("perspective"), d.get("kind")
    v.due_day = d.get("due_day")
    if isinstance(d.get("range"), dict):
        v.low, v.high = d["range"].get("low"), d["range"].get("high")
    if isinstance(d.get("thresholds"), dict):
        v.custom_thresholds = True
        v.green = round(float(d["thresholds"].get("green", 1.0)) * 100, 6)
        v.amber = round(float(d["thresholds"].get("amber", 0.9)) * 100, 6)
    v.tags = ", ".join(str(t) for t in d.get("tags") or [])
    src = d.get("source", "manual")
    if isinstance(src, dict) and "formula" in src:
        v.source, v.formula = "formula", str(src["formula"])
    elif isinstance(src, dict):
        v.source, v.original = "dataset", dict(src)
        v.dataset, v.time_column, v.org_column = (str(src.get(k) or "") for k in ("dataset", "time_column",
                                                                                 "org_column"))
        simple = parse_measure(str(src.get("measure") or ""))
        v.aggregation, v.column = simple if simple else ("custom", "")
        v.measure = str(src.get("measure") or "")
        rows = parse_filter(str(src["filter"])) if src.get("filter") else []
        v.filters, v.filter_by_hand, v.filter_text = (rows, False, "") if rows is not None else (
            [], True, str(src["filter"]))
    return v


def to_definition(v: FormValues, types: Mapping[str, str] | None = None) -> tuple[dict, dict[str, list[Msg]]]:
    """The definition the form's values make, and what building it found wrong (a filter value
    that is not of its column's type), by form field. `types`: the dataset's column types."""
    d: dict = {}
    for name in ("code", "name", "name_en", "description", "unit"):  # empty: not given ("请填写名称")
        if getattr(v, name).strip():
            d[name] = getattr(v, name).strip()
    new = not v.written  # a new metric writes what the form showed; an edited one keeps what it left out
    if new or v.direction != DEFAULTED["direction"] or "direction" in v.written:
        d["direction"] = v.direction
    if v.direction == "in_range" and v.low is not None and v.high is not None:
        d["range"] = {"low": v.low, "high": v.high}
    for name in ("perspective", "kind"):
        if getattr(v, name):
            d[name] = getattr(v, name)
    if v.owner.strip():
        d["owner"] = v.owner.strip()
    for name in ("frequency", "time_agg", "org_agg"):
        if new or getattr(v, name) != DEFAULTED[name] or name in v.written:
            d[name] = getattr(v, name)
    if HAS_DUE_DAY and v.due_day:
        d["due_day"] = v.due_day
    source, problems = _source(v, types or {})
    d["source"] = source
    if v.custom_thresholds:
        d["thresholds"] = {"green": round(v.green / 100, 6), "amber": round(v.amber / 100, 6)}
        if v.amber > v.green:  # said in per cent, as the form shows them
            problems["thresholds"] = [Msg("services_amber_above_green", amber=f"{v.amber:g}%", green=f"{v.green:g}%")]
    tags = [t for t in LIST_SPLIT.split(v.tags.strip()) if t]
    if tags:
        d["tags"] = tags
    return {**d, **v.keep}, problems


def _source(v: FormValues, types: Mapping[str, str]) -> tuple[object, dict[str, list[Msg]]]:
    if v.source == "formula":
        return ({"formula": v.formula.strip()} if v.formula.strip() else {"formula": ""}), {}
    if v.source != "dataset":
        return "manual", {}
    problems: dict[str, list[Msg]] = {}
    src: dict = {"dataset": v.dataset}
    if v.aggregation == "custom":
        measure = v.measure.strip()
    else:
        measure = measure_text(v.aggregation, v.column)
        if not measure:
            problems["measure"] = [Msg("services_measure_needs_column")]
        elif v.column in types and v.aggregation not in fitting(types[v.column]):
            problems["measure"] = [Msg("services_measure_column_type", column=v.column, type=types[v.column],
                                       aggregation=AGGREGATION_NAMES[v.aggregation])]
    if measure:
        old = str(v.original.get("measure") or "")
        src["measure"] = old if old and same_sql(old, measure) else measure
    if v.filter_by_hand:
        flt = v.filter_text.strip()
    else:
        flt, wrong = filter_text(v.filters, types)
        if wrong:
            problems["filter"] = wrong
    if flt:
        old = str(v.original.get("filter") or "")
        src["filter"] = old if old and same_sql(old, flt) else flt
    for name in ("time_column", "org_column"):
        if getattr(v, name):
            src[name] = getattr(v, name)
    return src, problems


# --- checking and saving ---------------------------------------------------------------------------

@dataclass
class Checked:
    """A definition and every problem found in it: by form field, and those of no one field."""

    definition: dict
    metric: Metric | None = None  # set when the definition passes every check
    problems: dict[str, list[Msg]] = field(default_factory=dict)
    general: list[Msg] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.metric is not None and not self.problems and not self.general

    def add(self, where: str, problem: Msg) -> None:
        if where == "general":
            self.general.append(problem)
        elif problem not in self.problems.get(where, []):
            self.problems.setdefault(where, []).append(problem)


# Where a problem the model or the dictionary finds is shown, by the definition's field path.
FORM_FIELD = {"range.low": "range", "range.high": "range", "thresholds.green": "thresholds",
              "thresholds.amber": "thresholds", "source.dataset": "dataset", "source.measure": "measure",
              "source.filter": "filter", "source.time_column": "time_column", "source.org_column": "org_column",
              "source.formula": "formula"}
_FRAGMENT_FIELD = {"model_fragment_measure": "measure", "model_fragment_filter": "filter",
                   "model_fragment_formula": "formula"}


def column_types(wh: Warehouse, dataset: str) -> dict[str, str]:
    """The dataset's columns and their types ({} when there is no such dataset)."""
    try:
        return {c["name"]: c["type"] for c in datasets.columns(wh, dataset)}
    except NotFound:  # said by the definition's check, at the dataset field
        return {}


def check(wh: Warehouse, v: FormValues, *, user: Actor | str, new: bool) -> Checked:
    """The form's definition checked as `metrics apply` checks it (nothing is written)."""
    definition, built = to_definition(v, column_types(wh, v.dataset) if v.source == "dataset" else {})
    out = Checked(definition)
    for where, problems in built.items():
        for p in problems:
            out.add(where, p)
    try:
        metric = Metric.model_validate(definition)
    except ValidationError as err:
        failed = set()
        for path, problem in field_problems(definition, err):
            failed.add(path.split(".")[0])
            if _form_field(path) not in built:  # said already, as the form's field says it
                out.add(_form_field(path), problem)
        _check_the_rest(wh, definition, failed | set(built), out, user)
        return out
    if new:
        taken = dictionary.current(wh).get(metric.code)
        if taken is not None:
            out.add("code", Msg("services_metric_code_taken", code=metric.code, name=taken.name))
    try:
        catalog.apply_definitions(wh, [definition], reason=None, user=user, dry_run=True, source=FORM)
    except ValidationFailed as exc:
        for p in exc.problems:
            where, problem = _placed(p, metric.code)
            out.add(where, problem)
    if not out.problems and not out.general:
        out.metric = metric
    return out


PROBE = "form_draft"  # the code a definition is checked under while its own code is wrong


def _check_the_rest(wh: Warehouse, definition: dict, failed: set[str], out: Checked, user: Actor | str) -> None:
    """While some fields are wrong, the dictionary's checks (columns, formulas) still run on the
    others, so every problem shows at once rather than one after another."""
    if "source" in failed or not isinstance(definition.get("source"), dict):
        return
    probe = {k: v for k, v in definition.items() if k not in failed and not (k == "direction" and "range" in failed)}
    code = probe.setdefault("code", PROBE)
    probe.setdefault("name", PROBE)
    if "thresholds" in failed or "range" in failed:
        probe.pop("thresholds", None)
    try:
        Metric.model_validate(probe)
        catalog.apply_definitions(wh, [probe], reason=None, user=user, dry_run=True, source=FORM)
    except ValidationError:
        return
    except ValidationFailed as exc:
        for p in exc.problems:
            where, problem = _placed(p, code)
            if where != "general" and where not in out.problems:
                out.add(where, problem)


def _form_field(path: str) -> str:
    head = path.split(".")[0]
    return FORM_FIELD.get(path, head if head in HANDLED or head in ("range", "thresholds") else "general")


def _placed(problem: Msg, code: str) -> tuple[str, Msg]:
    """The form field a dictionary check's problem is about, and the problem as shown there."""
    if not isinstance(problem, Msg) or problem.code != "model_metric_problem" or problem.params.get("metric") != code:
        return "general", problem  # another metric's, or the whole dictionary's
    why = problem.params["problem"]
    if not isinstance(why, Msg):
        return "general", problem
    if why.code.startswith("model_dataset_not_imported"):
        return "dataset", why
    if why.code == "model_not_a_column":
        return str(why.params.get("field")), why
    what = why.params.get("what")
    if isinstance(what, Msg) and what.code in _FRAGMENT_FIELD:
        return _FRAGMENT_FIELD[what.code], why
    if why.code.startswith("model_formula_"):
        return "formula", why
    return "general", problem


def save(wh: Warehouse, v: FormValues, *, reason: str | None, user: Actor | str, new: bool
         ) -> dictionary.ApplyResult:
    """Store the form's definition (a new version when it changed), with the reason; refused with
    every problem when a check fails, as `check` lists them."""
    checked = check(wh, v, user=user, new=new)
    if not checked.ok:
        problems = [*checked.general, *(p for ps in checked.problems.values() for p in ps)]
        raise ValidationFailed(Msg("services_problems", n=len(problems)), problems)
    return catalog.apply_definitions(wh, [checked.definition], reason=reason, user=user, source=FORM)


def choices(name: str) -> dict[str, Msg]:
    """The values a choice field takes and their names (direction, perspective, kind, …)."""
    return CHOICES[name]


def draft_key(definition: dict) -> str:
    """A definition as text, the same for the same definition (a cache key for its preview)."""
    return json.dumps(definition, sort_keys=True, ensure_ascii=False)


__all__ = ["AGGREGATIONS", "NO_VALUE", "OPERATORS", "Checked", "FilterRow", "FormValues", "check", "choices",
           "column_types", "filter_text", "fitting", "from_definition", "may_edit", "measure_text", "parse_filter",
           "parse_measure", "save", "to_definition"]
