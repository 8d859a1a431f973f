"""Cascade bounds in kpi_core.services.cascade: the uplift (0.5 to 3) and the method are the
core's to check, so the CLI refuses what the app's targets page does not offer."""

import json
import math

import pyarrow as pa
import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.services.cascade import METHODS, UPLIFT, cascade, cascade_metrics, reconcile
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli


def test_the_page_and_the_cli_offer_the_cores_methods():
    assert METHODS == ("equal", "last_year", "headcount", "weights") and UPLIFT == (0.5, 3.0)


@pytest.mark.parametrize("uplift, refused", [
    (0.5, False), (1.0, False), (1.05, False), (3.0, False),
    (0.49, True), (3.01, True), (0.0, True), (-1.0, True), (math.nan, True), (math.inf, True),
])
@pytest.mark.parametrize("dry_run", [True, False])
def test_uplift_bounds(wh, uplift, refused, dry_run):
    go = lambda: cascade(wh, "revenue", "SALES", 2025, total=100.0, uplift=uplift, dry_run=dry_run,  # noqa: E731
                         reason="plan")
    if refused:
        with pytest.raises(ValidationFailed, match="is outside 0.5 to 3"):
            go()
    else:
        splits, _ = go()
        assert sum(s.target for s in splits) == pytest.approx(100.0 * uplift)


@pytest.mark.parametrize("method", ["nope", "", "EQUAL"])
def test_an_unknown_method_is_refused(wh, method):
    with pytest.raises(ValidationFailed, match=f"no cascade method '{method}'"):
        cascade(wh, "revenue", "SALES", 2025, method, total=100.0, dry_run=True)


@pytest.mark.parametrize("uplift, code", [("5", 1), ("0.1", 1), ("1.5", 0)])
def test_the_cli_refuses_the_same_uplift(wh_path, uplift, code):
    r = cli(wh_path, "targets", "cascade", "--metric", "revenue", "--org", "SALES", "--year", "2025",
            "--total", "100", "--uplift", uplift, "--dry-run")
    assert r.returncode == code, r.stderr
    assert ("is outside 0.5 to 3" in r.stderr) == bool(code)


# --- a cascade that cannot surprise (issue 13, item 5) -----------------------------------------

def facts(wh, kind, rows):
    import_table(wh, kind, pa.table({"metric": [r[0] for r in rows], "org": [r[1] for r in rows],
                                     "period": [r[2] for r in rows], "value": [float(r[3]) for r in rows]}),
                 source="test")


def targets_of(wh, org, year="2026"):
    with wh.connect() as con:
        return dict(con.execute("SELECT metric || '/' || org, value FROM target WHERE period = ? AND org IN "
                                "(SELECT unnest(?))", [year, org]).fetchall())


