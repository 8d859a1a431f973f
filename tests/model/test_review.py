"""Review cycles as data: the states and who rates when, the anonymity rule, ratings on the score
scale, the overall result, the calibration guideline and the settings' texts."""

from __future__ import annotations

import pytest

from kpi_core.model import review
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.review import Config


@pytest.mark.parametrize("state, after", [
    ("open", "self"), ("self", "manager"), ("manager", "calibration"), ("calibration", "closed"),
])
def test_states_go_one_way(state, after):
    assert review.next_state(state) == after


@pytest.mark.parametrize("state, code", [("closed", "review_closed_already"), ("done", "review_bad_state")])
def test_a_closed_or_unknown_state_goes_nowhere(state, code):
    with pytest.raises(ValidationFailed) as e:
        review.next_state(state)
    assert e.value.args[0].code == code


@pytest.mark.parametrize("kind, rates_in", [
    ("self", {"self"}), ("manager", {"manager"}), ("peer", {"self", "manager"}), ("report", {"self", "manager"}),
])
def test_who_rates_in_which_stage(kind, rates_in):
    assert {s for s in review.STATES if review.may_rate(kind, s)} == rates_in


def rows(*raters: tuple[str, float], comment: str | None = None):
    return [(r, comp, score, comment) for r, score in raters for comp in ("results", "growth")]


@pytest.mark.parametrize("kind, raters, hidden, average", [
    ("peer", [], True, None),
    ("peer", [("a", 3)], True, None),
    ("peer", [("a", 3), ("b", 5)], True, None),                # 2 peers: nothing, not even the count
    ("peer", [("a", 3), ("b", 5), ("c", 4)], False, 4.0),       # 3 peers: their average only
    ("report", [("a", 1), ("b", 2)], True, None),
    ("report", [("a", 1), ("b", 2), ("c", 3), ("d", 2)], False, 2.0),
    ("manager", [("m", 4)], False, 4.0),                       # named kinds show with one rater
    ("self", [("p", 2)], False, 2.0),
])
def test_anonymous_kinds_show_only_an_average_of_three_or_more(kind, raters, hidden, average):
    v = review.kind_view(kind, rows(*raters), 3)
    assert (v.hidden, v.average) == (hidden, average)
    if hidden:
        assert (v.raters, v.by_competency, v.comments) == (None, {}, ())
    else:
        assert v.raters == len(raters)


def test_a_floor_above_three_hides_three():
    assert review.kind_view("peer", rows(("a", 3), ("b", 4), ("c", 5)), 4).hidden
    assert not review.kind_view("peer", rows(("a", 3), ("b", 4), ("c", 5), ("d", 5)), 4).hidden


def test_anonymous_comments_are_sorted_not_in_rater_order():
    said = [("z", "results", 3.0, "b: clear plans"), ("a", "results", 4.0, "a: helpful"),
            ("m", "results", 5.0, "c: late replies")]
    assert review.kind_view("peer", said, 3).comments == ("a: helpful", "b: clear plans", "c: late replies")


def test_each_rater_counts_once_however_many_competencies_they_scored():
    said = [("a", "results", 5.0, None), ("a", "growth", 5.0, None), ("a", "customer", 5.0, None),
            ("b", "results", 1.0, None)]
    v = review.kind_view("manager", said, 3)
    assert v.average == 3.0 and v.by_competency == {"results": 3.0, "growth": 5.0, "customer": 5.0}


@pytest.mark.parametrize("rating, points", [(1, 60), (2, 75), (2.5, 82.5), (4, 100), (4.5, 105), (5, 110)])
def test_ratings_on_the_score_scale(rating, points):
    assert Config().on_score_scale(rating) == pytest.approx(points)


@pytest.mark.parametrize("kpi, ratings, overall", [
    (100.0, 90.0, 97.0), (100.0, None, 100.0), (None, 90.0, 90.0), (None, None, None),
])
def test_overall_is_the_weighted_kpi_score_and_ratings(kpi, ratings, overall):
    assert review.overall(kpi, ratings, Config()) == (pytest.approx(overall) if overall is not None else None)


def test_the_ratings_part_leaves_out_a_hidden_kind():
    views = [review.kind_view("manager", [("m", "results", 4.0, None)], 3),
             review.kind_view("peer", rows(("a", 1), ("b", 1)), 3)]
    assert review.ratings_part(views, Config()) == pytest.approx(100.0)  # the manager's 4 alone
    views[1] = review.kind_view("peer", rows(("a", 1), ("b", 1), ("c", 1)), 3)
    assert review.ratings_part(views, Config()) == pytest.approx((60 * 100 + 20 * 60) / 80)


@pytest.mark.parametrize("grades, gaps", [
    # 10 people: S ≤ 10 % allows 1, A ≤ 20 % allows 2, C+D ≥ 10 % needs 1
    (["S", "S", "A", "B", "B", "B", "B", "B", "B", "C"], [(False, -1), (True, 0), (True, 0)]),
    (["A", "A", "A", "B", "B", "B", "B", "B", "B", "B"], [(True, 0), (False, -1), (False, 1)]),
    (["B"] * 9 + ["D"], [(True, 0), (True, 0), (True, 0)]),
    ([], [(True, 0), (True, 0), (True, 0)]),  # nobody graded yet: nothing to keep to
])
def test_distribution_against_the_guideline(grades, gaps):
    found = review.distribution(grades, review.parse_guideline("S<=10,A<=20,C+D>=10"))
    assert [(g.ok, g.move) for g in found] == gaps


@pytest.mark.parametrize("text", ["S=10", "S<=x", "S<=120", "<=10"])
def test_a_bad_guideline_is_refused(text):
    with pytest.raises(ValidationFailed) as e:
        review.parse_guideline(text)
    assert e.value.args[0].code == "review_guideline_bad"


def test_settings_texts_make_a_config_and_refuse_in_words():
    c = review.config_of("results=业绩/Results,growth=成长/Growth", "1:50,3:100", "kpi:60,ratings:40",
                         "manager:1,peer:1", 3)
    assert [x.code for x in c.competencies] == ["results", "growth"] and c.on_score_scale(2) == 75
    assert Config.from_dict(c.as_dict()) == c
    for bad, code in ((("results", "1:50,3:100", "kpi:1", "manager:1", 3), "review_competency_bad"),
                      (("r=甲/A", "3:50,1:100", "kpi:1", "manager:1", 3), "review_points_bad"),
                      (("r=甲/A", "1:50,3:100", "kpi:1", "boss:1", 3), "review_pair_bad"),
                      (("r=甲/A", "1:50,3:100", "kpi:1", "manager:1", 2), "review_min_raters")):
        with pytest.raises(ValidationFailed) as e:
            review.config_of(*bad)
        assert e.value.args[0].code == code


@pytest.mark.parametrize("score", [0, 5.5, float("nan"), float("inf")])
def test_a_score_off_the_scale_is_refused(score):
    with pytest.raises(ValidationFailed) as e:
        Config().check_score(score)
    assert e.value.args[0].code == "review_score_off_scale"
