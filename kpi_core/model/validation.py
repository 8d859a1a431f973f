"""What pydantic found wrong with a model (a metric, a board), as a message.

`field_problem` keeps pydantic's own words for what it checked (boards, scorecards). `explain`
says it in the reader's language instead: the field by its name in the catalogs, and what a valid
value is ("编码只能用小写字母、数字和下划线，且以字母开头", "方向必须是：越高越好……"); a model
gives it a table of its fields (see `FieldText`, and `METRIC_FIELDS` in model/metric.py)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from kpi_core.model.messages import Msg


def field_problem(e: dict) -> str:
    """One pydantic error: our own message as raised by a check (its code kept), else pydantic's text."""
    if e["type"] == "extra_forbidden":
        return Msg("model_unknown_field")
    error = raised(e)
    if error is not None:
        return error
    return e["msg"].replace("Value error, ", "")


def raised(e: dict) -> Msg | None:
    """The message a model's own check raised (a ValueError holding a Msg), if that is the error."""
    error = (e.get("ctx") or {}).get("error")
    if isinstance(error, ValueError) and error.args and isinstance(error.args[0], Msg):
        return error.args[0]
    return None


@dataclass(frozen=True)
class FieldText:
    """How a model's field is named to a person, and the names of the values it may take."""

    label: Msg
    choices: Mapping[str, Msg] = field(default_factory=dict)  # value -> its name (literal fields)


# What a valid value looks like, by the pattern a field must match.
PATTERN_RULES: dict[str, str] = {
    r"^[a-z][a-z0-9_]*$": "model_rule_lower_code",
}
_NUMBER = ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float", "finite_number",
           "decimal_parsing", "decimal_type")
_SHOW_INPUT = ("literal_error", "string_pattern_mismatch", "string_type", *_NUMBER, "list_type",
               "model_type", "dict_type", "model_attributes_type")


def path_of(loc: tuple) -> str:
    """A pydantic location as a dotted field path, validator names and list positions left out
    ('tags.0' -> 'tags'). A model with a union drops its branch names first (model/metric.py)."""
    return ".".join(str(p) for p in loc if not isinstance(p, int) and not str(p).startswith(("function-", "literal[")))


def explain(e: dict, fields: Mapping[str, FieldText], known: Mapping[str, tuple[str, ...]] | None = None) -> Msg:
    """One pydantic error in words: the field named from `fields` (by dotted path), what is wrong
    and what a valid value is. `known` lists the keys each mapping may hold (by the path of the
    mapping, '' for the top), so an unknown key can name the nearest known one."""
    path = path_of(e["loc"])
    spec = fields.get(path)
    label: object = spec.label if spec else (path or Msg("model_rule_definition"))
    kind, ctx = e["type"], e.get("ctx") or {}
    own = raised(e)
    if own is not None:
        return Msg("model_field_problem", path=label, problem=own) if path else Msg("model_definition_problem",
                                                                                     problem=own)
    if kind == "extra_forbidden":
        parent, _, key = path.rpartition(".")
        near = difflib.get_close_matches(key, (known or {}).get(parent, ()), n=1)
        return Msg("model_field_problem", path=path, problem=Msg("model_value_unknown_key_near", near=near[0])
                   if near else Msg("model_unknown_field"))
    if kind == "missing":
        problem = Msg("model_value_required", field=label)
    elif kind == "literal_error" and spec and spec.choices:
        problem = Msg("model_value_one_of", field=label,
                      choices=[Msg("model_value_choice", value=v, label=name) for v, name in spec.choices.items()])
    elif kind == "string_pattern_mismatch":
        rule = PATTERN_RULES.get(str(ctx.get("pattern")))
        problem = (Msg("model_value_rule", field=label, rule=Msg(rule)) if rule
                   else Msg("model_value_pattern", field=label, pattern=str(ctx.get("pattern"))))
    elif kind == "string_too_short":
        n = int(ctx.get("min_length", 1))
        problem = Msg("model_value_empty", field=label) if n <= 1 else Msg("model_value_too_short", field=label, n=n)
    elif kind == "string_too_long":
        problem = Msg("model_value_too_long", field=label, n=int(ctx.get("max_length", 0)))
    elif kind == "string_type":
        problem = Msg("model_value_not_text", field=label)
    elif kind in _NUMBER:
        problem = Msg("model_value_not_number", field=label)
    elif kind == "list_type":
        problem = Msg("model_value_not_list", field=label)
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        problem = Msg("model_value_not_mapping", field=label)
    elif kind == "bool_parsing" or kind == "bool_type":
        problem = Msg("model_value_not_bool", field=label)
    else:  # a check pydantic words and we have no text for yet: its own words, under the field's name
        return Msg("model_field_problem", path=label, problem=e["msg"].replace("Value error, ", ""))
    if kind in _SHOW_INPUT:
        problem = Msg("model_problem_got", problem=problem, got=shown(e.get("input")))
    return problem


def shown(value: object) -> str:
    """A refused value as a message quotes it: short, on one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
