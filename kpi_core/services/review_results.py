"""What a review shows (SPEC §10): a person's or unit's KPI scorecard, the ratings as each reader
may see them (peer and report ratings only as an average of enough raters), the overall result,
the grades before and after calibration, and, for a closed cycle, the frozen snapshot with any
restatement since shown beside it. Also the calibration view of a unit (the grade distribution
against the guideline, and the 9-box) and what closing freezes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kpi_core.engine import attainment as att
from kpi_core.model import access, review
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import AccessDenied
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree
from kpi_core.query.api import context
from kpi_core.query.scorecard import Scorecard, subtree_scorecards, unit_scorecard
from kpi_core.store import reviews as store
from kpi_core.store import settings
from kpi_core.store.reviews import Cycle
from kpi_core.store.warehouse import Warehouse


def may_read(actor: Actor, tree: OrgTree, subject: str) -> bool:
    """Reviews are read more narrowly than KPIs: everyone who reads the whole company reads every
    review, a manager their subtree's, anyone else only their own units' (not their team's)."""
    reach = actor.reach("read")
    if reach == "all":
        return True
    if actor.reach("reviews") == "subtree":
        return access.can(actor, tree, "reviews", subject)
    return subject in actor.orgs


def check_read(actor: Actor, tree: OrgTree, subject: str) -> None:
    if not may_read(actor, tree, subject):
        raise AccessDenied(Msg("review_not_readable", who=actor.describe(), unit=subject))


def known_grades(wh: Warehouse) -> list[str]:
    """The grades a calibration may give: the bands, best first, and the lowest grade."""
    bands = settings.get(wh, "grade_bands")
    return [n for n, _ in bands] + [settings.get(wh, "lowest_grade")]


ITEM_KEYS = ("metric", "weight", "actual", "target", "score", "status")


@dataclass
class Frozen:
    rows: list[dict]
    calibrations: dict[str, dict]


@dataclass
class Outcome:
    """One subject's review as a reader may see it."""

    cycle: Cycle
    subject: str
    person: bool
    items: list[dict]                  # the scorecard's lines (frozen ones for a closed cycle)
    score: float | None
    grade: str | None
    kinds: list[review.KindView]
    ratings: float | None              # the ratings' part on the score scale
    overall: float | None
    overall_grade: str | None
    final_grade: str | None            # after calibration
    potential: str | None
    calibration_reason: str | None     # shown to those who run the review, not to the person
    batches: list[int] = field(default_factory=list)
    restated: list[dict] = field(default_factory=list)  # closed: lines whose figures changed since
    frozen: bool = False


def _bands(wh: Warehouse) -> tuple[tuple[tuple[str, float], ...], str]:
    return settings.get(wh, "grade_bands"), settings.get(wh, "lowest_grade")


def _views(cycle: Cycle, rows: dict[str, list]) -> list[review.KindView]:
    return [review.kind_view(k, rows.get(k, []), cycle.config.min_raters) for k in review.KINDS]


def _lines(card: Scorecard) -> list[dict]:
    return [{k: it.get(k) for k in ITEM_KEYS} for it in card.items]


def _is_person(tree: OrgTree, code: str) -> bool:
    return not tree.children.get(code)


def freeze_all(wh: Warehouse, cycle: Cycle, tree: OrgTree, *, today=None) -> Frozen:
    """The snapshot rows of every unit and person in the cycle's subtree, as closing writes them
    (the scorecards from one query over the subtree, the batches from one more)."""
    _, metrics = context(wh)
    bands, lowest = _bands(wh)
    cards = subtree_scorecards(wh, tree, cycle.org, cycle.period, today=today)
    with wh.read() as con:
        calibrations = store.calibrations(con, cycle.name)
        rated = store.all_ratings(con, cycle.name)
        codes = {m for card in cards.values() for m in card.codes}
        datasets = {getattr(metrics[m].source, "dataset", None) for m in codes if m in metrics} - {None}
        by_org, by_dataset = store.feeding(con, codes, tree.subtree(cycle.org), cycle.period, datasets)
    rows = []
    for code, card in cards.items():
        part = review.ratings_part(_views(cycle, rated.get(code, {})), cycle.config) if _is_person(tree, code) else None
        total = review.overall(card.score, part, cycle.config)
        overall_grade = att.grade(total, bands, lowest)
        cal = calibrations.get(code) or {}
        mine = set(card.codes)
        batches = {b for u in tree.subtree(code) for m, b in by_org.get(u, ()) if m in mine}
        batches |= {b for m in mine if m in metrics for b in by_dataset.get(getattr(metrics[m].source, "dataset", ""),
                                                                             ())}
        rows.append({"subject": code, "score": card.score, "grade": card.grade, "ratings": part, "overall": total,
                     "overall_grade": overall_grade, "final_grade": cal.get("grade") or overall_grade,
                     "items": _lines(card), "batches": sorted(batches)})
    return Frozen(rows, calibrations)


@dataclass(frozen=True)
class _Read:
    """What a cycle holds, read once for a page or an export."""

    cycle: Cycle
    ratings: dict[str, dict[str, list]]
    calibrations: dict[str, dict]
    snapshots: dict[str, dict]


def _read(wh: Warehouse, name: str, subjects: list[str] | None = None) -> _Read:
    with wh.read() as con:
        cycle = store.get(con, name)
        return _Read(cycle, store.all_ratings(con, name, subjects), store.calibrations(con, name),
                     store.snapshots(con, name, subjects) if cycle.state == "closed" else {})


def outcome(wh: Warehouse, name: str, subject: str, *, by: str | Actor = "admin", today=None) -> Outcome:
    """A unit's or person's review as `by` may see it (refused outside what they may read)."""
    actor = as_actor(by)
    tree, _ = context(wh)
    code = tree.resolve(subject)
    check_read(actor, tree, code)
    r = _read(wh, name, [code])
    if code not in set(tree.subtree(r.cycle.org)):
        raise AccessDenied(Msg("review_outside_cycle", unit=code, name=name, org=r.cycle.org))
    return _outcome(wh, r, tree, code, actor, unit_scorecard(wh, tree, code, r.cycle.period, today=today))


def _outcome(wh: Warehouse, r: _Read, tree: OrgTree, code: str, actor: Actor, live: Scorecard | None) -> Outcome:
    """One subject's outcome from what the cycle holds and its live scorecard (None: a closed
    cycle's frozen figures alone, no restatement looked for)."""
    cycle, person = r.cycle, _is_person(tree, code)
    views = _views(cycle, r.ratings.get(code, {}) if person else {})
    cal = r.calibrations.get(code) or {}
    runs_it = code not in actor.orgs and access.can(actor, tree, "reviews", code)  # the reason is theirs to read
    reason = cal.get("reason") if runs_it else None
    frozen = r.snapshots.get(code)
    if frozen is not None:
        now_lines = {it["metric"]: it for it in _lines(live)} if live is not None else None
        restated = [] if now_lines is None else [
            {"metric": it["metric"], "frozen": it, "now": now_lines.get(it["metric"])}
            for it in frozen["items"] if _differs(it, now_lines.get(it["metric"]))]
        return Outcome(cycle, code, person, frozen["items"], frozen["score"], frozen["grade"], views, frozen["ratings"],
                       frozen["overall"], frozen["overall_grade"], frozen["final_grade"], cal.get("potential"), reason,
                       frozen["batches"], restated, frozen=True)
    if live is None:
        raise ValueError("a live scorecard is needed for a cycle that is not closed")
    bands, lowest = _bands(wh)
    part = review.ratings_part(views, cycle.config) if person else None
    total = review.overall(live.score, part, cycle.config)
    overall_grade = att.grade(total, bands, lowest)
    return Outcome(cycle, code, person, _lines(live), live.score, live.grade, views, part, total, overall_grade,
                   cal.get("grade") or overall_grade, cal.get("potential"), reason)


def outcomes(wh: Warehouse, name: str, *, by: str | Actor = "admin", within: str | None = None,
             today=None) -> list[Outcome]:
    """The outcomes of every unit and person in the cycle (or in `within`'s subtree of it) that
    `by` may read, in tree order: one query for the live scorecards, none once the cycle is closed."""
    actor = as_actor(by)
    tree, _ = context(wh)
    r = _read(wh, name)
    inside = set(tree.subtree(r.cycle.org))
    top = tree.resolve(within) if within else r.cycle.org
    subjects = [u for u in tree.subtree(top) if u in inside and may_read(actor, tree, u)]
    if not subjects:
        return []
    live = {} if r.cycle.state == "closed" else subtree_scorecards(wh, tree, top, r.cycle.period, today=today)
    return [_outcome(wh, r, tree, u, actor, live.get(u)) for u in subjects]


def _differs(then: dict, now: dict | None) -> bool:
    if now is None:
        return True
    return any(not _same(then.get(k), now.get(k)) for k in ("actual", "target", "score"))


def _same(a: object, b: object) -> bool:
    """Equal, floats to 1e-9 of their size (a sum in another order differs in its last digit)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@dataclass
class Calibration:
    """A unit's people in a cycle: their grades against the guideline, and the 9-box."""

    unit: str
    people: list[dict]                 # subject, overall, overall_grade, final_grade, potential, performance
    gaps: list[review.Gap]
    grades: list[str]
    box: dict[tuple[str, str], list[str]]  # (performance, potential) → people


def performance_level(grade: str | None, grades: list[str]) -> str | None:
    """A grade's row of the 9-box: the best two fifths of the grades high, the middle fifth medium."""
    if grade is None or grade not in grades:
        return None
    i, n = grades.index(grade), len(grades)
    return "high" if i < round(n * 0.4) else "medium" if i < round(n * 0.6) else "low"


def calibration(wh: Warehouse, name: str, unit: str, *, by: str | Actor = "admin", today=None) -> Calibration:
    """The calibration view of `unit` (those who run the review there only)."""
    actor = as_actor(by)
    tree, _ = context(wh)
    code = tree.resolve(unit)
    access.check(actor, tree, "reviews", code)
    grades = known_grades(wh)
    with wh.read() as con:
        store.get(con, name)  # NotFound in words before anything is worked out
        guideline = review.parse_guideline(settings.raw(con, "review_guideline"))
    people = [{"subject": o.subject, "name": tree.unit(o.subject).name, "overall": o.overall,
               "overall_grade": o.overall_grade, "final_grade": o.final_grade, "potential": o.potential,
               "performance": performance_level(o.final_grade, grades)}
              for o in outcomes(wh, name, by=actor, within=code, today=today) if o.person]
    box: dict[tuple[str, str], list[str]] = {}
    for p in people:
        if p["performance"] and p["potential"]:
            box.setdefault((p["performance"], p["potential"]), []).append(p["subject"])
    return Calibration(code, people, review.distribution((p["final_grade"] for p in people), guideline), grades, box)


def incentive(wh: Warehouse, grade: str | None) -> float | None:
    """The incentive coefficient of a final grade (review_incentives), for payroll."""
    return dict(settings.get(wh, "review_incentives")).get(grade) if grade else None


def result_rows(wh: Warehouse, name: str, *, by: str | Actor = "admin", today=None) -> list[dict]:
    """One row per unit and person of the cycle that `by` may read: KPI score and grade, each kind's
    average as they may see it (an anonymous kind below its floor is None), the overall result,
    the grades before and after calibration, the 9-box potential and the incentive coefficient."""
    actor = as_actor(by)
    tree, _ = context(wh)
    coefficients = dict(settings.get(wh, "review_incentives"))
    out = []
    for o in outcomes(wh, name, by=actor, today=today):
        avg = {v.kind: (None if v.hidden else v.average) for v in o.kinds}
        out.append({"org": o.subject, "name": tree.unit(o.subject).name, "person": o.person, "score": o.score,
                    "grade": o.grade, **{f"rating_{k}": avg.get(k) for k in review.KINDS}, "ratings": o.ratings,
                    "overall": o.overall, "overall_grade": o.overall_grade, "final_grade": o.final_grade,
                    "potential": o.potential, "incentive": coefficients.get(o.final_grade) if o.person else None,
                    "frozen": o.frozen})
    return out


def packet(wh: Warehouse, name: str, subject: str, *, by: str | Actor = "admin", lang: str = "zh",
           today=None) -> dict:
    """A person's or unit's review packet as plain data (names resolved, in `lang`): what the
    Excel and PDF packets print. Only what `by` may read, anonymous kinds as averages only."""
    actor = as_actor(by)
    tree, metrics = context(wh)
    o = outcome(wh, name, subject, by=actor, today=today)
    comps = {c.code: c.name(lang) for c in o.cycle.config.competencies}

    def metric_name(code: str) -> str:
        m = metrics.get(code)
        return (m.name_en or m.name if lang == "en" else m.name) if m is not None else code

    restated = {r["metric"]: r["now"] for r in o.restated}
    return {
        "cycle": o.cycle.as_dict(), "subject": o.subject, "name": tree.unit(o.subject).name, "person": o.person,
        "frozen": o.frozen, "score": o.score, "grade": o.grade, "ratings": o.ratings, "overall": o.overall,
        "overall_grade": o.overall_grade, "final_grade": o.final_grade, "potential": o.potential,
        "calibration_reason": o.calibration_reason, "batches": o.batches,
        "incentive": incentive(wh, o.final_grade) if o.person else None,
        "items": [{**it, "name": metric_name(it["metric"]), "unit": getattr(metrics.get(it["metric"]), "unit", ""),
                   "now": restated.get(it["metric"])} for it in o.items],
        "kinds": [{"kind": v.kind, "hidden": v.hidden, "raters": v.raters, "average": v.average,
                   "by_competency": [(comps[c], v.by_competency[c]) for c in comps if c in v.by_competency],
                   "comments": list(v.comments)} for v in o.kinds],
        "competencies": list(comps.values()),
    }
