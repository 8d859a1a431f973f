"""The query engine on a hand-computed company: HQ ─ SALES ─ EAST, SOUTH; HQ ─ OPS ─ SVC."""

import json

import pyarrow as pa
import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.query.api import Query, run
from tests.cli.test_commands import cli

ACTUALS = [
    # revenue (sum/sum), cost (sum/sum, lower is better)
    ("revenue", "EAST", "2025-01", 100), ("revenue", "SOUTH", "2025-01", 300),
    ("revenue", "EAST", "2025-02", 200), ("revenue", "SOUTH", "2025-02", 100),
    ("revenue", "SALES", "2025-02", 999),  # the department reported its own February figure
    ("revenue", "EAST", "2025-03", 50), ("revenue", "SOUTH", "2025-03", 0),
    ("cost", "EAST", "2025-01", 90), ("cost", "SOUTH", "2025-01", 150),
    ("cost", "EAST", "2025-03", 10), ("cost", "SOUTH", "2025-03", 5),
    # headcount (last/sum)
    ("headcount", "EAST", "2025-01", 10), ("headcount", "EAST", "2025-02", 11), ("headcount", "EAST", "2025-03", 12),
    ("headcount", "SOUTH", "2025-01", 5), ("headcount", "SOUTH", "2025-03", 7), ("headcount", "SVC", "2025-03", 3),
    # on-time rate (avg/avg)
    ("on_time_rate", "EAST", "2025-01", 0.9), ("on_time_rate", "EAST", "2025-02", 0.8),
    ("on_time_rate", "SOUTH", "2025-01", 0.6),
    # nps (quarterly, avg, org_agg none)
    ("nps", "SALES", "2025-Q1", 40), ("nps", "EAST", "2025-Q1", 50),
]
TARGETS = [
    ("revenue", "EAST", "2025", 1200), ("revenue", "SOUTH", "2025", 2400),
    ("revenue", "EAST", "2025-01", 150),     # an explicit month wins over the phased year
    ("cost", "SALES", "2025-Q1", 300),
    ("gross_margin", "HQ", "2025", 0.4),
    ("headcount", "EAST", "2025", 12),
]


def table(rows):
    return pa.table({"metric": [r[0] for r in rows], "org": [r[1] for r in rows], "period": [r[2] for r in rows],
                     "value": pa.array([float(r[3]) for r in rows])})


@pytest.fixture
def company(wh):
    import_table(wh, "actuals", table(ACTUALS), source="t")
    import_table(wh, "targets", table(TARGETS), source="t")
    return wh


def cells(wh, metrics, org="HQ", scope="self", grain="month", first="2025-01", last="2025-03", ytd=False):
    r = run(wh, Query(tuple(metrics), org, scope, grain, first, last, ytd))
    return {(c.metric, c.org, c.period): c for c in r.cells}


@pytest.mark.parametrize("org, period, actual, source", [
    ("EAST", "2025-01", 100, "reported"),
    ("SALES", "2025-01", 400, "rolled_up"),
    ("HQ", "2025-01", 400, "rolled_up"),
    ("SALES", "2025-02", 999, "reported"),   # its own figure, not 200 + 100
    ("HQ", "2025-02", 999, "rolled_up"),
    ("OPS", "2025-01", None, None),
])
def test_manual_sum_roll_up_and_reported_parent(company, org, period, actual, source):
    c = cells(company, ["revenue"], org=org)[("revenue", org, period)]
    assert (c.actual, c.source) == (actual, source)


@pytest.mark.parametrize("grain, first, ytd, org, expected", [
    ("quarter", "2025-Q1", False, "EAST", 350),
    ("quarter", "2025-Q1", False, "SALES", 400 + 999 + 50),  # each month: own value, else children's sum
    ("year", "2025", False, "EAST", 350),
])
def test_time_roll_up(company, grain, first, ytd, org, expected):
    got = cells(company, ["revenue"], org=org, grain=grain, first=first, last=first, ytd=ytd)
    assert got[("revenue", org, first)].actual == expected


def test_year_to_date(company):
    got = cells(company, ["revenue"], org="EAST", ytd=True)
    assert [got[("revenue", "EAST", p)].actual for p in ("2025-01", "2025-02", "2025-03")] == [100, 300, 350]


def test_ratio_from_rolled_up_components_never_the_mean_of_ratios(company):
    got = cells(company, ["gross_margin"], org="SALES", scope="subtree")
    east, south, sales = (got[("gross_margin", u, "2025-01")].actual for u in ("EAST", "SOUTH", "SALES"))
    assert east == pytest.approx((100 - 90) / 100) and south == pytest.approx((300 - 150) / 300)
    assert sales == pytest.approx((400 - 240) / 400)
    assert sales != pytest.approx((east + south) / 2)


