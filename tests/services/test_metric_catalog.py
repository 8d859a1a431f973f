"""The metric center's logic: search and facets, lineage and use, version diffs, YAML edits
with the same checks as `metrics apply`; target planning and saving with a reason."""

import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.services import metric_catalog as catalog
from kpi_core.services import planning
from kpi_core.store import dictionary
from tests.engine.test_phasing import table


@pytest.mark.parametrize("text, facets, expected", [
    ("", {}, {"cost", "gross_margin", "headcount", "nps", "on_time_rate", "orders", "revenue"}),
    ("revenue", {}, {"revenue"}),                       # names and codes, not formulas (gross_margin's)
    ("收入", {}, {"revenue"}),
    ("RATE", {}, {"on_time_rate"}),                     # case does not matter
    ("客户 推荐", {}, {"nps"}),                           # every word must match
    ("客户 成本", {}, set()),
    ("", {"org_agg": "none"}, {"nps"}),
    ("", {"org_agg": None}, {"cost", "gross_margin", "headcount", "nps", "on_time_rate", "orders", "revenue"}),
])
def test_search(wh, text, facets, expected):
    assert set(catalog.search(dictionary.current(wh), text, **facets)) == expected


def test_lineage_and_use(wh):
    ms = dictionary.current(wh)
    lin = catalog.lineage(ms, "revenue")
    assert lin.source == "manual" and "gross_margin" in lin.used_by
    gm = catalog.lineage(ms, "gross_margin")
    assert gm.source == "formula" and set(gm.components) >= {"revenue"} and gm.used_by == []
    orders = catalog.lineage(ms, "orders")
    assert orders.dataset == "sales_orders" and orders.measure


def test_edit_from_yaml_makes_a_version_with_a_diff(wh):
    text = catalog.definition_yaml({**dictionary.current(wh)["revenue"].definition(), "description": "Net sales."})
    res = catalog.apply_text(wh, text, reason="clearer wording")
    assert res.updated == ["revenue"]
    hist = dictionary.history(wh, "revenue")
    assert hist[-1]["reason"] == "clearer wording"
    diff = catalog.version_diff(hist, hist[-2]["version"], hist[-1]["version"])
    assert "+description: Net sales." in diff


@pytest.mark.parametrize("text, message", [
    ("code: [", "not valid YAML"),
    ("- just a list", "write one metric"),
    ("code: x\nname: X\nsource: manual\ncolour: red", "unknown field"),
    ("code: x\nname: X\nsource: {formula: nope / revenue}", "unknown metric"),
    ("code: x\nname: X\nsource: {dataset: sales_orders, measure: 'sum(amount); drop table batch', "
     "time_column: order_date, org_column: dept}", "x"),
])
def test_bad_edits_are_refused_and_change_nothing(wh, text, message):
    before = dictionary.current(wh)
    with pytest.raises(ValidationFailed) as exc:
        catalog.apply_text(wh, text, reason="r")
    assert message in str(exc.value) + " ".join(exc.value.problems)
    assert dictionary.current(wh).keys() == before.keys()


def test_plan_and_save_targets(wh):
    import_table(wh, "targets", table([("revenue", "EAST", "2025", 1200), ("revenue", "SOUTH", "2025", 600),
                                       ("revenue", "SALES", "2025", 2000)]), source="t")
    rows = {r.metric: r for r in planning.plan(wh, "SALES", 2025, ["revenue", "nps"])}
    assert rows["revenue"].explicit_year == 2000 and rows["revenue"].months["2025-01"] == pytest.approx(2000 / 12)
    assert rows["revenue"].children_total == 1800 and rows["revenue"].gap == 200
    assert rows["nps"].children_total is None  # org_agg none: nothing to add up
    with pytest.raises(KpiError, match="reason is required"):
        planning.save_targets(wh, [("revenue", "SALES", "2025", 1800)], reason=" ")
    res = planning.save_targets(wh, [("revenue", "SALES", "2025", 1800)], reason="aligned with the teams")
    assert res.batch is not None
    assert {r.metric: r for r in planning.plan(wh, "SALES", 2025, ["revenue"])}["revenue"].gap == 0
