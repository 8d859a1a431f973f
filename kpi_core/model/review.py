"""Review cycles as data (SPEC §10): the states and who moves a cycle on, the rating kinds and
when each may rate, the configuration a cycle is opened with, and the rules that keep peer and
report ratings anonymous. No I/O: kpi_core/services/reviews.py applies these to the warehouse.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg

State = Literal["open", "self", "manager", "calibration", "closed"]
STATES: tuple[State, ...] = ("open", "self", "manager", "calibration", "closed")
Kind = Literal["self", "manager", "peer", "report"]
KINDS: tuple[Kind, ...] = ("self", "manager", "peer", "report")
ANONYMOUS: frozenset[Kind] = frozenset({"peer", "report"})  # shown only as an average of enough raters
# The stages in which each kind of rater may rate: the person in the self review, the manager in
# the manager review, peers and reports in either (they answer while both are under way).
RATES_IN: dict[Kind, frozenset[State]] = {
    "self": frozenset({"self"}),
    "manager": frozenset({"manager"}),
    "peer": frozenset({"self", "manager"}),
    "report": frozenset({"self", "manager"}),
}
MIN_ANONYMOUS = 3  # the floor: a setting may ask for more raters, never fewer
POTENTIALS = ("low", "medium", "high")  # the 9-box's second axis


def next_state(state: str) -> State:
    """The state after `state`; a closed cycle goes nowhere."""
    if state not in STATES:
        raise ValidationFailed(Msg("review_bad_state", state=state, states=list(STATES)))
    i = STATES.index(state)  # type: ignore[arg-type]
    if i == len(STATES) - 1:
        raise ValidationFailed(Msg("review_closed_already"))
    return STATES[i + 1]


def may_rate(kind: str, state: str) -> bool:
    return kind in RATES_IN and state in RATES_IN[kind]  # type: ignore[index]


@dataclass(frozen=True)
class Competency:
    code: str
    zh: str
    en: str

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


DEFAULT_COMPETENCIES: tuple[Competency, ...] = (
    Competency("results", "业绩成果", "Results"),
    Competency("customer", "客户导向", "Customer focus"),
    Competency("collaboration", "团队协作", "Collaboration"),
    Competency("ownership", "责任担当", "Ownership"),
    Competency("growth", "学习成长", "Learning and growth"),
)


@dataclass(frozen=True)
class Config:
    """What a cycle is opened with and keeps: competencies, the rating scale as points on the KPI
    score's scale (a rating of 4 counts as a score of 100 by default, between the points linearly),
    the weights of the KPI score and the ratings, of each kind of rater, and the fewest raters of
    an anonymous kind whose average may be shown."""

    competencies: tuple[Competency, ...] = DEFAULT_COMPETENCIES
    points: tuple[tuple[float, float], ...] = ((1, 60), (2, 75), (3, 90), (4, 100), (5, 110))
    kpi_weight: float = 70.0
    ratings_weight: float = 30.0
    kind_weights: tuple[tuple[str, float], ...] = (("manager", 60.0), ("peer", 20.0), ("report", 10.0),
                                                    ("self", 10.0))
    min_raters: int = MIN_ANONYMOUS

    def __post_init__(self) -> None:
        if self.min_raters < MIN_ANONYMOUS:
            raise ValidationFailed(Msg("review_min_raters", n=self.min_raters, floor=MIN_ANONYMOUS))
        if not self.competencies or len({c.code for c in self.competencies}) != len(self.competencies):
            raise ValidationFailed(Msg("review_competencies_bad"))
        xs = [p for p, _ in self.points]
        if len(xs) < 2 or xs != sorted(set(xs)):
            raise ValidationFailed(Msg("review_points_bad"))
        if any(not math.isfinite(w) or w < 0 for w in (self.kpi_weight, self.ratings_weight,
                                                       *(w for _, w in self.kind_weights))):
            raise ValidationFailed(Msg("review_weight_bad"))

    @property
    def lowest(self) -> float:
        return self.points[0][0]

    @property
    def highest(self) -> float:
        return self.points[-1][0]

    def competency(self, code: str) -> Competency:
        for c in self.competencies:
            if c.code == code:
                return c
        raise ValidationFailed(Msg("review_no_competency", code=code, codes=[c.code for c in self.competencies]))

    def check_score(self, score: float) -> float:
        """A rating on the cycle's scale, or refused with the scale."""
        if not isinstance(score, (int, float)) or not math.isfinite(score) or not (
                self.lowest <= score <= self.highest):
            raise ValidationFailed(Msg("review_score_off_scale", score=str(score), low=f"{self.lowest:g}",
                                       high=f"{self.highest:g}"))
        return float(score)

    def on_score_scale(self, rating: float | None) -> float | None:
        """A rating (or an average of ratings) as points on the KPI score's scale."""
        if rating is None:
            return None
        for (x0, y0), (x1, y1) in zip(self.points, self.points[1:], strict=False):
            if x0 <= rating <= x1:
                return y0 + (y1 - y0) * (rating - x0) / (x1 - x0)
        raise ValidationFailed(Msg("review_score_off_scale", score=f"{rating:g}", low=f"{self.lowest:g}",
                                   high=f"{self.highest:g}"))

    def as_dict(self) -> dict:
        return {"competencies": [[c.code, c.zh, c.en] for c in self.competencies],
                "points": [list(p) for p in self.points], "kpi_weight": self.kpi_weight,
                "ratings_weight": self.ratings_weight, "kind_weights": [list(k) for k in self.kind_weights],
                "min_raters": self.min_raters}

    @classmethod
    def from_dict(cls, d: Mapping) -> Config:
        return cls(competencies=tuple(Competency(*c) for c in d["competencies"]),
                   points=tuple((float(x), float(y)) for x, y in d["points"]),
                   kpi_weight=float(d["kpi_weight"]), ratings_weight=float(d["ratings_weight"]),
                   kind_weights=tuple((k, float(w)) for k, w in d["kind_weights"]),
                   min_raters=int(d["min_raters"]))


