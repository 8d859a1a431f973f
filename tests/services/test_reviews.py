"""Review cycles on the demo company (SPEC §10): each state transition and who may make it, who
may rate in which stage, anonymity end to end (the outcome, the audit log and the export), a
snapshot frozen against a later re-upload, calibration with reasons, and who reads what."""

from __future__ import annotations

import io
import json

import openpyxl
import pyarrow as pa
import pytest

from kpi_core.auth import users
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.periods import PeriodError
from kpi_core.present.review_export import workbook
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.services import review_results as results
from kpi_core.services import reviews as service
from kpi_core.store import audit
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

TEAM = "D1-SAL-T1"          # the demo's first sales team: P0001 … P0009
PEERS = ("emp_p0002", "emp_p0003", "emp_p0004")


@pytest.fixture
def wh(demo_path):
    wh = open_warehouse(demo_path)
    users.add(wh, "root", "admin")
    users.add(wh, "mgr_d2", "manager", orgs=["D2"])
    for n in range(2, 6):
        users.add(wh, f"emp_p000{n}", "employee", orgs=[f"P000{n}"])
    with wh.connect():
        yield wh


def who(wh, name):
    return users.actor(wh, name)


def opened(wh, state="open", name="2026-Q3"):
    """A cycle over the team at 2026-Q3, moved on by its manager to `state`."""
    service.open_cycle(wh, name, "2026-Q3", TEAM, by=who(wh, "mgr_d1"))
    while service.get(wh, name).state != state:
        service.advance(wh, name, by=who(wh, "mgr_d1"), today=DEMO_TODAY)
    return name


@pytest.mark.parametrize("state", ["open", "self", "manager", "calibration"])
@pytest.mark.parametrize("user, allowed", [
    ("root", True), ("mgr_d1", True),                          # the admin; the manager of D1 (holds the team)
    ("mgr_d2", False), ("ceo", False), ("lead_t1", False), ("emp_p0001", False),
])
def test_who_may_move_a_cycle_on(wh, state, user, allowed):
    name = opened(wh, state)
    if allowed:
        after = service.advance(wh, name, by=who(wh, user), today=DEMO_TODAY)
        assert after.state == {"open": "self", "self": "manager", "manager": "calibration",
                               "calibration": "closed"}[state]
        entry = audit.search(wh, audit.Search(action="close" if state == "calibration" else "advance"))[0]
        assert (entry["user_name"], entry["object_key"]) == (user, name)
    else:
        with pytest.raises(AccessDenied):
            service.advance(wh, name, by=who(wh, user), today=DEMO_TODAY)
        assert service.get(wh, name).state == state


def test_a_closed_cycle_goes_nowhere_and_close_needs_calibration(wh):
    name = opened(wh, "manager")
    with pytest.raises(ValidationFailed) as e:
        service.close(wh, name, by="root", today=DEMO_TODAY)
    assert e.value.args[0].code == "review_close_needs_calibration"
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    service.close(wh, name, by="root", today=DEMO_TODAY)
    with pytest.raises(ValidationFailed) as e:
        service.advance(wh, name, by="root", today=DEMO_TODAY)
    assert e.value.args[0].code == "review_closed_already"


def test_opening_checks_name_period_unit_and_reach(wh):
    with pytest.raises(ValidationFailed):
        service.open_cycle(wh, "bad name!", "2026-Q3", TEAM)
    with pytest.raises(PeriodError):
        service.open_cycle(wh, "x", "2026-Q5", TEAM)
    with pytest.raises(AccessDenied):
        service.open_cycle(wh, "x", "2026-Q3", TEAM, by=who(wh, "mgr_d2"))
    with pytest.raises(AccessDenied):
        service.open_cycle(wh, "x", "2026-Q3", None, by=who(wh, "mgr_d1"))  # the whole company is not theirs
    service.open_cycle(wh, "x", "2026-Q3", TEAM.lower(), by=who(wh, "mgr_d1"))  # codes are folded
    with pytest.raises(ValidationFailed) as e:
        service.open_cycle(wh, "x", "2026-Q3", TEAM)
    assert e.value.args[0].code == "review_exists"
    with pytest.raises(NotFound):
        service.get(wh, "nope")


