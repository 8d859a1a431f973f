"""Phasing yearly targets to months (even, last year's shares, named profiles) and fiscal years
through the engine, on the conftest company (HQ ─ SALES ─ EAST, SOUTH; HQ ─ OPS ─ SVC)."""

import pyarrow as pa
import pytest

from kpi_core.engine.phasing import share
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.query.api import Query, run
from kpi_core.store import dictionary, phasing, settings
from tests.cli.test_commands import cli


def table(rows):
    return pa.table({"metric": [r[0] for r in rows], "org": [r[1] for r in rows], "period": [r[2] for r in rows],
                     "value": pa.array([float(r[3]) for r in rows])})


def targets(wh, grain, first, last, org="EAST", metric="revenue", ytd=False, fiscal_start=None):
    r = run(wh, Query((metric,), org, "self", grain, first, last, ytd, fiscal_start))
    return {c.period: c.target for c in r.cells}


def set_phasing(wh, code, how):
    m = dictionary.current(wh)[code]
    dictionary.apply_metrics(wh, [m.model_copy(update={"phasing": how})], reason=f"phasing {how}")


@pytest.mark.parametrize("months, whole, weights, expected", [
    (["a"], ["a", "b"], None, 50.0),
    (["a"], ["a", "b"], {"a": 3, "b": 1}, 75.0),
    (["a", "b"], ["a", "b", "c"], {"a": 1, "b": 1, "c": 2}, 50.0),
    (["a"], ["a", "b"], {"a": 0, "b": 0}, 50.0),      # nothing to go by: even
    (["a"], ["a", "b"], {"a": 1, "b": None}, 50.0),   # a month without a weight: even
    (["a"], ["a", "b"], {"a": -1, "b": 3}, 50.0),     # a negative share makes no sense: even
])
def test_share(months, whole, weights, expected):
    w = None if weights is None else weights.get
    assert share(100.0, months, whole, w) == pytest.approx(expected)


@pytest.mark.parametrize("name, weights, message", [
    ("q4_heavy", [1] * 11, "12 monthly weights"),
    ("q4_heavy", [1] * 11 + ["x"], "month 12 weight 'x' is not a number"),
    ("q4_heavy", [1] * 11 + [-1], "month 12 weight -1 must be a number ≥ 0"),
    ("q4_heavy", [0] * 12, "add up to 0"),
    ("even", [1] * 12, "built-in"),
])
def test_profile_weights_are_checked(name, weights, message):
    with pytest.raises(KpiError, match=message):
        phasing.check_weights(name, weights)


def test_even_is_the_default(wh):
    import_table(wh, "targets", table([("revenue", "EAST", "2025", 1200)]), source="t")
    assert targets(wh, "month", "2025-01", "2025-02") == {"2025-01": 100, "2025-02": 100}


def test_last_years_shares(wh):
    # 2024: January 10 %, February 30 %, the other ten months 6 % each
    prior = [("revenue", "EAST", f"2024-{m:02d}", v) for m, v in [(1, 100), (2, 300)] + [(k, 60) for k in range(3, 13)]]
    import_table(wh, "actuals", table(prior), source="t")
    import_table(wh, "targets", table([("revenue", "EAST", "2025", 2000), ("revenue", "SOUTH", "2025", 1200)]),
                 source="t")
    set_phasing(wh, "revenue", "last_year")
    got = targets(wh, "month", "2025-01", "2025-03")
    assert got == {"2025-01": pytest.approx(200), "2025-02": pytest.approx(600), "2025-03": pytest.approx(120)}
    assert targets(wh, "quarter", "2025-Q1", "2025-Q1") == {"2025-Q1": pytest.approx(920)}
    assert targets(wh, "month", "2025-02", "2025-02", ytd=True) == {"2025-02": pytest.approx(800)}
    # SOUTH has no 2024 actuals: even
    assert targets(wh, "month", "2025-01", "2025-01", org="SOUTH") == {"2025-01": pytest.approx(100)}
    # SALES has no target of its own: its children's phased targets add up
    assert targets(wh, "month", "2025-01", "2025-01", org="SALES") == {"2025-01": pytest.approx(300)}


def test_named_profile(wh):
    phasing.set_profile(wh, "q4_heavy", [1] * 9 + [3] * 3, reason="retail season")
    import_table(wh, "targets", table([("revenue", "EAST", "2025", 1800)]), source="t")
    set_phasing(wh, "revenue", "q4_heavy")
    got = targets(wh, "quarter", "2025-Q1", "2025-Q4")
    # weights 1 × 9 months + 3 × 3 months = 18 shares of 100
    assert got == {"2025-Q1": pytest.approx(300), "2025-Q2": pytest.approx(300), "2025-Q3": pytest.approx(300),
                   "2025-Q4": pytest.approx(900)}
    # an explicit month still wins over the phased year
    import_table(wh, "targets", table([("revenue", "EAST", "2025-12", 5)]), source="t")
    assert targets(wh, "month", "2025-12", "2025-12") == {"2025-12": 5}


def test_an_unknown_profile_is_refused_on_apply(wh):
    m = dictionary.current(wh)["revenue"].model_copy(update={"phasing": "nope"})
    with pytest.raises(ValidationFailed) as exc:
        dictionary.apply_metrics(wh, [m])
    assert "phasing profile 'nope' is not defined" in exc.value.problems[0]


# --- fiscal years through the engine -------------------------------------------------------------

FY_ACTUALS = [("revenue", "EAST", f"{y}-{m:02d}", m) for y, ms in ((2025, range(4, 13)), (2026, range(1, 4)))
              for m in ms]


