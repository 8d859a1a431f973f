"""Tests of the deterministic demo company generator (kpi_core.demo.company)."""

from __future__ import annotations

import datetime
import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from kpi_core.demo import company as demo_data
from kpi_core.demo.company import generate
from kpi_core.demo.shape import SEED_CASE_DIVISION, SEED_CASE_MONTHS, UNMAPPED_ORG_CODE, UNMAPPED_ROWS, DemoCompany
from kpi_core.engine.formula import components

TODAY = datetime.date(2026, 11, 27)
ALLOWED_FIELDS = {
    "code", "name", "name_en", "description", "unit", "direction", "range", "perspective", "kind",
    "owner", "frequency", "time_agg", "org_agg", "source", "thresholds", "score", "tags", "allowed", "due_day",
}
SMART_FIELDS = ("description", "unit", "owner", "perspective", "frequency")
DATASET_ORG_COLUMNS = {
    "sales_orders": "sales_rep",
    "inventory_snapshots": "warehouse_code",
    "quality_inspections": "team_code",
    "survey_responses": "部门编码",
}


@pytest.fixture(scope="session")
def demo() -> DemoCompany:
    """The demo company for a fixed day."""
    return generate(TODAY)


@pytest.fixture(scope="session")
def metrics(demo: DemoCompany) -> list[dict]:
    """The metric definitions from the YAML text."""
    return yaml.safe_load(demo.metrics_yaml)["metrics"]


@pytest.fixture(scope="session")
def parents(demo: DemoCompany) -> dict[str, str | None]:
    """Org code -> parent code."""
    return {code: parent for code, _, parent in demo.org}


@pytest.fixture(scope="session")
def con(demo: DemoCompany, parents: dict[str, str | None]) -> duckdb.DuckDBPyConnection:
    """DuckDB over the datasets, with a code -> division table `units`."""
    connection = duckdb.connect()
    for name, table in demo.datasets.items():
        connection.register(name, table)
    codes = list(parents)
    connection.register("units", pa.table({
        "code": codes, "division": [_division(parents, c) for c in codes],
    }))
    return connection


def _division(parents: dict[str, str | None], code: str) -> str | None:
    """The division a unit belongs to (None for the company itself)."""
    chain = _ancestors(parents, code)
    return chain[-2] if len(chain) >= 2 else None


def _ancestors(parents: dict[str, str | None], code: str) -> list[str]:
    """The unit and its ancestors up to the root; fails on a cycle."""
    chain = [code]
    while parents[chain[-1]] is not None:
        chain.append(parents[chain[-1]])
        assert len(chain) <= len(parents), f"cycle through {code}"
    return chain


def _source_type(metric: dict) -> str:
    """manual, dataset or formula."""
    source = metric["source"]
    return source if isinstance(source, str) else next(k for k in ("dataset", "formula") if k in source)


def _facts(table: pa.Table) -> list[tuple[str, str, str, float]]:
    """Rows of an actuals or targets table."""
    return list(zip(*(table[c].to_pylist() for c in ("metric", "org", "period", "value")), strict=True))


# ------------------------------------------------------------------ determinism and shape


def test_same_inputs_give_identical_output(demo: DemoCompany) -> None:
    again = generate(TODAY)
    assert again.org == demo.org
    assert again.metrics_yaml == demo.metrics_yaml
    assert again.actuals.equals(demo.actuals)
    assert again.targets.equals(demo.targets)
    assert again.datasets.keys() == demo.datasets.keys()
    for name, table in demo.datasets.items():
        assert again.datasets[name].equals(table), name
    assert (again.first_period, again.last_period) == (demo.first_period, demo.last_period)
    assert again.scorecards == demo.scorecards and len(demo.scorecards) > 100


def test_metrics_yaml_is_the_shipped_file(demo: DemoCompany) -> None:
    assert demo.metrics_yaml == demo_data.METRICS_PATH.read_text(encoding="utf-8")


def test_periods_run_from_january_three_years_back_to_this_month(demo: DemoCompany) -> None:
    assert (demo.first_period, demo.last_period) == ("2023-01", "2026-11")
    other = generate(datetime.date(2025, 3, 2))
    assert (other.first_period, other.last_period) == ("2022-01", "2025-03")
    periods = set(other.actuals["period"].to_pylist())
    assert max(p for p in periods if "Q" not in p) == "2025-03"
    assert max(p for p in periods if "Q" in p) == "2025-Q1"
    assert min(periods) == "2022-01"