@pytest.mark.parametrize("state, kind, rater, allowed", [
    ("self", "self", "emp_p0001", True),
    ("self", "self", "mgr_d1", False),          # nobody else gives the self rating
    ("open", "self", "emp_p0001", False),       # not before the self review
    ("manager", "self", "emp_p0001", False),    # nor after it
    ("manager", "manager", "mgr_d1", True),
    ("manager", "manager", "root", True),
    ("manager", "manager", "mgr_d2", False),    # another division's manager
    ("manager", "manager", "lead_t1", False),   # a team lead runs no reviews
    ("self", "manager", "mgr_d1", False),
    ("self", "peer", "emp_p0002", True),        # chosen as a peer
    ("manager", "peer", "emp_p0003", True),
    ("self", "peer", "emp_p0005", False),       # not chosen
    ("self", "report", "emp_p0002", False),     # chosen as a peer, not as a report
    ("calibration", "peer", "emp_p0002", False),
])
def test_who_may_rate_in_which_stage(wh, state, kind, rater, allowed):
    name = opened(wh)
    service.choose_raters(wh, name, "P0001", {u: "peer" for u in PEERS}, by=who(wh, "mgr_d1"))
    while service.get(wh, name).state != state:
        service.advance(wh, name, by="root", today=DEMO_TODAY)
    if allowed:
        assert service.rate(wh, name, "P0001", kind, 4, by=who(wh, rater)) == 5  # every competency
    else:
        with pytest.raises((AccessDenied, ValidationFailed)):
            service.rate(wh, name, "P0001", kind, 4, by=who(wh, rater))


def test_raters_are_chosen_by_a_manager_never_the_person_and_only_people_are_rated(wh):
    name = opened(wh)
    with pytest.raises(AccessDenied):
        service.choose_raters(wh, name, "P0001", {"emp_p0002": "peer"}, by=who(wh, "emp_p0001"))
    with pytest.raises(ValidationFailed) as e:
        service.choose_raters(wh, name, "P0001", {"emp_p0001": "peer"}, by=who(wh, "mgr_d1"))
    assert e.value.args[0].code == "review_rater_is_subject"
    with pytest.raises(ValidationFailed) as e:
        service.choose_raters(wh, name, TEAM, {"emp_p0002": "peer"}, by=who(wh, "mgr_d1"))
    assert e.value.args[0].code == "review_not_a_person"
    with pytest.raises(ValidationFailed) as e:
        service.choose_raters(wh, name, "P0020", {"emp_p0002": "peer"}, by="root")  # another team's person
    assert e.value.args[0].code == "review_outside_cycle"


def peer_view(o):
    return next(v for v in o.kinds if v.kind == "peer")


def test_two_peers_show_nothing_three_show_only_their_average_and_no_record_says_who(wh):
    name = opened(wh)
    service.choose_raters(wh, name, "P0001", {u: "peer" for u in PEERS}, by=who(wh, "mgr_d1"))
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    scores = {"emp_p0002": 2, "emp_p0003": 5}
    for rater, score in scores.items():
        service.rate(wh, name, "P0001", "peer", score, comment=f"note from {rater[-1]}", by=who(wh, rater))
    for reader in ("emp_p0001", "mgr_d1", "root"):
        o = results.outcome(wh, name, "P0001", by=who(wh, reader), today=DEMO_TODAY)
        v = peer_view(o)
        assert (v.hidden, v.raters, v.average, v.by_competency, v.comments) == (True, None, None, {}, ())
        assert o.ratings is None  # a hidden kind does not count either
    service.rate(wh, name, "P0001", "peer", 5, comment="note from 4", by=who(wh, "emp_p0004"))
    o = results.outcome(wh, name, "P0001", by=who(wh, "emp_p0001"), today=DEMO_TODAY)
    v = peer_view(o)
    assert (v.hidden, v.raters, v.average) == (False, 3, pytest.approx(4.0))
    assert v.comments == ("note from 2", "note from 3", "note from 4")
    # the audit log names who rated in the cycle, never whom or what they gave
    for entry in audit.search(wh, audit.Search(action="rate")):
        assert entry["object_key"] == name and json.loads(entry["after"]) == {"kind": "peer"}
    rows = results.result_rows(wh, name, by="root", today=DEMO_TODAY)
    book = openpyxl.load_workbook(io.BytesIO(workbook(service.get(wh, name).as_dict(), rows, "zh")))
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert not {"emp_p0002", "emp_p0003", "emp_p0004"} & {str(c) for c in cells}
    p1 = next(r for r in rows if r["org"] == "P0001")
    assert p1["rating_peer"] == pytest.approx(4.0)
    assert {2.0, 5.0}.isdisjoint({p1[k] for k in p1 if k.startswith("rating_")})


