"""Review cycles (SPEC §10), who may do what in them: open one for a period and a subtree, move
it on (`open → self → manager → calibration → closed`), choose peer and report raters, rate,
and calibrate a grade with a reason. Closing freezes every reviewed unit's and person's scorecard
(services/review_results.py). Every write is one transaction with its audit entry; an anonymous
rating's entry names the rater and the cycle only, never whom they rated or what they gave.

Who: moving a cycle on needs the `reviews` capability on its top unit (admins; managers of a
subtree that holds it); choosing raters, the manager's rating and calibrating need it on the
person or unit; a self rating is the person's own (a user whose units hold the person's unit);
peers and reports rate only whom a manager chose them for.
"""

from __future__ import annotations

import re

from kpi_core.auth import users
from kpi_core.model import access, review
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import AccessDenied, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import parse_period
from kpi_core.model.text import visible
from kpi_core.query.api import context
from kpi_core.services.review_results import freeze_all, known_grades, may_read
from kpi_core.store import audit, settings
from kpi_core.store import reviews as store
from kpi_core.store.reviews import Cycle
from kpi_core.store.warehouse import Warehouse

_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}")
MAX_COMMENT = 2000
MAX_REASON = 1000


def config_from_settings(wh: Warehouse) -> review.Config:
    """The configuration a cycle opened now keeps: the review settings as they stand."""
    with wh.read() as con:
        raw = {k: settings.raw(con, k) for k in ("review_competencies", "review_points", "review_weights",
                                                 "review_rater_weights", "review_min_raters")}
    return review.config_of(raw["review_competencies"], raw["review_points"], raw["review_weights"],
                            raw["review_rater_weights"], int(raw["review_min_raters"]))


def open_cycle(wh: Warehouse, name: str, period: str, org: str | None = None, *, by: str | Actor = "admin") -> Cycle:
    """A new cycle for `period` over `org`'s subtree (the whole company when None), state open."""
    actor = as_actor(by)
    if not _NAME.fullmatch(name or ""):
        raise ValidationFailed(Msg("review_bad_name", name=visible(name or "")))
    label = parse_period(period).label
    tree, _ = context(wh)
    top = tree.resolve(org) if org else tree.root
    if top is None:
        raise ValidationFailed(Msg("review_no_org_tree"))
    access.check(actor, tree, "reviews", top)
    config = config_from_settings(wh)
    with wh.transaction(bump=False) as con:
        if store.find(con, name) is not None:
            raise ValidationFailed(Msg("review_exists", name=name))
        cycle = store.insert(con, name, label, top, config, actor.name)
        audit.record(con, actor.name, "open", "review", name, after=cycle.as_dict() | {"config": config.as_dict()})
    return cycle


def get(wh: Warehouse, name: str) -> Cycle:
    with wh.read() as con:
        return store.get(con, name)


def visible_cycles(wh: Warehouse, *, by: str | Actor = "admin") -> list[Cycle]:
    """The cycles whose subtree holds a unit the user may see a review of."""
    actor = as_actor(by)
    tree, _ = context(wh)
    with wh.read() as con:
        found = store.cycles(con)
    return [c for c in found if c.org in tree and any(may_read(actor, tree, u) for u in _reach_of(actor, tree, c))]


def _reach_of(actor: Actor, tree: OrgTree, cycle: Cycle) -> list[str]:
    """Where to look for a unit the actor may read in the cycle: their own units inside it, or its top."""
    inside = set(tree.subtree(cycle.org))
    return [o for o in actor.orgs if o in inside] + [cycle.org]


def advance(wh: Warehouse, name: str, *, by: str | Actor = "admin", today=None) -> Cycle:
    """Move the cycle to its next state; closing freezes the snapshots (in the same transaction)."""
    actor = as_actor(by)
    tree, _ = context(wh)
    cycle = get(wh, name)
    access.check(actor, tree, "reviews", cycle.org)
    after = review.next_state(cycle.state)
    if after == "closed":
        return close(wh, name, by=actor, today=today)
    with wh.transaction(bump=False) as con:
        now_cycle = store.get(con, name)
        if now_cycle.state != cycle.state:  # someone moved it meanwhile: say so rather than skip a stage
            raise ValidationFailed(Msg("review_moved_meanwhile", name=name, state=now_cycle.state))
        store.set_state(con, name, after, actor.name)
        audit.record(con, actor.name, "advance", "review", name, before={"state": cycle.state},
                     after={"state": after})
        return store.get(con, name)