def test_org_is_one_tree_with_parents_first(demo: DemoCompany, parents: dict[str, str | None]) -> None:
    codes = [code for code, _, _ in demo.org]
    assert len(codes) == len(set(codes))
    roots = [code for code, _, parent in demo.org if parent is None]
    assert roots == ["HQ"]
    seen: set[str] = set()
    for code, name, parent in demo.org:
        assert parent is None or parent in seen, f"{code} listed before its parent {parent}"
        seen.add(code)
        assert re.fullmatch(r"[A-Z0-9-]{2,12}", code)
        assert re.search(r"[\u4e00-\u9fff]", name), name
        assert _ancestors(parents, code)[-1] == "HQ"


def test_org_sizes(demo: DemoCompany, parents: dict[str, str | None]) -> None:
    depth = {code: len(_ancestors(parents, code)) - 1 for code in parents}
    counts = {d: sum(1 for v in depth.values() if v == d) for d in range(5)}
    assert counts[0] == 1
    assert counts[1] >= 5
    assert counts[2] >= 20
    assert counts[3] >= 60
    assert counts[4] >= 400
    assert max(depth.values()) == 4
    people = [name for code, name, _ in demo.org if depth[code] == 4]
    assert all(2 <= len(name) <= 3 for name in people)
    departments = {name for code, name, _ in demo.org if depth[code] == 2}
    for kind in ("销售部", "生产部", "质量部", "采购部", "研发部", "人力资源部"):
        assert any(name.endswith(kind) for name in departments), kind


# ------------------------------------------------------------------ metric dictionary


def test_metric_fields_are_known_and_codes_unique(metrics: list[dict]) -> None:
    assert len(metrics) >= 24
    codes = [m["code"] for m in metrics]
    assert len(codes) == len(set(codes))
    for m in metrics:
        assert set(m) <= ALLOWED_FIELDS, (m["code"], set(m) - ALLOWED_FIELDS)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", m["code"])
        assert re.search(r"[\u4e00-\u9fff]", m["name"]) and m.get("name_en")
        if m.get("direction") == "in_range":
            assert m["range"]["low"] < m["range"]["high"]
        else:
            assert "range" not in m


def test_metric_coverage(metrics: list[dict]) -> None:
    def values(field: str, default: str) -> set[str]:
        return {m.get(field, default) for m in metrics}

    assert {"financial", "customer", "internal_process", "learning_growth"} <= values("perspective", "")
    assert {"result", "process", "growth"} <= values("kind", "")
    assert {_source_type(m) for m in metrics} == {"manual", "dataset", "formula"}
    assert values("direction", "higher_is_better") == {"higher_is_better", "lower_is_better", "in_range"}
    assert values("time_agg", "sum") == {"sum", "avg", "last", "min", "max"}
    assert values("org_agg", "sum") == {"sum", "avg", "none"}
    assert any(_source_type(m) == "manual" and m.get("frequency") == "quarter" for m in metrics)
    assert any(m["source"].get("filter") for m in metrics if _source_type(m) == "dataset")
    assert any(
        'avg("' in m["source"]["measure"] for m in metrics if _source_type(m) == "dataset"
    ), "a quoted non-ASCII column"


def test_formulas_refer_to_known_metrics_and_nest(metrics: list[dict]) -> None:
    by_code = {m["code"]: m for m in metrics}
    formulas = {c: m["source"]["formula"] for c, m in by_code.items() if _source_type(m) == "formula"}
    nested = False
    for code, expression in formulas.items():
        parts = components(expression)
        assert parts and all(p in by_code and p != code for p in parts), code
        nested |= any(p in formulas for p in parts)
    assert nested, "no formula over a formula"
    assert formulas["gross_margin"] == "gross_profit / revenue"


def test_some_metrics_have_smart_gaps(metrics: list[dict]) -> None:
    gaps = {m["code"]: [f for f in SMART_FIELDS if not m.get(f)] for m in metrics}
    with_gaps = [code for code, missing in gaps.items() if missing]
    assert 2 <= len(with_gaps) <= 3, with_gaps