def test_division_by_zero_gives_no_value_and_a_reason(company):
    c = cells(company, ["gross_margin"], org="SOUTH")[("gross_margin", "SOUTH", "2025-03")]
    assert c.actual is None and "division by zero" in c.note and c.status == "no_data"


@pytest.mark.parametrize("org, grain, period, expected", [
    ("EAST", "quarter", "2025-Q1", 12),      # last: the period-end value
    ("SOUTH", "quarter", "2025-Q1", 7),
    ("SALES", "quarter", "2025-Q1", 19),
    ("HQ", "quarter", "2025-Q1", 22),
    ("SOUTH", "month", "2025-02", None),     # SOUTH reported nothing for February
    ("SALES", "month", "2025-02", 11),
])
def test_last_value_over_time_sum_over_org(company, org, grain, period, expected):
    got = cells(company, ["headcount"], org=org, grain=grain, first=period, last=period)
    assert got[("headcount", org, period)].actual == expected


def test_average_metric(company):
    got = cells(company, ["on_time_rate"], org="SALES", scope="subtree", grain="quarter", first="2025-Q1",
                last="2025-Q1")
    assert got[("on_time_rate", "EAST", "2025-Q1")].actual == pytest.approx(0.85)
    assert got[("on_time_rate", "SALES", "2025-Q1")].actual == pytest.approx((0.85 + 0.6) / 2)


def test_org_agg_none_and_quarterly_frequency(company):
    got = cells(company, ["nps"], org="HQ", scope="subtree", grain="quarter", first="2025-Q1", last="2025-Q1")
    assert got[("nps", "SALES", "2025-Q1")].actual == 40 and got[("nps", "SALES", "2025-Q1")].source == "reported"
    assert got[("nps", "HQ", "2025-Q1")].actual is None  # none: HQ reports its own or has none
    monthly = cells(company, ["nps"], org="SALES")[("nps", "SALES", "2025-01")]
    assert monthly.actual is None and "reported by quarter" in monthly.note


@pytest.mark.parametrize("metric, org, grain, period, target", [
    ("revenue", "EAST", "month", "2025-01", 150),         # explicit month
    ("revenue", "EAST", "month", "2025-02", 100),         # year phased evenly
    ("revenue", "EAST", "quarter", "2025-Q1", 300),
    ("revenue", "SALES", "year", "2025", 3600),           # children's targets summed
    ("revenue", "SALES", "month", "2025-02", 300),
    ("cost", "SALES", "month", "2025-01", 100),           # quarter phased to months
    ("headcount", "EAST", "month", "2025-03", 12),        # last: repeated, not divided
    ("gross_margin", "HQ", "quarter", "2025-Q1", 0.4),    # a formula's explicit target
    ("nps", "SALES", "quarter", "2025-Q1", None),
])
def test_targets_at_any_grain(company, metric, org, grain, period, target):
    """The whole period's target (a period still in progress is judged on its target to date)."""
    got = cells(company, [metric], org=org, grain=grain, first=period, last=period)[(metric, org, period)]
    assert got.target_full == (None if target is None else pytest.approx(target))


def test_formula_target_from_component_targets(company, wh):
    import_table(wh, "targets", table([("cost", "EAST", "2025", 600)]), source="t2")
    c = cells(company, ["gross_margin"], org="EAST", grain="year", first="2025", last="2025")
    assert c[("gross_margin", "EAST", "2025")].target_full == pytest.approx((1200 - 600) / 1200)


def test_status_and_attainment(company):
    c = cells(company, ["revenue", "cost"], org="EAST")
    jan = c[("revenue", "EAST", "2025-01")]
    assert jan.attainment == pytest.approx(100 / 150) and jan.status == "red" and "below amber" in jan.rule
    cost = cells(company, ["cost"], org="SALES", grain="quarter", first="2025-Q1", last="2025-Q1")
    q1 = cost[("cost", "SALES", "2025-Q1")]
    assert q1.actual == 255 and q1.attainment == pytest.approx(1 + (300 - 255) / 300) and q1.status == "green"


def test_children_scope_and_unknown_metric(company):
    got = cells(company, ["revenue"], org="HQ", scope="children", first="2025-01", last="2025-01")
    assert sorted(k[1] for k in got) == ["OPS", "SALES"]
    with pytest.raises(Exception, match="no metric 'nope'"):
        cells(company, ["nope"])


