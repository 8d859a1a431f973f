"""A metric's definition (the YAML model of the metric dictionary, 指标中心) and its checks; no I/O."""

from __future__ import annotations

from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kpi_core.model.expressions import ExpressionError, check_filter, check_formula, check_measure
from kpi_core.model.messages import Msg
from kpi_core.model.validation import FieldText, explain, path_of, raised, shown

Direction = Literal["higher_is_better", "lower_is_better", "in_range"]


Perspective = Literal["financial", "customer", "internal_process", "learning_growth"]


Kind = Literal["result", "process", "growth"]


Frequency = Literal["month", "quarter", "year"]


TimeAgg = Literal["sum", "avg", "last", "min", "max"]


OrgAgg = Literal["sum", "avg", "none"]


Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSource(_Strict):
    dataset: str = Field(min_length=1)
    measure: str = Field(min_length=1)
    filter: str | None = None
    time_column: str = Field(min_length=1)
    org_column: str = Field(min_length=1)


class FormulaSource(_Strict):
    formula: str = Field(min_length=1)


class Range(_Strict):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(Msg("model_range_low_above_high", low=f"{self.low:g}", high=f"{self.high:g}"))
        return self


class Thresholds(_Strict):
    green: float = 1.0
    amber: float = 0.9

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.amber > self.green:
            raise ValueError(Msg("model_amber_above_green", amber=f"{self.amber:g}", green=f"{self.green:g}"))
        return self


class ScoreRule(_Strict):
    floor: float = 0.0
    cap: float = 1.2


class Allowed(_Strict):
    """The values an uploaded actual may take (e.g. 0..1 for a fraction)."""

    min: float | None = None
    max: float | None = None