@pytest.fixture
def fiscal(wh):
    import_table(wh, "actuals", table(FY_ACTUALS), source="t")
    import_table(wh, "targets", table([("revenue", "EAST", "2026", 1200)]), source="t")
    settings.put(wh, "fiscal_year_start", "4", reason="April fiscal year")
    return wh


def actuals(wh, grain, first, last, ytd=False, fiscal_start=None):
    r = run(wh, Query(("revenue",), "EAST", "self", grain, first, last, ytd, fiscal_start))
    return {c.period: c.actual for c in r.cells}


def test_fiscal_year_totals(fiscal):
    # FY2026 = 2025-04 … 2026-03: months 4..12 then 1..3, each valued at its month number
    assert actuals(fiscal, "year", "2026", "2026") == {"2026": sum(range(4, 13)) + 1 + 2 + 3}
    assert actuals(fiscal, "quarter", "2026-Q1", "2026-Q4") == {"2026-Q1": 15, "2026-Q2": 24, "2026-Q3": 33,
                                                               "2026-Q4": 6}


def test_fiscal_year_to_date_starts_in_april(fiscal):
    got = actuals(fiscal, "month", "2025-04", "2026-02", ytd=True)
    assert got["2025-04"] == 4 and got["2025-05"] == 9 and got["2026-02"] == sum(range(4, 13)) + 1 + 2


def test_fiscal_targets_phase_over_the_fiscal_year(fiscal):
    assert targets(fiscal, "quarter", "2026-Q1", "2026-Q1") == {"2026-Q1": 300}
    assert targets(fiscal, "month", "2025-04", "2025-04") == {"2025-04": 100}


def test_the_query_may_override_the_setting(fiscal):
    assert actuals(fiscal, "year", "2025", "2025", fiscal_start=1) == {"2025": sum(range(4, 13))}


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, message", [
    ("fiscal_year_start", "13", "must be a month 1-12"),
    ("fiscal_year_start", "April", "invalid literal"),
    ("default_amber", "1.5", "must not be above default_green"),
    ("grade_bands", "S110", "is not NAME:MIN_SCORE"),
    ("nope", "1", "no setting 'nope'"),
])
def test_bad_settings_are_refused(wh, key, value, message):
    with pytest.raises(KpiError, match=message):
        settings.put(wh, key, value)


def test_default_thresholds_apply_to_metrics_without_their_own(wh):
    import_table(wh, "actuals", table([("revenue", "EAST", "2025-01", 95), ("cost", "EAST", "2025-01", 95)]),
                 source="t")
    import_table(wh, "targets", table([("revenue", "EAST", "2025-01", 100)]), source="t")
    status = lambda: run(wh, Query(("revenue",), "EAST", "self", "month", "2025-01", "2025-01")).cells[0].status  # noqa: E731
    assert status() == "amber"  # 95 % ≥ 90 %
    settings.put(wh, "default_amber", "0.96", reason="stricter amber")
    assert status() == "red"


def test_grade_bands_setting(wh):
    from kpi_core.query.scorecard import scorecard

    import_table(wh, "actuals", table([("revenue", "EAST", "2025-01", 95)]), source="t")
    import_table(wh, "targets", table([("revenue", "EAST", "2025-01", 100)]), source="t")
    assert scorecard(wh, "EAST", "2025-01", "month", {"revenue": 1}).grade == "B"
    settings.put(wh, "grade_bands", "A:95,B:80", reason="new bands")
    assert scorecard(wh, "EAST", "2025-01", "month", {"revenue": 1}).grade == "A"


def test_settings_and_phasing_from_the_cli(wh_path):
    assert cli(wh_path, "settings", "set", "fiscal_year_start", "7", "--reason", "July FY").returncode == 0
    listed = cli(wh_path, "--format", "json", "settings", "list")
    assert '"fiscal_year_start": "7"' in listed.stdout
    bad = cli(wh_path, "settings", "set", "fiscal_year_start", "0")
    assert bad.returncode == 1 and "must be a month 1-12" in bad.stderr
    assert cli(wh_path, "phasing", "set", "flat", ",".join(["1"] * 12)).returncode == 0
    assert "flat" in cli(wh_path, "phasing", "list").stdout


def test_fiscal_year_for_dataset_metrics(fiscal):
    # the template's one sales order is dated 2025-01-05: fiscal 2025 (2024-04 … 2025-03)
    got = {c.period: c.actual for c in run(fiscal, Query(("orders",), "EAST", "self", "year", "2025", "2026")).cells}
    assert got == {"2025": 1, "2026": None}


def test_a_yearly_formula_target_keeps_its_level_and_the_components_shape(wh):
    from kpi_core.model.metric import Metric

    dictionary.apply_metrics(wh, [Metric(code="rpe", name="人均收入", source={"formula": "revenue / headcount"})],
                             reason="revenue per head")
    import_table(wh, "targets", table([("revenue", "EAST", "2025", 1200), ("headcount", "EAST", "2025", 10),
                                       ("rpe", "EAST", "2025", 150)]), source="t")
    got = lambda grain, p: targets(wh, grain, p, p, metric="rpe")[p]  # noqa: E731
    assert got("year", "2025") == 150
    # a month: 150 × (100 / 10) / (1200 / 10) — a month's share, not the yearly 150 repeated
    assert got("month", "2025-01") == pytest.approx(12.5)
    assert got("quarter", "2025-Q1") == pytest.approx(37.5)
