"""Metric dictionary: validation messages, versions with reasons, export round trip, SMART."""

import textwrap

import pyarrow as pa
import pytest

from kpi_core.ingest.datasets import import_arrow
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.metric import smart_gaps
from kpi_core.store import dictionary
from kpi_core.store.warehouse import open_warehouse

BASE = """
metrics:
  - code: revenue
    name: 销售收入
    name_en: Revenue
    description: Net sales revenue.
    unit: CNY
    owner: sales_director
    perspective: financial
    frequency: month
    source:
      dataset: sales
      measure: sum(amount)
      filter: status <> 'cancelled'
      time_column: order_date
      org_column: dept
  - code: gross_profit
    name: 毛利
    source: {dataset: sales, measure: sum(amount - cost), time_column: order_date, org_column: dept}
  - code: gross_margin
    name: 毛利率
    unit: "%"
    source: {formula: gross_profit / revenue}
  - code: nps
    name: 客户净推荐值
    time_agg: avg
    org_agg: none
    source: manual
  - code: inventory_days
    name: 库存天数
    direction: in_range
    range: {low: 30, high: 45}
    source: manual
"""


def _write(tmp_path, text, name="m.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


SALES = pa.table({"order_date": pa.array([0], pa.date32()), "dept": ["D1"], "amount": [10.0], "cost": [6.0],
                  "status": ["completed"]})


@pytest.fixture
def wh(tmp_path):
    wh = open_warehouse(tmp_path / "w.duckdb")
    import_arrow(wh, "sales", SALES, source="t")
    return wh


@pytest.fixture
def applied(wh, tmp_path):
    dictionary.apply(wh, _write(tmp_path, BASE), reason="initial")
    return wh


def test_apply_creates_then_is_unchanged(applied, tmp_path):
    assert sorted(dictionary.current(applied)) == ["gross_margin", "gross_profit", "inventory_days", "nps", "revenue"]
    again = dictionary.apply(applied, _write(tmp_path, BASE))
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 5


def test_changed_definition_is_a_new_version_with_reason(applied, tmp_path):
    changed = BASE.replace("description: Net sales revenue.", "description: Net sales revenue after returns.")
    r = dictionary.apply(applied, _write(tmp_path, changed), reason="returns now deducted", user="alice")
    assert r.updated == ["revenue"]
    hist = dictionary.history(applied, "revenue")
    assert [h["version"] for h in hist] == [1, 2]
    assert hist[1]["reason"] == "returns now deducted" and hist[1]["user"] == "alice"
    assert hist[0]["definition"]["description"] == "Net sales revenue."
    with applied.connect() as con:
        audit = con.execute("SELECT action, object_key, reason FROM audit_log WHERE object_type = 'metric' "
                            "ORDER BY id DESC LIMIT 1").fetchall()
    assert audit == [("update", "revenue", "returns now deducted")]


def test_export_reapplies_to_identical_dictionary(applied, tmp_path):
    before = {c: m.definition() for c, m in dictionary.current(applied).items()}
    dictionary.export(applied, tmp_path / "out")
    r = dictionary.apply(applied, tmp_path / "out")
    assert r.created == [] and r.updated == []
    fresh = open_warehouse(tmp_path / "w2.duckdb")
    import_arrow(fresh, "sales", SALES, source="t")
    dictionary.apply(fresh, tmp_path / "out" / "metrics.yaml", reason="copied")
    assert {c: m.definition() for c, m in dictionary.current(fresh).items()} == before


BAD_CASES = [  # (case, the metrics file's body, every problem the refusal lists, exactly)
    ("unknown field", "  - {code: a, name: A, source: manual, colour: red}",
     ["bad.yaml: metric 'a': colour: unknown field"]),
    ("bad enum", "  - {code: a, name: A, source: manual, direction: up}",
     ["bad.yaml: metric 'a': direction must be one of: higher_is_better, lower_is_better, in_range (got 'up')"]),
    ("bad code", "  - {code: Bad-Code, name: A, source: manual}",
     ["bad.yaml: metric 'Bad-Code': code may hold only lowercase letters, digits and _, and must start with a "
      "letter (got 'Bad-Code')"]),
    ("missing name", "  - {code: a, source: manual}", ["bad.yaml: metric 'a': name is required"]),
    ("in_range without range", "  - {code: a, name: A, source: manual, direction: in_range}",
     ["bad.yaml: metric 'a': direction 'in range' needs a range: its low and high"]),
    ("range reversed", "  - {code: a, name: A, source: manual, direction: in_range, range: {low: 5, high: 1}}",
     ["bad.yaml: metric 'a': range: range low 5 is above high 1"]),
    ("unknown metric in formula", "  - {code: a, name: A, source: {formula: revenue / nosuch}}",
     ["metric 'a': formula 'revenue / nosuch' names unknown metric(s): nosuch"]),
    ("formula cycle",
     "  - {code: a, name: A, source: {formula: b * 2}}\n  - {code: b, name: B, source: {formula: a + 1}}",
     ["metric 'a': formula cycle a -> b -> a"]),
    ("formula self", "  - {code: a, name: A, source: {formula: a + 1}}", ["metric 'a': formula cycle a -> a"]),
    ("unknown dataset", "  - {code: a, name: A, source: {dataset: nope, measure: sum(x), time_column: d, "
     "org_column: o}}", ["metric 'a': dataset 'nope' is not imported (datasets: sales)"]),
    ("unknown column", "  - {code: a, name: A, source: {dataset: sales, measure: sum(price), time_column: order_date, "
     "org_column: dept}}", ["metric 'a': measure 'sum(price)': unknown column 'price'"]),
    ("function not allowed", "  - {code: a, name: A, source: {dataset: sales, measure: \"sum(amount) + "
     "len(read_text('/etc/passwd'))\", time_column: order_date, org_column: dept}}",
     ["metric 'a': measure 'sum(amount) + len(read_text('/etc/passwd'))': function read_text() is not allowed"]),
    ("measure does not parse", "  - {code: a, name: A, source: {dataset: sales, measure: 'sum(amount', "
     "time_column: order_date, org_column: dept}}",
     ["metric 'a': measure 'sum(amount' does not parse: Expecting ). Line 1, Col: 10."]),
    ("filter unknown column", "  - {code: a, name: A, source: {dataset: sales, measure: sum(amount), "
     "filter: region = 'x', time_column: order_date, org_column: dept}}",
     ["metric 'a': filter 'region = 'x'': unknown column 'region'"]),
    ("bad time column", "  - {code: a, name: A, source: {dataset: sales, measure: sum(amount), "
     "time_column: when, org_column: dept}}", ["metric 'a': time_column 'when' is not a column of dataset 'sales'"]),
    ("duplicate code", "  - {code: a, name: A, source: manual}\n  - {code: a, name: B, source: manual}",
     ["bad.yaml: metric 'a' is defined twice (also in bad.yaml)"]),
    ("two sources", "  - {code: a, name: A, source: {formula: revenue, dataset: sales}}",
     ["bad.yaml: metric 'a': source is either a dataset or a formula: write dataset or formula, not both"]),
]


@pytest.mark.parametrize("case, body, problems", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_definitions_are_refused_naming_the_problem(applied, tmp_path, case, body, problems):
    before = {c: m.definition() for c, m in dictionary.current(applied).items()}
    with pytest.raises(ValidationFailed) as exc:
        dictionary.apply(applied, _write(tmp_path, "metrics:\n" + body + "\n", "bad.yaml"))
    assert exc.value.problems == problems
    assert str(exc.value) == f"{len(problems)} problem(s) in the metric definitions; nothing was applied"
    assert {c: m.definition() for c, m in dictionary.current(applied).items()} == before


def test_smart_gaps(applied):
    m = dictionary.current(applied)
    assert smart_gaps(m["revenue"]) == []
    gaps = smart_gaps(m["nps"])
    assert [g[0] for g in gaps] == ["S", "M", "A", "R", "T"]


def test_defaults_filled_but_not_written(applied):
    nps = dictionary.current(applied)["nps"]
    assert nps.direction == "higher_is_better" and nps.thresholds.green == 1.0 and nps.score.cap == 1.2
    assert "direction" not in nps.definition()


def test_not_yaml_and_wrong_shape(wh, tmp_path):
    with pytest.raises(ValidationFailed, match="not valid YAML"):
        dictionary.apply(wh, _write(tmp_path, "metrics: [\n"))
    with pytest.raises(ValidationFailed, match="must hold 'metrics:'"):
        dictionary.apply(wh, _write(tmp_path, "- code: a\n"))