@dataclass(frozen=True)
class KindView:
    """What a reader may see of one kind of rating of one person: per competency averages and the
    overall average, or nothing when an anonymous kind has too few raters (`hidden`)."""

    kind: str
    raters: int | None  # None: hidden (the count of an anonymous kind under the floor is not told either)
    by_competency: dict[str, float]
    average: float | None
    comments: tuple[str, ...]  # anonymous kinds: sorted, so their order says nothing of who wrote them
    hidden: bool = False


def kind_view(kind: str, rows: Iterable[tuple[str, str, float, str | None]], min_raters: int) -> KindView:
    """The view of one kind from its rating rows (rater, competency, score, comment). An anonymous
    kind with fewer than `min_raters` raters shows nothing, not even how many answered."""
    rows = list(rows)
    raters = {r for r, _, _, _ in rows}
    if kind in ANONYMOUS and len(raters) < max(min_raters, MIN_ANONYMOUS):
        return KindView(kind, None, {}, None, (), hidden=True)
    by: dict[str, list[float]] = {}
    for _, comp, score, _ in rows:
        by.setdefault(comp, []).append(score)
    per = {c: sum(v) / len(v) for c, v in by.items()}
    # each rater counts once: the mean of their competency scores, then the mean over raters
    mine: dict[str, list[float]] = {}
    for rater, _, score, _ in rows:
        mine.setdefault(rater, []).append(score)
    average = sum(sum(v) / len(v) for v in mine.values()) / len(mine) if mine else None
    said = [c.strip() for _, _, _, c in rows if c and c.strip()]
    comments = tuple(sorted(set(said))) if kind in ANONYMOUS else tuple(dict.fromkeys(said))
    return KindView(kind, len(raters), per, average, comments)


def ratings_part(views: Iterable[KindView], config: Config) -> float | None:
    """The ratings on the KPI score's scale: the kinds shown, weighted by the cycle's kind weights."""
    weights = dict(config.kind_weights)
    total = wsum = 0.0
    for v in views:
        w = weights.get(v.kind, 0.0)
        if v.average is not None and not v.hidden and w:
            total += w * config.on_score_scale(v.average)  # type: ignore[operator]
            wsum += w
    return total / wsum if wsum else None


def overall(kpi_score: float | None, ratings: float | None, config: Config) -> float | None:
    """The KPI score and the ratings combined with the cycle's weights; either alone when the other
    is missing (a unit has no ratings; a person may have no KPI data)."""
    parts = [(config.kpi_weight, kpi_score), (config.ratings_weight, ratings)]
    have = [(w, s) for w, s in parts if s is not None and w]
    if not have:
        return None
    return sum(w * s for w, s in have) / sum(w for w, _ in have)


