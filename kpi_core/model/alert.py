"""An alert rule (SPEC §9, alerts as code): which metric(s), where, on what condition, whom to tell
and how often; the YAML `alerts:` document and its checks. No I/O."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.model.validation import FieldText, explain
from kpi_core.model.yamldoc import invalid

Include = Literal["unit", "children", "subtree"]
AlertGrain = Literal["month", "quarter", "year"]
UnitRole = Literal["manager", "team_lead", "metric_owner"]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# The conditions of `when:`, exactly one per rule (`below`/`above` go with `change_vs`).
CONDITIONS = ("status", "status_changed", "value_below", "value_above", "change_vs", "projected", "anomaly",
              "missing_after_due_day")
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
# Keys an alerts file may hold besides `alerts:`; `channels:` is applied by `channels apply`.
OTHER_KEYS = ("channels",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(Msg("alert_not_finite", value=str(value)))
    return value


def parse_duration(text: str) -> dt.timedelta:
    """'30m', '4h', '1d', '2w' as a time span; anything else refused in words."""
    found = _DURATION.match(str(text).strip())
    if not found:
        raise ValueError(Msg("alert_bad_duration", value=str(text)))
    return dt.timedelta(seconds=int(found.group(1)) * _UNIT_SECONDS[found.group(2)])


class Scope(_Strict):
    org: str = Field(min_length=1, max_length=64)
    include: Include = "unit"


class Recipient(_Strict):
    """One of: a user by name, the unit's manager / team lead or the metric's owner, a channel."""

    user: str | None = Field(default=None, min_length=1, max_length=64)
    unit_role: UnitRole | None = None
    channel: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> Recipient:
        if sum(v is not None for v in (self.user, self.unit_role, self.channel)) != 1:
            raise ValueError(Msg("alert_recipient_one"))
        return self


class When(_Strict):
    """The condition: exactly one of CONDITIONS."""

    status: Literal["red", "amber"] | None = None           # amber: amber or worse
    status_changed: Literal[True] | None = None
    value_below: float | None = None
    value_above: float | None = None
    change_vs: Literal["previous", "last_year"] | None = None
    below: float | None = None                              # with change_vs: a fraction, -0.1 = down 10 %
    above: float | None = None
    projected: Literal["miss"] | None = None
    anomaly: float | None = None                            # robust z-score threshold, e.g. 3.5
    missing_after_due_day: Literal[True] | None = None

    _numbers = field_validator("value_below", "value_above", "below", "above")(_finite)

    @field_validator("anomaly")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(Msg("alert_anomaly_positive", value=str(value)))
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> When:
        given = [c for c in CONDITIONS if getattr(self, c) is not None]
        if len(given) != 1:
            raise ValueError(Msg("alert_when_one", conditions=", ".join(CONDITIONS)))
        bounds = [b for b in ("below", "above") if getattr(self, b) is not None]
        if self.change_vs is not None and len(bounds) != 1:
            raise ValueError(Msg("alert_change_needs_bound"))
        if self.change_vs is None and bounds:
            raise ValueError(Msg("alert_bound_needs_change"))
        return self

    @property
    def kind(self) -> str:
        return next(c for c in CONDITIONS if getattr(self, c) is not None)


class AlertRule(_Strict):
    """One rule, as written in YAML and stored."""

    code: Code
    description: str | None = None
    metric: str | None = Field(default=None, min_length=1, max_length=64)
    scorecard: Literal[True] | None = None  # every metric on the scope unit's scorecard
    scope: Scope
    grain: AlertGrain = "month"
    when: When
    notify: tuple[Recipient, ...]
    renotify: str | None = None  # None: not again while it keeps firing
    enabled: bool = True

    @field_validator("notify")
    @classmethod
    def _someone(cls, value: tuple[Recipient, ...]) -> tuple[Recipient, ...]:
        if not value:  # a rule that tells nobody is a mistake, not a silent rule
            raise ValueError(Msg("alert_notify_empty"))
        return value

    @field_validator("renotify")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _what(self) -> AlertRule:
        if (self.metric is None) == (self.scorecard is None):
            raise ValueError(Msg("alert_metric_or_scorecard"))
        return self

    @property
    def renotify_after(self) -> dt.timedelta | None:
        return parse_duration(self.renotify) if self.renotify else None

    def definition(self) -> dict:
        """The rule as written: fields left out stay out."""
        return self.model_dump(mode="json", exclude_unset=True)


# The codes made from a value (f"alert_state_{state}", a choice's name): listed here so each is
# a constant in the code, as the catalogs' check of used codes reads it.
MADE_CODES = (
    "alert_change_vs_last_year", "alert_change_vs_previous", "alert_grain_month", "alert_grain_quarter",
    "alert_grain_year", "alert_include_children", "alert_include_subtree", "alert_include_unit",
    "alert_role_manager", "alert_role_metric_owner", "alert_role_team_lead", "alert_state_acknowledged",
    "alert_state_firing", "alert_state_ok", "alert_state_resolved", "alert_state_snoozed", "alert_status_amber",
    "alert_status_red", "alert_status_word_amber", "alert_status_word_green", "alert_status_word_no_data",
    "alert_status_word_no_target", "alert_status_word_red",
)


def _choices(prefix: str, values: tuple[str, ...]) -> dict[str, Msg]:
    return {v: Msg(f"{prefix}{v}") for v in values}


# How each field is named to a person (validation.explain reads this table).
ALERT_FIELDS: dict[str, FieldText] = {
    "code": FieldText(Msg("alert_field_code")), "description": FieldText(Msg("alert_field_description")),
    "metric": FieldText(Msg("alert_field_metric")), "scorecard": FieldText(Msg("alert_field_scorecard")),
    "scope": FieldText(Msg("alert_field_scope")), "scope.org": FieldText(Msg("alert_field_scope_org")),
    "scope.include": FieldText(Msg("alert_field_scope_include"), _choices("alert_include_", Include.__args__)),
    "grain": FieldText(Msg("alert_field_grain"), _choices("alert_grain_", AlertGrain.__args__)),
    "when": FieldText(Msg("alert_field_when")),
    "when.status": FieldText(Msg("alert_field_status"), _choices("alert_status_", ("red", "amber"))),
    "when.status_changed": FieldText(Msg("alert_field_status_changed"), {"true": Msg("alert_true")}),
    "when.value_below": FieldText(Msg("alert_field_value_below")),
    "when.value_above": FieldText(Msg("alert_field_value_above")),
    "when.change_vs": FieldText(Msg("alert_field_change_vs"), _choices("alert_change_vs_", ("previous", "last_year"))),
    "when.below": FieldText(Msg("alert_field_below")), "when.above": FieldText(Msg("alert_field_above")),
    "when.projected": FieldText(Msg("alert_field_projected"), {"miss": Msg("alert_projected_miss")}),
    "when.anomaly": FieldText(Msg("alert_field_anomaly")),
    "when.missing_after_due_day": FieldText(Msg("alert_field_missing"), {"true": Msg("alert_true")}),
    "notify": FieldText(Msg("alert_field_notify")), "notify.user": FieldText(Msg("alert_field_user")),
    "notify.unit_role": FieldText(Msg("alert_field_unit_role"), _choices("alert_role_", UnitRole.__args__)),
    "notify.channel": FieldText(Msg("alert_field_channel")),
    "renotify": FieldText(Msg("alert_field_renotify")), "enabled": FieldText(Msg("alert_field_enabled")),
}
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(AlertRule.model_fields), "scope": tuple(Scope.model_fields), "when": tuple(When.model_fields),
    "notify": tuple(Recipient.model_fields),
}


def document(text: str, source: str) -> tuple[list, dict[str, object]]:
    """The `alerts:` list of a YAML text and what it holds under keys another command applies
    (`channels:`); any other key, or no `alerts:` list, is refused naming the file."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(invalid(source, text, exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("alerts"), list):
        raise ValidationFailed(Msg("model_yaml_needs_list", source=source, key="alerts"))
    extra = sorted(set(doc) - {"alerts", *OTHER_KEYS})
    if extra:
        raise ValidationFailed(Msg("model_yaml_unknown_keys", source=source, keys=", ".join(map(str, extra))))
    return doc["alerts"], {k: doc[k] for k in OTHER_KEYS if k in doc}