def test_cli_query_csv_and_json(wh_path):
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(wh_path)
    import_table(wh, "actuals", table(ACTUALS), source="t")
    import_table(wh, "targets", table(TARGETS), source="t")
    del wh
    r = cli(wh_path, "query", "--metric", "revenue", "--org", "SALES", "--children", "--grain", "quarter",
            "--from", "2025-Q1", "--to", "2025-Q1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "metric,org,period,actual,target,attainment,status"
    assert lines[1] == "revenue,EAST,2025-Q1,350.0,300.0,1.1666666666666667,green"
    out = json.loads(cli(wh_path, "query", "--metric", "gross_margin", "--org", "SOUTH", "--grain", "month",
                         "--from", "2025-03", "--to", "2025-03", "--format", "json").stdout)
    assert out == [{"metric": "gross_margin", "org": "SOUTH", "period": "2025-03", "actual": None, "target": None,
                    "attainment": None, "status": "no_data", "target_full": None, "in_progress": False}]


def test_cli_query_json_says_a_year_in_progress_and_its_two_targets(wh_path):
    """SPEC §3: the year is judged on the target to date (its months up to the as-of month, the
    latest with an actual), with the whole year's target beside it."""
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(wh_path)
    import_table(wh, "actuals", table(ACTUALS), source="t")
    import_table(wh, "targets", table(TARGETS), source="t")

    def query(*args):
        return json.loads(cli(wh_path, "query", "--metric", "revenue", "--org", "EAST", "--format", "json",
                              *args).stdout)
    months = query("--grain", "month", "--from", "2025-01", "--to", "2025-12")
    as_of = max(m["period"] for m in months if m["actual"] is not None)
    assert as_of < "2025-12" and not any(m["in_progress"] for m in months)
    [year] = query("--grain", "year", "--from", "2025", "--to", "2025")
    assert year["in_progress"] is True
    explicit = {(m, o, per): v for m, o, per, v in TARGETS}
    assert year["target_full"] == explicit[("revenue", "EAST", "2025")]  # an explicit year target wins
    assert year["target"] == pytest.approx(sum(m["target"] for m in months if m["period"] <= as_of))
    assert year["attainment"] == pytest.approx(year["actual"] / year["target"])


# --- cascade, reconciliation, scorecards ---------------------------------------------------------

from kpi_core.query.scorecard import scorecard  # noqa: E402
from kpi_core.services.cascade import cascade, reconcile  # noqa: E402


def test_cascade_equal_with_uplift_and_reconcile(company):
    splits, result = cascade(company, "revenue", "OPS", 2025, "equal", uplift=1.05, total=1000,
                             reason="plan")
    assert [(s.child, s.target) for s in splits] == [("SVC", pytest.approx(1050))]
    assert result.batch is not None
    rec = reconcile(company, "revenue", "SALES", "2025")
    assert rec.parent == 3600 and rec.children == {"EAST": 1200, "SOUTH": 2400} and rec.gap == 0


def test_cascade_by_last_year_share(company, wh):
    import_table(wh, "actuals", table([("revenue", "EAST", "2024-06", 300), ("revenue", "SOUTH", "2024-06", 100)]),
                 source="t")
    splits, _ = cascade(company, "revenue", "SALES", 2025, "last_year", total=4000, dry_run=True)
    assert {s.child: s.target for s in splits} == {"EAST": pytest.approx(3000), "SOUTH": pytest.approx(1000)}


@pytest.mark.parametrize("method, weights, expected", [
    ("weights", {"EAST": 3, "SOUTH": 1}, {"EAST": 750, "SOUTH": 250}),
    ("headcount", None, {"EAST": 1000 * 12 / 19, "SOUTH": 1000 * 7 / 19}),
])
def test_cascade_by_weights_and_headcount(company, wh, method, weights, expected):
    if method == "headcount":  # last year's year-end headcount
        import_table(wh, "actuals", table([("headcount", "EAST", "2024-12", 12), ("headcount", "SOUTH", "2024-12", 7)]),
                     source="t")
    splits, _ = cascade(company, "revenue", "SALES", 2025, method, weights=weights, total=1000, dry_run=True)
    assert {s.child: s.target for s in splits} == {k: pytest.approx(v) for k, v in expected.items()}


def test_a_rate_is_copied_down_not_split(company):
    splits, _ = cascade(company, "on_time_rate", "SALES", 2025, "equal", total=0.95, dry_run=True)
    assert {s.child: s.target for s in splits} == {"EAST": 0.95, "SOUTH": 0.95}


def test_scorecard_weights_and_grade(company):
    card = scorecard(company, "EAST", "2025-Q1", "quarter", {"revenue": 2, "cost": 1, "headcount": 1})
    by = {it["metric"]: it["score"] for it in card.items}
    # revenue 350 against 300 (the year's 1200 phased); headcount 12 against 12 (repeated)
    assert by == {"revenue": pytest.approx(350 / 300 * 100), "cost": None, "headcount": pytest.approx(100.0)}
    assert card.score == pytest.approx((2 * 350 / 300 * 100 + 100) / 3)  # cost has no target: left out
    assert card.grade == "S"  # 111.1 ≥ 110


def test_dataset_metric_targets_and_actuals(company, wh):
    import_table(wh, "targets", table([("orders", "EAST", "2025", 24)]), source="t3")
    c = cells(company, ["orders"], org="EAST")[("orders", "EAST", "2025-01")]
    assert c.actual == 1 and c.source == "dataset" and c.target == 2 and c.status == "red"


def test_a_write_is_seen_by_the_next_query(company, wh, tmp_path):
    before = cells(company, ["revenue"], org="EAST")[("revenue", "EAST", "2025-01")].actual
    import_table(wh, "actuals", table([("revenue", "EAST", "2025-01", 123)]), source="t4")
    after = cells(company, ["revenue"], org="EAST")[("revenue", "EAST", "2025-01")].actual
    assert (before, after) == (100, 123)
    from kpi_core.ingest.org_file import import_org

    (tmp_path / "west.csv").write_text("code,name,parent\nWEST,华西组,SALES\n", encoding="utf-8")
    assert import_org(wh, tmp_path / "west.csv").batch
    assert ("revenue", "WEST", "2025-01") in cells(company, ["revenue"], org="SALES", scope="children")


def test_cli_targets_cascade_reconcile_and_scorecard(wh_path):
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(wh_path)
    import_table(wh, "targets", table([("revenue", "SALES", "2026", 1000)]), source="t")
    dry = cli(wh_path, "--format", "json", "targets", "cascade", "--metric", "revenue", "--org", "SALES",
              "--year", "2026", "--method", "weights", "--weight", "EAST=3", "--weight", "SOUTH=1",
              "--uplift", "1.1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    got = json.loads(dry.stdout)
    assert got["batch"] is None
    assert {r["org"]: round(r["target"], 6) for r in got["splits"]} == {"EAST": 825.0, "SOUTH": 275.0}
    done = cli(wh_path, "targets", "cascade", "--metric", "revenue", "--org", "SALES", "--year", "2026",
               "--reason", "plan v2")
    assert done.returncode == 0, done.stderr
    rec = json.loads(cli(wh_path, "--format", "json", "targets", "reconcile", "--metric", "revenue",
                         "--org", "SALES", "--period", "2026").stdout)
    assert rec == {"parent": 1000.0, "children": {"EAST": 500.0, "SOUTH": 500.0}, "children_total": 1000.0,
                   "gap": 0.0}
    bad = cli(wh_path, "targets", "cascade", "--metric", "revenue", "--org", "EAST", "--year", "2026")
    assert bad.returncode == 1 and "has no children" in bad.stderr
    import_table(wh, "actuals", table([("revenue", "EAST", "2026-01", 50)]), source="t")
    card = json.loads(cli(wh_path, "--format", "json", "scorecard", "--org", "EAST", "--period", "2026-01",
                          "--weight", "revenue=1").stdout)
    assert card["score"] == pytest.approx(120.0)  # 50 against 500 / 12: attainment 1.2, the cap
    assert card["grade"] == "S"


def test_a_metric_named_ten_thousand_times_is_computed_once(wh_path):
    """The probe: 10,000 repeated --metric flags over 600 months exhausted memory after 96 s."""
    import subprocess
    import sys

    from kpi_core.model.config import PROJECT_ROOT

    args = [sys.executable, "-m", "kpi_core", "--warehouse", str(wh_path), "query", "--grain", "month",
            "--from", "1976-01", "--to", "2025-12", "--format", "json", *(["--metric", "revenue"] * 10_000)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)  # not a hang
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 600 and {r["metric"] for r in rows} == {"revenue"}


def test_a_query_past_its_cell_budget_is_refused_at_once_with_the_count(wh, monkeypatch):
    from kpi_core.model.errors import KpiError

    monkeypatch.setenv("KPI_MAX_CELLS_QUERY", "1000")
    with pytest.raises(KpiError) as refused:
        run(wh, Query(("revenue", "cost", "revenue"), "HQ", "subtree", "month", "2000-01", "2025-12"))
    assert str(refused.value) == ("the query asks for 3,744 cells (2 metrics × 6 units × 312 periods), over the limit "
                                  "of 1,000 (KPI_MAX_CELLS_QUERY); ask for fewer metrics, units or periods")
    assert len(run(wh, Query(("revenue",), "HQ", "subtree", "month", "2025-01", "2025-12")).cells) == 72