def test_dataset_measures_run_over_their_datasets(
    demo: DemoCompany, metrics: list[dict], con: duckdb.DuckDBPyConnection
) -> None:
    for m in metrics:
        if _source_type(m) != "dataset":
            continue
        src = m["source"]
        table = demo.datasets[src["dataset"]]
        assert src["time_column"] in table.column_names
        assert src["org_column"] == DATASET_ORG_COLUMNS[src["dataset"]]
        where = f"WHERE {src['filter']}" if src.get("filter") else ""
        value = con.execute(f"SELECT {src['measure']} FROM {src['dataset']} {where}").fetchone()[0]
        assert value is not None and value > 0, m["code"]


# ------------------------------------------------------------------ datasets


def test_dataset_sizes_and_types(demo: DemoCompany) -> None:
    sales = demo.datasets["sales_orders"]
    assert sales.num_rows >= 1_000_000
    assert sales.schema.field("order_date").type == pa.date32()
    assert sales.schema.field("amount").type == pa.float64()
    assert sales.schema.field("quantity").type == pa.int64()
    assert set(pc.unique(sales["channel"]).to_pylist()) == {"直销", "经销", "电商"}
    assert set(pc.unique(sales["status"]).to_pylist()) == {"completed", "cancelled", "returned"}
    assert pc.count_distinct(sales["order_id"]).as_py() == sales.num_rows
    assert demo.datasets["inventory_snapshots"].num_rows >= 1_000
    assert demo.datasets["quality_inspections"].num_rows >= 10_000
    survey = demo.datasets["survey_responses"]
    assert survey.num_rows >= 10_000
    assert {"回复日期", "部门编码", "客户编号", "满意度", "推荐意愿"} <= set(survey.column_names)
    assert pc.min(survey["满意度"]).as_py() >= 1 and pc.max(survey["满意度"]).as_py() <= 5


def test_dataset_dates_stay_in_range(demo: DemoCompany, metrics: list[dict]) -> None:
    first = datetime.date(2023, 1, 1)
    for m in metrics:
        if _source_type(m) == "dataset":
            column = demo.datasets[m["source"]["dataset"]][m["source"]["time_column"]]
            assert pc.min(column).as_py() >= first and pc.max(column).as_py() <= TODAY


def test_org_columns_map_to_units_except_the_legacy_rows(
    demo: DemoCompany, parents: dict[str, str | None]
) -> None:
    codes = pa.array(list(parents))
    for name, column in DATASET_ORG_COLUMNS.items():
        values = demo.datasets[name][column]
        unmapped = pc.filter(values, pc.invert(pc.is_in(values, value_set=codes)))
        if name == "sales_orders":
            assert len(unmapped) == UNMAPPED_ROWS
            assert set(unmapped.to_pylist()) == {UNMAPPED_ORG_CODE}
        else:
            assert len(unmapped) == 0, name
    reps = set(pc.unique(demo.datasets["sales_orders"]["sales_rep"]).to_pylist())
    assert any(code.startswith("P") for code in reps) and any("-T" in code for code in reps)


# ------------------------------------------------------------------ actuals and targets


def test_actuals_only_for_manual_metrics(demo: DemoCompany, metrics: list[dict]) -> None:
    manual = {m["code"] for m in metrics if _source_type(m) == "manual"}
    assert set(pc.unique(demo.actuals["metric"]).to_pylist()) == manual
    assert demo.actuals.schema.field("value").type == pa.float64()


def test_actuals_cover_every_period_at_the_metric_frequency(
    demo: DemoCompany, metrics: list[dict]
) -> None:
    months = [f"{y}-{m:02d}" for y in range(2023, 2027) for m in range(1, 13)][:47]
    quarters = [f"{y}-Q{q}" for y in range(2023, 2027) for q in range(1, 5)][:15]
    facts = _facts(demo.actuals)
    for m in metrics:
        if _source_type(m) != "manual":
            continue
        rows = [(org, period) for code, org, period, _ in facts if code == m["code"]]
        expected = quarters if m.get("frequency") == "quarter" else months
        units = {org for org, _ in rows}
        assert {p for _, p in rows} == set(expected), m["code"]
        assert len(rows) == len(set(rows)) == len(units) * len(expected), m["code"]