Guideline = tuple[tuple[tuple[str, ...], str, float], ...]  # (grades, "<=" | ">=", percent)


def parse_guideline(text: str) -> Guideline:
    """'S<=10,A<=20,C+D>=10': the share of each grade (or group of grades) a unit should keep to."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        op = "<=" if "<=" in part else ">=" if ">=" in part else None
        if op is None:
            raise ValidationFailed(Msg("review_guideline_bad", part=part))
        grades, _, pct = part.partition(op)
        try:
            share = float(pct.strip().rstrip("%"))
        except ValueError:
            raise ValidationFailed(Msg("review_guideline_bad", part=part)) from None
        names = tuple(g.strip() for g in grades.split("+") if g.strip())
        if not names or not 0 <= share <= 100:
            raise ValidationFailed(Msg("review_guideline_bad", part=part))
        out.append((names, op, share))
    return tuple(out)


@dataclass(frozen=True)
class Gap:
    grades: tuple[str, ...]
    op: str
    limit: float      # percent
    share: float      # percent of the people graded
    count: int
    ok: bool
    move: int         # people to move out of (−) or into (+) these grades to meet the guideline


def distribution(grades: Iterable[str | None], guideline: Guideline) -> list[Gap]:
    """Each guideline line against the grades given: the share, whether it holds, and how many
    people it is off by (advice: calibration is never locked to it)."""
    given = [g for g in grades if g is not None]
    n = len(given)
    out = []
    for names, op, limit in guideline:
        count = sum(1 for g in given if g in names)
        share = 100.0 * count / n if n else 0.0
        if op == "<=":
            allowed = math.floor(limit * n / 100 + 1e-9)
            ok, move = count <= allowed, min(0, allowed - count)
        else:
            needed = math.ceil(limit * n / 100 - 1e-9)
            ok, move = count >= needed, max(0, needed - count)
        out.append(Gap(names, op, limit, share, count, ok, move))
    return out


def parse_pairs(text: str) -> tuple[tuple[str, float], ...]:
    """'manager:60,peer:20' — names with numbers, in the order written."""
    out = []
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        name, sep, num = part.partition(":")
        try:
            value = float(num)
        except ValueError:
            value = math.nan
        if not sep or not name.strip() or not math.isfinite(value):
            raise ValidationFailed(Msg("review_pair_bad", part=part))
        out.append((name.strip(), value))
    if not out:
        raise ValidationFailed(Msg("review_pair_bad", part=str(text)))
    return tuple(out)


def parse_competencies(text: str) -> tuple[Competency, ...]:
    """'results=业绩成果/Results,customer=客户导向/Customer focus' — code, Chinese and English names."""
    out = []
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        code, sep, names = part.partition("=")
        zh, slash, en = names.partition("/")
        if not sep or not slash or not code.strip() or not zh.strip() or not en.strip():
            raise ValidationFailed(Msg("review_competency_bad", part=part))
        out.append(Competency(code.strip(), zh.strip(), en.strip()))
    if not out or len({c.code for c in out}) != len(out):
        raise ValidationFailed(Msg("review_competencies_bad"))
    return tuple(out)


def competencies_text(competencies: Iterable[Competency]) -> str:
    return ",".join(f"{c.code}={c.zh}/{c.en}" for c in competencies)


def config_of(competencies: str, points: str, weights: str, kind_weights: str, min_raters: int) -> Config:
    """A cycle's configuration from the settings' texts (each checked, refused in words)."""
    w = dict(parse_pairs(weights))
    unknown = sorted(set(dict(parse_pairs(kind_weights))) - set(KINDS)) + sorted(set(w) - {"kpi", "ratings"})
    if unknown:
        raise ValidationFailed(Msg("review_pair_bad", part=", ".join(unknown)))
    return Config(competencies=parse_competencies(competencies), points=parse_pairs_numeric(points),
                  kpi_weight=w.get("kpi", 0.0), ratings_weight=w.get("ratings", 0.0),
                  kind_weights=parse_pairs(kind_weights), min_raters=int(min_raters))


def parse_pairs_numeric(text: str) -> tuple[tuple[float, float], ...]:
    """'1:60,2:75,…' — rating points with their place on the KPI score's scale."""
    out = []
    for name, value in parse_pairs(text):
        try:
            out.append((float(name), value))
        except ValueError:
            raise ValidationFailed(Msg("review_pair_bad", part=f"{name}:{value:g}")) from None
    return tuple(out)