@pytest.mark.parametrize("method, weights, actuals, expected", [
    ("last_year", None, [("revenue", "EAST", "2025-03", 60), ("revenue", "SOUTH", "2025-03", 40)], []),
    ("last_year", None, [("revenue", "EAST", "2025-03", 85), ("revenue", "SOUTH", "2025-03", 15)],
     [("services_cascade_concentrated", "EAST", "85.0%")]),
    ("last_year", None, [("revenue", "EAST", "2025-03", 100), ("revenue", "SOUTH", "2025-03", 0)],
     [("services_cascade_zero_share", "SOUTH", "gets a share of 0"),
      ("services_cascade_concentrated", "EAST", "100.0%")]),
    ("last_year", None, [("revenue", "EAST", "2025-03", 100)],
     [("services_cascade_no_actual", "SOUTH", "has no actual for 2025"),
      ("services_cascade_concentrated", "EAST", "100.0%")]),
    ("headcount", None, [("headcount", "EAST", "2025-12", 9)],
     [("services_cascade_no_headcount", "SOUTH", "has no headcount for 2025"),
      ("services_cascade_concentrated", "EAST", "100.0%")]),
    ("weights", {"EAST": 3.0}, [],
     [("services_cascade_no_weight", "SOUTH", "has no weight"), ("services_cascade_concentrated", "EAST", "100.0%")]),
    ("weights", {"EAST": 1.0, "SOUTH": 0.0}, [],
     [("services_cascade_zero_share", "SOUTH", "gets a share of 0"),
      ("services_cascade_concentrated", "EAST", "100.0%")]),
    ("weights", {"EAST": 3.0, "SOUTH": 1.0}, [], []),
], ids=["even", "concentrated", "zero share", "no actual", "no headcount", "no weight", "zero weight", "weights"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_each_surprise_is_a_warning_naming_the_child(wh, method, weights, actuals, expected, dry_run):
    if actuals:
        facts(wh, "actuals", actuals)
    done = cascade_metrics(wh, ["revenue"], "SALES", 2026, method, weights=weights, totals={"revenue": 1000.0},
                           dry_run=dry_run, reason="plan")
    assert [w.code for w in done.warnings] == [code for code, _, _ in expected]
    for w, (_, child, says) in zip(done.warnings, expected, strict=True):
        assert child in w and says in w and w.startswith("revenue: ")
        assert child in w.render("zh")
    assert sum(s.target for s in done.metrics[0].splits) == pytest.approx(1000.0)
    zero = {s.child for s in done.metrics[0].splits if s.share == 0}
    assert zero == {child for code, child, _ in expected if code != "services_cascade_concentrated"}
    assert (done.result is None) == dry_run


def test_the_write_returns_the_split_and_warnings_the_dry_run_showed(wh):
    facts(wh, "actuals", [("revenue", "EAST", "2025-03", 90), ("revenue", "SOUTH", "2025-03", 10)])
    facts(wh, "targets", [("revenue", "SALES", "2026", 1000)])
    ask = dict(metrics=["revenue"], org="SALES", year=2026, method="last_year", uplift=1.2)
    dry = cascade_metrics(wh, **ask, dry_run=True)
    done = cascade_metrics(wh, **ask, reason="plan")
    assert done.metrics == dry.metrics and done.warnings == dry.warnings
    assert [(s.child, s.basis) for s in done.metrics[0].splits] == [("EAST", 90.0), ("SOUTH", 10.0)]
    assert targets_of(wh, ["EAST", "SOUTH"]) == {"revenue/EAST": pytest.approx(1080.0),
                                                 "revenue/SOUTH": pytest.approx(120.0)}


@pytest.mark.parametrize("uplift, total, own, gap", [
    (1.1, None, 1000, -100.0),    # the parent keeps 1,000, the children get 1,100
    (0.9, None, 1000, 100.0),
    (1.0, 800.0, 1000, 200.0),    # a total other than the parent's own target
    (1.0, None, 1000, None),      # no gap: nothing to say
    (1.1, 1000.0, None, None),    # a parent without its own target takes its children's total
])
def test_an_uplift_gap_is_stated_with_its_amount(wh, uplift, total, own, gap):
    if own is not None:
        facts(wh, "targets", [("revenue", "SALES", "2026", own)])
    done = cascade_metrics(wh, ["revenue"], "SALES", 2026, uplift=uplift, totals={"revenue": total}, reason="plan")
    said = [w for w in done.warnings if w.code == "services_cascade_gap"]
    if gap is None:
        assert said == [] and not done.metrics[0].gap
        assert done.reconciliation["revenue"].gap == pytest.approx(0.0)
        return
    assert done.metrics[0].gap == pytest.approx(gap)
    (w,) = said
    assert f"a gap of {gap:,.0f}" in w and "销售部 (SALES)" in w and f"own target of {own:,}" in w
    assert done.reconciliation["revenue"].gap == pytest.approx(gap)  # what the warning said, now written


@pytest.mark.parametrize("uplift", [1.1, 0.75, 1.0])
def test_update_parent_writes_the_parents_target_in_the_same_batch_and_closes_the_gap(wh, uplift):
    facts(wh, "targets", [("revenue", "SALES", "2026", 1000)])
    done = cascade_metrics(wh, ["revenue"], "SALES", 2026, uplift=uplift, update_parent=True, reason="plan")
    assert [w.code for w in done.warnings] == []
    assert done.result.loaded == 3  # two children and the parent, one batch
    assert targets_of(wh, ["SALES"]) == {"revenue/SALES": pytest.approx(1000 * uplift)}
    rec = done.reconciliation["revenue"]
    assert rec.parent == pytest.approx(1000 * uplift) and rec.gap == pytest.approx(0.0)
    assert reconcile(wh, "revenue", "SALES", "2026").gap == pytest.approx(0.0)  # read back, not remembered


def test_several_metrics_cascade_as_one_batch(wh):
    facts(wh, "targets", [("revenue", "SALES", "2026", 1000), ("cost", "SALES", "2026", 400),
                          ("on_time_rate", "SALES", "2026", 0.9)])
    done = cascade_metrics(wh, ["revenue", "cost", "on_time_rate", "revenue"], "SALES", 2026, uplift=1.1,
                           update_parent=True, reason="plan")
    assert [m.metric for m in done.metrics] == ["revenue", "cost", "on_time_rate"]
    assert done.result.loaded == 9  # 3 metrics × (2 children + the parent)
    with wh.connect() as con:
        rows = con.execute("SELECT count(*) FROM target_fact WHERE batch_id = ?", [done.result.batch]).fetchone()
    assert rows == (9,)
    got = targets_of(wh, ["SALES", "EAST", "SOUTH"])
    assert got == {"revenue/EAST": pytest.approx(550), "revenue/SOUTH": pytest.approx(550),
                   "revenue/SALES": pytest.approx(1100), "cost/EAST": pytest.approx(220),
                   "cost/SOUTH": pytest.approx(220), "cost/SALES": pytest.approx(440),
                   "on_time_rate/EAST": pytest.approx(0.99), "on_time_rate/SOUTH": pytest.approx(0.99),
                   "on_time_rate/SALES": pytest.approx(0.99)}
    assert set(done.reconciliation) == {"revenue", "cost"}  # a rate does not add up
    assert all(r.gap == pytest.approx(0.0) for r in done.reconciliation.values())


def test_one_metric_without_a_target_refuses_the_whole_batch(wh):
    facts(wh, "targets", [("revenue", "SALES", "2026", 1000)])
    with pytest.raises(KpiError, match="has no 2026 target for cost to cascade; set one, or give a total"):
        cascade_metrics(wh, ["revenue", "cost"], "SALES", 2026, reason="plan")
    assert targets_of(wh, ["EAST", "SOUTH"]) == {}
    with pytest.raises(ValidationFailed, match="at least one metric"):
        cascade_metrics(wh, [], "SALES", 2026, dry_run=True)


def test_the_cli_shows_warnings_and_the_reconciliation_after_the_write(wh_path):
    wh = open_warehouse(wh_path)
    facts(wh, "targets", [("revenue", "SALES", "2026", 1000), ("cost", "SALES", "2026", 400)])
    base = ["targets", "cascade", "--metric", "revenue", "--metric", "cost", "--org", "SALES", "--year", "2026",
            "--method", "weights", "--weight", "EAST=9", "--weight", "SOUTH=1", "--uplift", "1.1"]
    dry = cli(wh_path, "--format", "json", *base, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    got = json.loads(dry.stdout)
    assert got["batch"] is None and got["reconciliation"] is None and got["parents"] == []
    assert [(r["metric"], r["org"], round(r["target"], 6), r["basis"]) for r in got["splits"]] == [
        ("revenue", "EAST", 990.0, 9.0), ("revenue", "SOUTH", 110.0, 1.0),
        ("cost", "EAST", 396.0, 9.0), ("cost", "SOUTH", 44.0, 1.0)]
    assert len(got["warnings"]) == 4  # per metric: EAST takes 90 %, and the gap
    assert any("a gap of -100" in w for w in got["warnings"]) and any("a gap of -40" in w for w in got["warnings"])
    text = cli(wh_path, *base, "--update-parent", "--reason", "plan")
    assert text.returncode == 0, text.stderr
    assert "warning: revenue: 华东组 (EAST) takes 90.0% of the total" in text.stdout
    assert "a gap of" not in text.stdout  # --update-parent leaves no gap to warn about
    assert "revenue: parent 1,100.00   children 1,100.00   gap 0.00" in text.stdout
    assert "cost: parent 440.00   children 440.00   gap 0.00" in text.stdout
    again = json.loads(cli(wh_path, "--format", "json", *base, "--reason", "plan").stdout)  # 1,100 × 1.1 again
    assert again["reconciliation"] == {
        "revenue": {"parent": pytest.approx(1100.0), "children_total": pytest.approx(1210.0),
                    "gap": pytest.approx(-110.0)},
        "cost": {"parent": pytest.approx(440.0), "children_total": pytest.approx(484.0), "gap": pytest.approx(-44.0)}}
    assert any("a gap of -110" in w for w in again["warnings"])
    one = cli(wh_path, *base, "--total", "5", "--dry-run")
    assert one.returncode == 2 and "--total splits one metric" in one.stderr