def test_a_closed_cycle_keeps_its_snapshot_and_shows_a_restatement_beside(wh):
    name = opened(wh, "manager")
    service.rate(wh, name, "P0001", "manager", 4, by=who(wh, "mgr_d1"))
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    service.calibrate(wh, name, "P0002", grade="S", potential="high", reason="won the key account",
                      by=who(wh, "mgr_d1"))
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    before = results.outcome(wh, name, "P0001", by="root", today=DEMO_TODAY)
    assert before.frozen and before.batches and before.restated == []
    card = unit_scorecard(open_warehouse(wh.path), service.context(wh)[0], "P0001", "2026-Q3", today=DEMO_TODAY)
    assert before.score == pytest.approx(card.score) and before.grade == card.grade
    # a re-upload of P0001's July training hours after closing (an uploaded metric of their card)
    first = next(it for it in before.items if it["metric"] == "training_hours")
    import_table(wh, "actuals", pa.table({"metric": ["training_hours"], "org": ["P0001"], "period": ["2026-07"],
                                          "value": [1.0]}), source="restated")
    after = results.outcome(wh, name, "P0001", by="root", today=DEMO_TODAY)
    assert (after.score, after.grade, after.items, after.batches) == (before.score, before.grade, before.items,
                                                                      before.batches)
    [line] = after.restated
    assert line["metric"] == first["metric"] and line["frozen"] == first and line["now"]["actual"] != first["actual"]
    assert results.outcome(wh, name, "P0002", by="root", today=DEMO_TODAY).final_grade == "S"


def test_calibration_needs_its_stage_a_reason_and_a_known_grade_and_is_audited(wh):
    name = opened(wh, "manager")
    with pytest.raises(ValidationFailed) as e:
        service.calibrate(wh, name, "P0001", grade="A", reason="x", by="root")
    assert e.value.args[0].code == "review_not_calibrating"
    service.advance(wh, name, by="root", today=DEMO_TODAY)
    for kwargs, code in (({"grade": "A", "reason": "  "}, "review_reason_required"),
                         ({"grade": "Z", "reason": "x"}, "review_bad_grade"),
                         ({"potential": "huge", "reason": "x"}, "review_bad_potential")):
        with pytest.raises(ValidationFailed) as e:
            service.calibrate(wh, name, "P0001", by="root", **kwargs)
        assert e.value.args[0].code == code
    with pytest.raises(AccessDenied):
        service.calibrate(wh, name, "P0001", grade="A", reason="x", by=who(wh, "mgr_d2"))
    service.calibrate(wh, name, "P0001", grade="C", reason="missed the launch", by=who(wh, "mgr_d1"))
    service.calibrate(wh, name, "P0001", potential="medium", reason="steady", by=who(wh, "mgr_d1"))
    [last, first] = audit.search(wh, audit.Search(action="calibrate"))[:2]
    assert json.loads(first["after"]) == {"grade": "C", "potential": None} and first["reason"] == "missed the launch"
    assert json.loads(last["before"]) == {"grade": "C", "potential": None}
    assert json.loads(last["after"]) == {"grade": "C", "potential": "medium"}
    view = results.calibration(wh, name, TEAM, by=who(wh, "mgr_d1"), today=DEMO_TODAY)
    p1 = next(p for p in view.people if p["subject"] == "P0001")
    assert (p1["final_grade"], p1["potential"], p1["performance"]) == ("C", "medium", "low")
    assert view.box[("low", "medium")] == ["P0001"]
    assert len(view.people) == 9 and sum(g.count for g in view.gaps if g.grades == ("C", "D")) >= 1


@pytest.mark.parametrize("reader, readable", [
    ("emp_p0001", {"P0001"}),                       # their own review only, not their team's
    ("lead_t1", {TEAM}),                            # a team lead: their own unit, the team (not its people)
    ("mgr_d1", "all"), ("root", "all"), ("ceo", "all"),
    ("mgr_d2", set()),
])
def test_who_reads_which_review(wh, reader, readable):
    name = opened(wh)
    rows = {r["org"] for r in results.result_rows(wh, name, by=who(wh, reader), today=DEMO_TODAY)}
    team = set(service.context(wh)[0].subtree(TEAM))
    assert rows == (team if readable == "all" else readable)
    if readable != "all":
        with pytest.raises(AccessDenied):
            results.outcome(wh, name, "P0002", by=who(wh, reader), today=DEMO_TODAY)


def test_the_cycle_keeps_the_settings_it_was_opened_with(wh):
    from kpi_core.store import settings

    name = opened(wh)
    settings.put(wh, "review_weights", "kpi:50,ratings:50", reason="test")
    assert (service.get(wh, name).config.kpi_weight, service.get(wh, name).config.ratings_weight) == (70, 30)
    assert service.open_cycle(wh, "later", "2026-Q3", TEAM).config.kpi_weight == 50


def test_only_those_who_run_the_review_learn_who_the_raters_are(wh):
    name = opened(wh)
    service.choose_raters(wh, name, "P0001", {u: "peer" for u in PEERS}, by=who(wh, "mgr_d1"))
    assert service.raters(wh, name, "P0001", by=who(wh, "mgr_d1")) == [("P0001", u, "peer") for u in PEERS]
    for reader in ("emp_p0001", "emp_p0002", "mgr_d2"):
        with pytest.raises(AccessDenied):
            service.raters(wh, name, "P0001", by=who(wh, reader))