def test_actual_values_respect_allowed(demo: DemoCompany, metrics: list[dict]) -> None:
    by_code = {m["code"]: m for m in metrics}
    for code, org, period, value in _facts(demo.actuals):
        allowed = by_code[code].get("allowed", {})
        assert allowed.get("min", float("-inf")) <= value <= allowed.get("max", float("inf")), (
            code, org, period, value)


def test_reporting_levels(demo: DemoCompany, parents: dict[str, str | None]) -> None:
    depth = {code: len(_ancestors(parents, code)) - 1 for code in parents}
    levels: dict[str, set[int]] = {}
    for code, org, _, _ in _facts(demo.actuals):
        levels.setdefault(code, set()).add(depth[org])
    assert levels["training_hours"] == {4}
    assert levels["headcount"] == {3}
    assert levels["min_cash_balance"] == {1}
    assert levels["nps"] == {0, 1, 2}


def test_targets_for_every_metric_and_known_units(
    demo: DemoCompany, metrics: list[dict], parents: dict[str, str | None]
) -> None:
    facts = _facts(demo.targets)
    assert {code for code, _, _, _ in facts} == {m["code"] for m in metrics}
    for m in metrics:
        assert (m["code"], "HQ", "2026") in {(c, o, p) for c, o, p, _ in facts}, m["code"]
    assert {org for _, org, _, _ in facts} <= set(parents)
    assert {org for _, org, _, _ in _facts(demo.actuals)} <= set(parents)
    for _, _, period, value in facts:
        assert re.fullmatch(r"20\d\d(-(0[1-9]|1[0-2])|-Q[1-4])?", period)
        assert value == value and abs(value) != float("inf")
    years = {period[:4] for _, _, period, _ in facts}
    assert years == {"2023", "2024", "2025", "2026"}


def test_targets_at_several_grains(demo: DemoCompany) -> None:
    facts = _facts(demo.targets)
    revenue = {(org, period) for code, org, period, _ in facts if code == "revenue"}
    assert ("D1", "2025") in revenue and ("D1-SAL", "2025-03") in revenue
    training = {period for code, _, period, _ in facts if code == "training_hours"}
    assert "2025-Q2" in training
    divisions = {org for code, org, period, _ in facts if code == "revenue" and len(period) == 4}
    assert len(divisions - {"HQ"}) >= 5


def test_zero_target_for_safety_and_explicit_formula_targets(demo: DemoCompany, metrics: list[dict]) -> None:
    facts = _facts(demo.targets)
    safety = [value for code, _, _, value in facts if code == "safety_incidents"]
    assert safety and all(v == 0 for v in safety)
    target = {(c, o, p): v for c, o, p, v in facts}
    assert 0.25 < target[("gross_margin", "HQ", "2026")] < 0.45
    for m in metrics:
        if _source_type(m) == "formula":
            assert (m["code"], "HQ", "2025") in target, m["code"]


# ------------------------------------------------------------------ the seed case


def _window_labels(demo: DemoCompany) -> tuple[list[str], list[str]]:
    """Month labels of the seed window and of the twelve months before it."""
    months = [f"{y}-{m:02d}" for y in range(2020, 2031) for m in range(1, 13)]
    end = months.index(demo.last_period) + 1
    n = SEED_CASE_MONTHS
    return months[end - n:end], months[end - n - 12:end - n]


def _by_division(con: duckdb.DuckDBPyConnection, sql: str, demo: DemoCompany) -> dict[str, tuple]:
    """Run a query grouped by division and window flag; returns division -> (before, window)."""
    window, before = _window_labels(demo)
    rows = con.execute(sql, [window, before]).fetchall()
    out: dict[str, dict[bool, float]] = {}
    for division, in_window, value in rows:
        out.setdefault(division, {})[in_window] = value
    return {d: (v[False], v[True]) for d, v in out.items()}