def channel_names(others: dict[str, object]) -> list[str]:
    """The names of the channels a document's `channels:` list defines."""
    listed = others.get("channels")
    return [str(c["name"]) for c in listed if isinstance(c, dict) and c.get("name")] if isinstance(listed, list) else []


def parse_rules(raw: list, source: str) -> tuple[list[AlertRule], list[Msg]]:
    """Validated rules from an `alerts:` list and every problem found, each naming the rule and field."""
    rules, problems, seen = [], [], set()
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(Msg("alert_not_mapping", file=source, number=i))
            continue
        code = str(item.get("code", f"#{i}"))
        try:
            rule = AlertRule.model_validate(item)
        except ValidationError as err:
            found = dict.fromkeys(explain(e, ALERT_FIELDS, KNOWN_KEYS) for e in err.errors())
            problems += [Msg("alert_rule_problem", file=source, rule=code, problem=p) for p in found]
            continue
        if rule.code in seen:
            problems.append(Msg("alert_rule_twice", file=source, rule=rule.code))
            continue
        seen.add(rule.code)
        rules.append(rule)
    return rules, problems


def check_rule(rule: AlertRule, metrics: dict[str, Metric], tree: OrgTree, users: set[str],
               channels: set[str] | None) -> list[Msg]:
    """What a valid rule names that the warehouse does not have: a metric, a unit, a user, a
    channel (None: channels are not checked), or a due day the late-data condition needs."""
    problems = []
    if rule.metric is not None and rule.metric not in metrics:
        problems.append(Msg("alert_unknown_metric", rule=rule.code, metric=rule.metric))
    if rule.scope.org not in tree:
        problems.append(Msg("alert_unknown_unit", rule=rule.code, org=rule.scope.org))
    for r in rule.notify:
        if r.user is not None and r.user not in users:
            problems.append(Msg("alert_unknown_user", rule=rule.code, user=r.user))
        if r.channel is not None and channels is not None and r.channel not in channels:
            problems.append(Msg("alert_unknown_channel", rule=rule.code, channel=r.channel,
                                known=", ".join(sorted(channels)) or "-"))
    m = metrics.get(rule.metric or "")
    if rule.when.kind == "missing_after_due_day" and m is not None and m.due_day is None:
        problems.append(Msg("alert_metric_no_due_day", rule=rule.code, metric=m.code))
    return problems