def close(wh: Warehouse, name: str, *, by: str | Actor = "admin", today=None) -> Cycle:
    """Close a cycle in calibration: freeze each reviewed unit's and person's scorecard with its
    ratings, overall result, calibrated grade and the batches its figures came from."""
    actor = as_actor(by)
    tree, _ = context(wh)
    cycle = get(wh, name)
    access.check(actor, tree, "reviews", cycle.org)
    if cycle.state != "calibration":
        raise ValidationFailed(Msg("review_close_needs_calibration", name=name,
                                   state=Msg(f"review_state_{cycle.state}")))
    frozen = freeze_all(wh, cycle, tree, today=today)  # worked out before the write: reads only
    with wh.transaction(bump=False) as con:
        if store.get(con, name).state != "calibration":
            raise ValidationFailed(Msg("review_moved_meanwhile", name=name, state=store.get(con, name).state))
        if store.calibrations(con, name) != frozen.calibrations:  # a grade changed while we worked
            raise ValidationFailed(Msg("review_moved_meanwhile", name=name, state=cycle.state))
        n = store.freeze(con, name, frozen.rows)
        store.set_state(con, name, "closed", actor.name)
        audit.record(con, actor.name, "close", "review", name, before={"state": "calibration"},
                     after={"state": "closed", "snapshots": n})
        return store.get(con, name)


def _person(tree: OrgTree, cycle: Cycle, subject: str) -> str:
    """A person reviewed in the cycle: a unit with no units below it, inside the cycle's subtree."""
    code = tree.resolve(subject)
    if code not in set(tree.subtree(cycle.org)):
        raise ValidationFailed(Msg("review_outside_cycle", unit=code, name=cycle.name, org=cycle.org))
    if tree.children.get(code):
        raise ValidationFailed(Msg("review_not_a_person", unit=code))
    return code


def choose_raters(wh: Warehouse, name: str, subject: str, chosen: dict[str, str], *,
                  by: str | Actor = "admin") -> list[tuple[str, str, str]]:
    """Set a person's peer and report raters (user → kind; an empty kind removes the rater) before
    calibration; returns the raters now chosen."""
    actor = as_actor(by)
    tree, _ = context(wh)
    cycle = get(wh, name)
    person = _person(tree, cycle, subject)
    access.check(actor, tree, "reviews", person)
    if cycle.state not in ("open", "self", "manager"):
        raise ValidationFailed(Msg("review_raters_closed", name=name, state=Msg(f"review_state_{cycle.state}")))
    for user_name, kind in chosen.items():
        if kind and kind not in review.ANONYMOUS:
            raise ValidationFailed(Msg("review_rater_kind", kind=kind, kinds=sorted(review.ANONYMOUS)))
        if kind:
            u = users.get(wh, user_name)
            if person in u.orgs:
                raise ValidationFailed(Msg("review_rater_is_subject", user=u.name, unit=person))
    with wh.transaction(bump=False) as con:
        for user_name, kind in chosen.items():
            if kind:
                store.choose(con, name, person, users.get(wh, user_name).name, kind, actor.name)
            else:
                store.unchoose(con, name, person, user_name)
        audit.record(con, actor.name, "choose_raters", "review", f"{name}:{person}",
                     after={"raters": sorted(u for u, k in chosen.items() if k)})
        return store.raters(con, name, person)


def rate(wh: Warehouse, name: str, subject: str, kind: str, score: float, *, comment: str | None = None,
         competency: str | None = None, by: str | Actor) -> int:
    """`by`'s rating of a person as `kind`: one competency, or every competency of the cycle with
    the same score when none is named. Returns how many competency scores were written."""
    actor = as_actor(by)
    tree, _ = context(wh)
    cycle = get(wh, name)
    person = _person(tree, cycle, subject)
    if kind not in review.KINDS:
        raise ValidationFailed(Msg("review_bad_kind", kind=kind, kinds=list(review.KINDS)))
    if not review.may_rate(kind, cycle.state):
        raise ValidationFailed(Msg("review_not_rating_now", kind=Msg(f"review_kind_{kind}"), name=name,
                                   state=Msg(f"review_state_{cycle.state}")))
    value = cycle.config.check_score(score)
    comps = [cycle.config.competency(competency).code] if competency else [c.code for c in cycle.config.competencies]
    note = (comment or "").strip() or None
    if note is not None and len(note) > MAX_COMMENT:
        raise ValidationFailed(Msg("action_text_too_long", n=len(note), limit=MAX_COMMENT))
    with wh.transaction(bump=False) as con:
        _may_rate_as(actor, tree, con, cycle, person, kind)
        for code in comps:
            store.put_rating(con, name, person, actor.name, kind, code, value, note)
        if kind in review.ANONYMOUS:  # who rated in the cycle, never whom or what
            audit.record(con, actor.name, "rate", "review", name, after={"kind": kind})
        else:
            audit.record(con, actor.name, "rate", "review", f"{name}:{person}",
                         after={"kind": kind, "competencies": comps, "score": value, "comment": note})
    return len(comps)