def test_seed_case_distributor_stuffing(demo: DemoCompany, con: duckdb.DuckDBPyConnection) -> None:
    share = _by_division(con, """
        SELECT division, list_contains($1, strftime(order_date, '%Y-%m')) AS w,
               sum(CASE WHEN channel = '经销' THEN amount ELSE 0 END) / sum(amount)
        FROM sales_orders JOIN units ON sales_rep = code
        WHERE status <> 'cancelled'
          AND (list_contains($1, strftime(order_date, '%Y-%m'))
               OR list_contains($2, strftime(order_date, '%Y-%m')))
        GROUP BY ALL""", demo)
    assert len(share) >= 5
    for division, (before, window) in share.items():
        if division == SEED_CASE_DIVISION:
            assert window - before > 0.10, (division, before, window)
        else:
            assert abs(window - before) < 0.03, (division, before, window)


def test_seed_case_returns_rise(demo: DemoCompany, con: duckdb.DuckDBPyConnection) -> None:
    returns = _by_division(con, """
        SELECT division, list_contains($1, strftime(order_date, '%Y-%m')) AS w,
               sum(CASE WHEN status = 'returned' THEN amount ELSE 0 END) / sum(amount)
        FROM sales_orders JOIN units ON sales_rep = code
        WHERE status <> 'cancelled'
          AND (list_contains($1, strftime(order_date, '%Y-%m'))
               OR list_contains($2, strftime(order_date, '%Y-%m')))
        GROUP BY ALL""", demo)
    for division, (before, window) in returns.items():
        if division == SEED_CASE_DIVISION:
            assert window > 2 * before, (division, before, window)
        else:
            assert window < 1.5 * before, (division, before, window)


def test_seed_case_satisfaction_falls(demo: DemoCompany, con: duckdb.DuckDBPyConnection) -> None:
    satisfaction = _by_division(con, """
        SELECT division, list_contains($1, strftime("回复日期", '%Y-%m')) AS w, avg("满意度")
        FROM survey_responses JOIN units ON "部门编码" = code
        WHERE list_contains($1, strftime("回复日期", '%Y-%m'))
           OR list_contains($2, strftime("回复日期", '%Y-%m'))
        GROUP BY ALL""", demo)
    assert len(satisfaction) >= 5
    for division, (before, window) in satisfaction.items():
        if division == SEED_CASE_DIVISION:
            assert before - window > 0.3, (division, before, window)
        else:
            assert before - window < 0.1, (division, before, window)


def test_seed_case_inventory_turnover_falls(demo: DemoCompany, con: duckdb.DuckDBPyConnection) -> None:
    inventory = _by_division(con, """
        SELECT division, list_contains($1, strftime(snapshot_date, '%Y-%m')) AS w,
               sum(inventory_value) / count(DISTINCT snapshot_date)
        FROM inventory_snapshots JOIN units ON warehouse_code = code
        WHERE list_contains($1, strftime(snapshot_date, '%Y-%m'))
           OR list_contains($2, strftime(snapshot_date, '%Y-%m'))
        GROUP BY ALL""", demo)
    cogs = _by_division(con, """
        SELECT division, list_contains($1, strftime(order_date, '%Y-%m')) AS w,
               sum(cost) / count(DISTINCT strftime(order_date, '%Y-%m'))
        FROM sales_orders JOIN units ON sales_rep = code
        WHERE status <> 'cancelled'
          AND (list_contains($1, strftime(order_date, '%Y-%m'))
               OR list_contains($2, strftime(order_date, '%Y-%m')))
        GROUP BY ALL""", demo)
    for division, (inv_before, inv_window) in inventory.items():
        turnover_before = cogs[division][0] / inv_before
        turnover_window = cogs[division][1] / inv_window
        change = turnover_window / turnover_before
        if division == SEED_CASE_DIVISION:
            assert inv_window > 1.3 * inv_before and change < 0.85, (division, change)
        else:
            assert 0.9 < change < 1.1, (division, change)


def test_seed_case_in_manual_actuals(demo: DemoCompany) -> None:
    facts = {(c, o, p): v for c, o, p, v in _facts(demo.actuals)}
    last_quarter = max(p for c, o, p in facts if c == "nps")
    year_before = f"{int(last_quarter[:4]) - 1}{last_quarter[4:]}"
    for division in ("D1", "D2", SEED_CASE_DIVISION):
        drop = facts[("nps", division, year_before)] - facts[("nps", division, last_quarter)]
        assert (drop > 15) == (division == SEED_CASE_DIVISION), (division, drop)