class Metric(_Strict):
    """One metric definition, as in SPEC §4."""

    code: Code
    name: str = Field(min_length=1)
    name_en: str | None = None
    description: str | None = None
    unit: str | None = None
    direction: Direction = "higher_is_better"
    range: Range | None = None
    perspective: Perspective | None = None
    kind: Kind | None = None
    owner: str | None = None
    frequency: Frequency = "month"
    time_agg: TimeAgg = "sum"
    org_agg: OrgAgg = "sum"
    source: Literal["manual"] | DatasetSource | FormulaSource
    thresholds: Thresholds = Thresholds()
    score: ScoreRule = ScoreRule()
    tags: list[str] = []
    allowed: Allowed | None = None
    # How a yearly/quarterly target spreads over months: even | last_year | a named profile.
    phasing: str = Field(default="even", pattern=r"^[a-z][a-z0-9_]*$")
    # The day of the month after the period by which its actuals are due (SPEC §9's late-data alerts).
    due_day: int | None = None

    @field_validator("due_day")
    @classmethod
    def _due_day_in_month(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 28:  # 28: every month has that day
            raise ValueError(Msg("alert_due_day_range", value=value))
        return value

    @model_validator(mode="after")
    def _range_for_in_range(self) -> Metric:
        if self.direction == "in_range" and self.range is None:
            raise ValueError(Msg("model_in_range_needs_range"))
        return self

    @property
    def source_type(self) -> str:
        if self.source == "manual":
            return "manual"
        return "dataset" if isinstance(self.source, DatasetSource) else "formula"

    def definition(self) -> dict:
        """The definition as written: fields left out stay out (SMART reads that)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def display_name(self, lang: str = "zh") -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


SMART_CHECKS: list[tuple[str, str, Msg]] = [
    # (letter, field, what its absence means, after the letter: "S specific: …")
    ("S", "description", Msg("model_smart_gap_s")),
    ("M", "unit", Msg("model_smart_gap_m")),
    ("A", "owner", Msg("model_smart_gap_a")),
    ("R", "perspective", Msg("model_smart_gap_r")),
    ("T", "frequency", Msg("model_smart_gap_t")),
]


def smart_gaps(metric: Metric) -> list[str]:
    """The SMART criteria a definition leaves open, as 'S …' lines."""
    written = metric.definition()
    return [gap for _, fld, gap in SMART_CHECKS if not written.get(fld)]


def _labels(prefix: str, values: tuple[str, ...], *names: Msg) -> dict[str, Msg]:
    """The names of a choice's values, in its order (each code checked to be its value's)."""
    assert all(n.code == f"{prefix}{v}" for v, n in zip(values, names, strict=True))
    return dict(zip(values, names, strict=True))


# The names a person reads for each field of a definition, and for the values of its choices.
CHOICES: dict[str, dict[str, Msg]] = {
    "direction": _labels("model_choice_direction_", Direction.__args__, Msg("model_choice_direction_higher_is_better"),
                         Msg("model_choice_direction_lower_is_better"), Msg("model_choice_direction_in_range")),
    "perspective": _labels("model_choice_perspective_", Perspective.__args__,
                           Msg("model_choice_perspective_financial"), Msg("model_choice_perspective_customer"),
                           Msg("model_choice_perspective_internal_process"),
                           Msg("model_choice_perspective_learning_growth")),
    "kind": _labels("model_choice_kind_", Kind.__args__, Msg("model_choice_kind_result"),
                    Msg("model_choice_kind_process"), Msg("model_choice_kind_growth")),
    "frequency": _labels("model_choice_frequency_", Frequency.__args__, Msg("model_choice_frequency_month"),
                         Msg("model_choice_frequency_quarter"), Msg("model_choice_frequency_year")),
    "time_agg": _labels("model_choice_agg_", TimeAgg.__args__, Msg("model_choice_agg_sum"), Msg("model_choice_agg_avg"),
                        Msg("model_choice_agg_last"), Msg("model_choice_agg_min"), Msg("model_choice_agg_max")),
    "org_agg": _labels("model_choice_agg_", OrgAgg.__args__, Msg("model_choice_agg_sum"), Msg("model_choice_agg_avg"),
                       Msg("model_choice_agg_none")),
}
LABELS: dict[str, Msg] = {
    "code": Msg("model_metric_field_code"), "name": Msg("model_metric_field_name"),
    "name_en": Msg("model_metric_field_name_en"), "description": Msg("model_metric_field_description"),
    "unit": Msg("model_metric_field_unit"), "direction": Msg("model_metric_field_direction"),
    "range": Msg("model_metric_field_range"), "range.low": Msg("model_metric_field_range_low"),
    "range.high": Msg("model_metric_field_range_high"), "perspective": Msg("model_metric_field_perspective"),
    "kind": Msg("model_metric_field_kind"), "owner": Msg("model_metric_field_owner"),
    "frequency": Msg("model_metric_field_frequency"), "time_agg": Msg("model_metric_field_time_agg"),
    "org_agg": Msg("model_metric_field_org_agg"), "source": Msg("model_metric_field_source"),
    "source.dataset": Msg("model_metric_field_dataset"), "source.measure": Msg("model_metric_field_measure"),
    "source.filter": Msg("model_metric_field_filter"), "source.time_column": Msg("model_metric_field_time_column"),
    "source.org_column": Msg("model_metric_field_org_column"), "source.formula": Msg("model_metric_field_formula"),
    "thresholds": Msg("model_metric_field_thresholds"), "thresholds.green": Msg("model_metric_field_green"),
    "thresholds.amber": Msg("model_metric_field_amber"), "score": Msg("model_metric_field_score"),
    "score.floor": Msg("model_metric_field_floor"), "score.cap": Msg("model_metric_field_cap"),
    "tags": Msg("model_metric_field_tags"), "allowed": Msg("model_metric_field_allowed"),
    "allowed.min": Msg("model_metric_field_allowed_min"), "allowed.max": Msg("model_metric_field_allowed_max"),
    "phasing": Msg("model_metric_field_phasing"), "due_day": Msg("alert_metric_field_due_day"),
}
METRIC_FIELDS: dict[str, FieldText] = {path: FieldText(label, CHOICES.get(path, {}))
                                      for path, label in LABELS.items()}
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(Metric.model_fields), "source": (*DatasetSource.model_fields, *FormulaSource.model_fields),
    "range": tuple(Range.model_fields), "thresholds": tuple(Thresholds.model_fields),
    "score": tuple(ScoreRule.model_fields), "allowed": tuple(Allowed.model_fields),
}


def field_problems(item: dict, err: ValidationError) -> list[tuple[str, Msg]]:
    """Each problem pydantic found in one definition as (field path, message in words), once each.

    `source` is one of three shapes; pydantic reports every shape it tried, so only the shape
    the definition means is reported: a mapping naming `formula` is a formula, one naming
    `dataset` (or measure, columns, filter) a dataset, and anything else is asked to be one."""
    src, dataset_keys = item.get("source"), set(DatasetSource.model_fields)
    keys = set(src) if isinstance(src, dict) else set()
    if "formula" in keys and keys & dataset_keys:
        both = Msg("model_metric_source_both", dataset="dataset", formula="formula")
        return [("source", both)] + _rest(err, "source")
    branch = "FormulaSource" if "formula" in keys else "DatasetSource" if keys & dataset_keys else None
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        if loc[:1] == ("source",) and "source" in item:
            if branch is None:
                kind = Msg("model_metric_source_kind", manual="manual", dataset="dataset", formula="formula")
                out.append(("source", Msg("model_problem_got", problem=kind, got=shown(src))))
                continue
            if len(loc) < 2 or loc[1] != branch:
                continue
            loc = (loc[0], *loc[2:])
        e = {**e, "loc": loc}
        own = raised(e)
        if own is not None and own.code == "model_in_range_needs_range":  # said with the direction's name
            out.append(("range", Msg("model_metric_range_needed", direction=CHOICES["direction"]["in_range"])))
            continue
        out.append((path_of(loc), explain(e, METRIC_FIELDS, KNOWN_KEYS)))
    return list(dict.fromkeys(out))


def _rest(err: ValidationError, but: str) -> list[tuple[str, Msg]]:
    """The problems outside one field."""
    return [(path_of(e["loc"]), explain(e, METRIC_FIELDS, KNOWN_KEYS)) for e in err.errors()
            if tuple(e["loc"])[:1] != (but,)]


def _pydantic_message(code: str, item: dict, err: ValidationError) -> list[str]:
    return [Msg("model_metric_problem", metric=code, problem=problem) for _, problem in field_problems(item, err)]


def parse_metrics(raw: list[tuple[str, dict]]) -> tuple[list[Metric], list[str]]:
    """Validated models and every problem found (each naming the metric and field)."""
    metrics, problems, seen = [], [], {}
    for i, (fname, item) in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(Msg("model_metric_not_mapping", file=fname, number=i))
            continue
        code = str(item.get("code", f"#{i}"))
        try:
            m = Metric.model_validate(item)
        except ValidationError as err:
            problems.extend(Msg("model_in_file", file=fname, problem=p) for p in _pydantic_message(code, item, err))
            continue
        if m.code in seen:
            problems.append(Msg("model_metric_defined_twice", file=fname, metric=m.code, other=seen[m.code]))
            continue
        seen[m.code] = fname
        metrics.append(m)
    return metrics, problems


def check_references(metrics: dict[str, Metric], dataset_columns: dict[str, list[str]]) -> list[str]:
    """Datasets, columns, functions and formula references of a whole dictionary."""
    problems = []
    graph: dict[str, list[str]] = {}
    for m in metrics.values():
        src = m.source
        try:
            if isinstance(src, DatasetSource):
                cols = dataset_columns.get(src.dataset)
                if cols is None:
                    if not dataset_columns:
                        raise ExpressionError(Msg("model_dataset_not_imported_none", dataset=src.dataset))
                    raise ExpressionError(Msg("model_dataset_not_imported", dataset=src.dataset,
                                              datasets=", ".join(sorted(dataset_columns))))
                check_measure(src.measure, cols)
                if src.filter:
                    check_filter(src.filter, cols)
                for what, col in (("time_column", src.time_column), ("org_column", src.org_column)):
                    if col not in cols:
                        raise ExpressionError(Msg("model_not_a_column", field=what, column=col, dataset=src.dataset))
            elif isinstance(src, FormulaSource):
                _, codes = check_formula(src.formula)
                unknown = [c for c in codes if c not in metrics]
                if unknown:
                    raise ExpressionError(Msg("model_formula_unknown_metrics", formula=src.formula,
                                              metrics=", ".join(unknown)))
                graph[m.code] = codes
        except ExpressionError as exc:
            why = exc.args[0] if len(exc.args) == 1 else str(exc)  # the message itself, keeping its code
            problems.append(Msg("model_metric_problem", metric=m.code, problem=why))
    problems += [Msg("model_metric_problem", metric=c[0], problem=Msg("model_formula_cycle", cycle=" -> ".join(c)))
                 for c in _cycles(graph)]
    return problems


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly tangled start, found by depth-first search."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in graph.get(node, []):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def to_yaml(metrics: list[Metric]) -> str:
    """YAML that applies back to the same definitions."""
    return yaml.safe_dump({"metrics": [m.definition() for m in metrics]}, allow_unicode=True,
                          sort_keys=False, width=100)