def _may_rate_as(actor: Actor, tree: OrgTree, con, cycle: Cycle, person: str, kind: str) -> None:
    if kind == "self":
        ok = person in actor.orgs
    elif kind == "manager":
        ok = person not in actor.orgs and access.can(actor, tree, "reviews", person)
    else:
        ok = (person, actor.name, kind) in set(store.raters(con, cycle.name, person))
    if not ok:
        raise AccessDenied(Msg(f"review_may_not_rate_{kind}", who=actor.describe(), unit=person))


def calibrate(wh: Warehouse, name: str, subject: str, *, grade: str | None = None, potential: str | None = None,
              reason: str, by: str | Actor = "admin") -> dict:
    """Set a unit's or person's calibrated grade (and 9-box potential) in the calibration stage,
    with a reason; audited before and after. The guideline is advice: nothing here enforces it."""
    actor = as_actor(by)
    tree, _ = context(wh)
    cycle = get(wh, name)
    code = tree.resolve(subject)
    if code not in set(tree.subtree(cycle.org)):
        raise ValidationFailed(Msg("review_outside_cycle", unit=code, name=name, org=cycle.org))
    access.check(actor, tree, "reviews", code)
    if cycle.state != "calibration":
        raise ValidationFailed(Msg("review_not_calibrating", name=name, state=Msg(f"review_state_{cycle.state}")))
    why = (reason or "").strip()
    if not why:
        raise ValidationFailed(Msg("review_reason_required"))
    if len(why) > MAX_REASON:
        raise ValidationFailed(Msg("action_text_too_long", n=len(why), limit=MAX_REASON))
    grades = known_grades(wh)
    if grade is not None and grade not in grades:
        raise ValidationFailed(Msg("review_bad_grade", grade=grade, grades=grades))
    if potential is not None and potential not in review.POTENTIALS:
        raise ValidationFailed(Msg("review_bad_potential", potential=potential, potentials=list(review.POTENTIALS)))
    with wh.transaction(bump=False) as con:
        before = store.calibrations(con, name).get(code)
        after = {"grade": grade if grade is not None else (before or {}).get("grade"),
                 "potential": potential if potential is not None else (before or {}).get("potential")}
        store.calibrate(con, name, code, after["grade"], after["potential"], why, actor.name)
        audit.record(con, actor.name, "calibrate", "review", f"{name}:{code}",
                     before={k: (before or {}).get(k) for k in ("grade", "potential")}, after=after, reason=why)
    return after


def tasks(wh: Warehouse, name: str, *, by: str | Actor) -> list[tuple[str, str]]:
    """(person, kind) that `by` may rate in the cycle now: themself in the self review, the people
    a manager runs reviews for in the manager review, and those they were chosen to rate."""
    actor = as_actor(by)
    tree, _ = context(wh)
    with wh.read() as con:
        cycle = store.get(con, name)
        chosen = [(s, k) for s, r, k in store.raters(con, name) if r == actor.name]
    people = [u for u in tree.subtree(cycle.org) if not tree.children.get(u)]
    out: list[tuple[str, str]] = []
    if review.may_rate("self", cycle.state):
        out += [(p, "self") for p in people if p in actor.orgs]
    if review.may_rate("manager", cycle.state):
        out += [(p, "manager") for p in people if p not in actor.orgs and access.can(actor, tree, "reviews", p)]
    out += [(s, k) for s, k in chosen if review.may_rate(k, cycle.state)]
    return out


def rated_by_me(wh: Warehouse, name: str, subject: str, *, by: str | Actor) -> dict[str, dict[str, float]]:
    """kind → competency → score: what `by` gave a person (their own ratings, shown to them alone)."""
    with wh.read() as con:
        return store.rated_by(con, name, subject, as_actor(by).name)


def raters(wh: Warehouse, name: str, subject: str, *, by: str | Actor = "admin") -> list[tuple[str, str, str]]:
    """(person, rater, kind) chosen for a person: for those who run the review there only (the
    person does not learn who their peers and reports are)."""
    actor = as_actor(by)
    tree, _ = context(wh)
    cycle = get(wh, name)
    person = _person(tree, cycle, subject)
    access.check(actor, tree, "reviews", person)
    with wh.read() as con:
        return store.raters(con, name, person)
