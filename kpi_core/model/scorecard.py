"""A unit's scorecard (SPEC §3 "Scorecards per unit"): its KPIs with weights, optional BSC
perspective weights, the checks a definition must pass, and the nearest one up the tree."""

from __future__ import annotations

import math

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric, Perspective
from kpi_core.model.org import OrgTree
from kpi_core.model.validation import field_problem

PERSPECTIVES: tuple[str, ...] = ("financial", "customer", "internal_process", "learning_growth")
NO_PERSPECTIVE = "none"
MAX_ITEMS = 40  # a scorecard is read by a person: a few KPIs, not the dictionary


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _positive(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(Msg("model_weight_not_positive", value=f"{value:g}"))
    return value


class Item(_Strict):
    metric: str = Field(min_length=1, max_length=64)
    weight: float = 1.0

    _weight = field_validator("weight")(_positive)


class ScorecardDef(_Strict):
    """One unit's own scorecard, as stored and as written in YAML."""

    org: str = Field(min_length=1, max_length=64)
    metrics: tuple[Item, ...] = Field(default=(), max_length=MAX_ITEMS)
    perspective_weights: dict[Perspective, float] | None = None

    @field_validator("perspective_weights")
    @classmethod
    def _pweights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for w in (value or {}).values():
            _positive(w)
        return value or None

    @property
    def codes(self) -> list[str]:
        return [i.metric for i in self.metrics]

    def weights(self) -> dict[str, float]:
        return {i.metric: i.weight for i in self.metrics}

    def definition(self) -> dict:
        """The stored and exported form: plain data, no defaults spelled out."""
        out: dict = {"org": self.org, "metrics": [{"metric": i.metric, "weight": i.weight} for i in self.metrics]}
        if self.perspective_weights:
            out["perspective_weights"] = {p: self.perspective_weights[p] for p in PERSPECTIVES
                                          if p in self.perspective_weights}
        return out

    def kept(self, codes: set[str]) -> ScorecardDef:
        """The same scorecard cut down to `codes` (an inherited one, kept to what the unit has)."""
        return self.model_copy(update={"metrics": tuple(i for i in self.metrics if i.metric in codes)})


def perspective_of(metric: Metric | None) -> str:
    return (metric.perspective if metric is not None else None) or NO_PERSPECTIVE


def parse(raw: list, source: str) -> tuple[list[ScorecardDef], list[Msg]]:
    """Validated definitions from a `scorecards:` list, and every problem found (naming the unit)."""
    out, problems, seen = [], [], {}
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(Msg("model_scorecard_not_mapping", file=source, number=i))
            continue
        org = str(item.get("org", f"#{i}"))
        try:
            card = ScorecardDef.model_validate(item)
        except ValidationError as err:
            for e in err.errors():
                where = ".".join(str(x) for x in e["loc"])
                problems.append(Msg("model_scorecard_problem", org=org, field=where, problem=field_problem(e)))
            continue
        if card.org in seen:
            problems.append(Msg("model_scorecard_twice", file=source, org=card.org))
            continue
        seen[card.org] = True
        out.append(card)
    return out, problems


def check(card: ScorecardDef, metrics: dict[str, Metric], tree: OrgTree) -> list[Msg]:
    """What is wrong with one definition against the dictionary and the org tree."""
    problems: list[Msg] = []
    if card.org not in tree:
        problems.append(Msg("model_scorecard_no_unit", org=card.org))
    codes = card.codes
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(Msg("model_scorecard_metric_twice", org=card.org, metric=code))
    for code in dict.fromkeys(c for c in codes if c not in metrics):
        problems.append(Msg("model_scorecard_no_metric", org=card.org, metric=code))
    if card.perspective_weights:
        used = {perspective_of(metrics.get(c)) for c in codes if c in metrics}
        for p in [p for p in PERSPECTIVES if p in used and p not in card.perspective_weights]:
            problems.append(Msg("model_scorecard_perspective_unweighted", org=card.org, perspective=p))
        for p in [p for p in card.perspective_weights if p not in used]:
            problems.append(Msg("model_scorecard_perspective_empty", org=card.org, perspective=p))
        for code in [c for c in codes if c in metrics and perspective_of(metrics[c]) == NO_PERSPECTIVE]:
            problems.append(Msg("model_scorecard_metric_no_perspective", org=card.org, metric=code))
    return problems


def shares(card: ScorecardDef, metrics: dict[str, Metric]) -> dict[str, float]:
    """Each metric's share of the score (they add up to 1): its weight within its perspective
    times the perspective's share when perspectives carry weights, else its weight's share."""
    if not card.metrics:
        return {}
    if not card.perspective_weights:
        total = sum(i.weight for i in card.metrics)
        return {i.metric: i.weight / total for i in card.metrics}
    groups: dict[str, float] = {}
    for i in card.metrics:
        p = perspective_of(metrics.get(i.metric))
        groups[p] = groups.get(p, 0.0) + i.weight
    pw = {p: card.perspective_weights.get(p, 0.0) for p in groups}
    total_pw = sum(pw.values()) or 1.0
    return {i.metric: pw[p] / total_pw * i.weight / groups[p]
            for i in card.metrics for p in [perspective_of(metrics.get(i.metric))]}


def nearest(cards: dict[str, ScorecardDef], tree: OrgTree, org: str) -> ScorecardDef | None:
    """The unit's own scorecard, else the nearest ancestor's (None when no unit above has one)."""
    for code in reversed(tree.unit(org).path):
        if code in cards:
            return cards[code]
    return None


def for_children(card: ScorecardDef, children: list[str]) -> list[ScorecardDef]:
    """A parent's scorecard copied to each child: the starting point a cascade writes."""
    return [card.model_copy(update={"org": child}) for child in children]


def to_yaml(cards: list[ScorecardDef]) -> str:
    """A `scorecards:` document that re-applies to the same definitions."""
    return yaml.safe_dump({"scorecards": [c.definition() for c in cards]}, allow_unicode=True, sort_keys=False)