def to_yaml(rules: list[AlertRule]) -> str:
    """An `alerts:` document that applies back to the same rules."""
    return yaml.safe_dump({"alerts": [r.definition() for r in rules]}, allow_unicode=True, sort_keys=False)


@dataclass(frozen=True)
class Step:
    """What one check does to one rule × metric × unit: its next state, the event it logs
    (firing | resolved | None) and whether its recipients are told."""

    state: str
    event: str | None
    notify: bool


def transition(state: str | None, holds: bool, *, snoozed: bool, last_notified_at: dt.datetime | None,
               renotify: dt.timedelta | None, at: dt.datetime) -> Step:
    """The state machine of SPEC §9: ok → firing → acknowledged → resolved, re-armed when the
    condition clears. Entering firing notifies; while firing, again once `renotify` has passed
    since the last notice (never without it); acknowledged is silent; a snooze holds every notice.
    A firing alert first met while snoozed is told once the snooze ends."""
    if holds:
        if state in (None, "ok", "resolved"):
            return Step("firing", "firing", not snoozed)
        if state == "firing":
            due = last_notified_at is None or (renotify is not None and at - last_notified_at >= renotify)
            return Step("firing", None, due and not snoozed)
        return Step(state, None, False)  # acknowledged
    if state in ("firing", "acknowledged"):
        return Step("resolved", "resolved", not snoozed)
    return Step(state or "ok", None, False)
