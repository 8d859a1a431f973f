"""The metric form's logic (services/metric_form.py, metric_preview.py): form values make the
definition a YAML file would hold, an existing definition fills the form and comes back unchanged,
every problem is placed at its field in both languages, saving keeps a version with its reason,
and the preview computes a draft as the cockpit's engine does, without writing."""

import datetime as dt
import json

import pytest

from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, KpiError, ValidationFailed
from kpi_core.model.messages import render
from kpi_core.model.metric import Metric
from kpi_core.query.api import Query, run
from kpi_core.services import metric_catalog as catalog
from kpi_core.services import metric_form as form
from kpi_core.services.metric_form import FilterRow, FormValues
from kpi_core.services.metric_preview import preview
from kpi_core.store import dictionary
from tests.conftest import METRICS_YAML

ADMIN = Actor("root", "admin")
TYPES = {"order_date": "DATE", "dept": "VARCHAR", "amount": "BIGINT", "status": "VARCHAR", "paid": "BOOLEAN",
         "客户 编号": "VARCHAR"}


def values(**kw) -> FormValues:
    return FormValues(**{"code": "new_metric", "name": "新指标", **kw})


def on_sales(**kw) -> FormValues:
    return values(**{"source": "dataset", "dataset": "sales_orders", "time_column": "order_date", "org_column": "dept",
                     **kw})


# What a new metric's form shows and writes, unless a case says otherwise (SMART reads a written frequency).
SHOWN = {"direction": "higher_is_better", "frequency": "month", "time_agg": "sum", "org_agg": "sum"}
# (case, form values, the definition they make besides SHOWN)
BUILT = [
    ("uploaded, the defaults shown", values(),
     {"code": "new_metric", "name": "新指标", "source": "manual"}),
    ("every plain field", values(name_en="New", description=" What. ", unit="count", direction="lower_is_better",
                                 perspective="customer", kind="process", owner="li", frequency="quarter",
                                 time_agg="avg", org_agg="none", tags="a, b，c"),
     {"code": "new_metric", "name": "新指标", "name_en": "New", "description": "What.", "unit": "count",
      "direction": "lower_is_better", "perspective": "customer", "kind": "process", "owner": "li",
      "frequency": "quarter", "time_agg": "avg", "org_agg": "none", "source": "manual", "tags": ["a", "b", "c"]}),
    ("in range", values(direction="in_range", low=30, high=45.5),
     {"code": "new_metric", "name": "新指标", "direction": "in_range", "range": {"low": 30, "high": 45.5},
      "source": "manual"}),
    ("own thresholds, in per cent", values(custom_thresholds=True, green=97, amber=85),
     {"code": "new_metric", "name": "新指标", "source": "manual", "thresholds": {"green": 0.97, "amber": 0.85}}),
    ("sum of a column", on_sales(aggregation="sum", column="amount"),
     {"code": "new_metric", "name": "新指标", "source": {"dataset": "sales_orders", "measure": "sum(amount)",
                                                          "time_column": "order_date", "org_column": "dept"}}),
    ("count of rows", on_sales(aggregation="count"),
     {"code": "new_metric", "name": "新指标", "source": {"dataset": "sales_orders", "measure": "count(*)",
                                                          "time_column": "order_date", "org_column": "dept"}}),
    ("count distinct, a column name that needs quotes", on_sales(aggregation="count_distinct", column="客户 编号"),
     {"code": "new_metric", "name": "新指标", "source": {
         "dataset": "sales_orders", "measure": 'count(distinct "客户 编号")', "time_column": "order_date",
         "org_column": "dept"}}),
    ("a custom measure", on_sales(aggregation="custom", measure="sum(amount) / nullif(count(*), 0)"),
     {"code": "new_metric", "name": "新指标", "source": {
         "dataset": "sales_orders", "measure": "sum(amount) / nullif(count(*), 0)", "time_column": "order_date",
         "org_column": "dept"}}),
    ("filter rows of every kind", on_sales(aggregation="avg", column="amount", filters=[
        FilterRow("status", "ne", "cancelled"), FilterRow("amount", "ge", "1,000"),
        FilterRow("dept", "in", "EAST，SOUTH"),
        FilterRow("status", "contains", "ok"), FilterRow("dept", "not_empty"), FilterRow("paid", "is_true"),
        FilterRow("order_date", "lt", "2026-01-01"), FilterRow("客户 编号", "eq", "O'Brien"), FilterRow()]),
     {"code": "new_metric", "name": "新指标", "source": {
         "dataset": "sales_orders", "measure": "avg(amount)",
         "filter": "status <> 'cancelled' AND amount >= 1000 AND dept IN ('EAST', 'SOUTH') AND status LIKE '%ok%' "
                   "AND NOT dept IS NULL AND paid AND order_date < CAST('2026-01-01' AS DATE) "
                   "AND \"客户 编号\" = 'O''Brien'",
         "time_column": "order_date", "org_column": "dept"}}),
    ("a filter written by hand", on_sales(aggregation="sum", column="amount", filter_by_hand=True,
                                          filter_text="amount > 0 or dept = 'EAST'"),
     {"code": "new_metric", "name": "新指标", "source": {
         "dataset": "sales_orders", "measure": "sum(amount)", "filter": "amount > 0 or dept = 'EAST'",
         "time_column": "order_date", "org_column": "dept"}}),
    ("a formula", values(source="formula", formula=" revenue / headcount ", unit="CNY"),
     {"code": "new_metric", "name": "新指标", "unit": "CNY", "source": {"formula": "revenue / headcount"}}),
]


@pytest.mark.parametrize("case, v, expected", BUILT, ids=[c[0] for c in BUILT])
def test_form_values_make_the_definition(case, v, expected):
    definition, problems = form.to_definition(v, TYPES)
    assert problems == {}
    assert definition == {**SHOWN, **expected}
    Metric.model_validate(definition)  # a valid definition as the model reads it


@pytest.mark.parametrize("case, v, expected", BUILT, ids=[c[0] for c in BUILT])
def test_a_definition_fills_the_form_and_comes_back_unchanged(case, v, expected):
    for written in ({**SHOWN, **expected}, expected):  # with the defaults written, and left out
        again, problems = form.to_definition(form.from_definition(written), TYPES)
        assert problems == {} and again == written


def test_the_dictionary_comes_back_unchanged_through_the_form(wh):
    """Editing a stored metric in the form and saving it untouched makes no new version."""
    for m in dictionary.current(wh).values():
        again, _ = form.to_definition(form.from_definition(m.definition()), {"order_date": "DATE"})
        assert again == m.definition()


@pytest.mark.parametrize("text, rows", [
    ("status <> 'cancelled' and is_new_product", [FilterRow("status", "ne", "cancelled"),
                                                  FilterRow("is_new_product", "is_true")]),
    ("status = 'completed' and delivery_date is not null", [FilterRow("status", "eq", "completed"),
                                                            FilterRow("delivery_date", "not_empty")]),
    ("amount > -5 AND dept NOT IN ('A', 'B')", [FilterRow("amount", "gt", "-5"), FilterRow("dept", "not_in", "A, B")]),
    ("(paid = true)", [FilterRow("paid", "eq", "true")]),
    ("amount > 0 or dept = 'EAST'", None),
    ("upper(dept) = 'EAST'", None),
    ("amount > cost", None),
    ("status like 'a%'", None),
])
def test_a_filter_reads_back_as_rows_when_rows_can_say_it(text, rows):
    assert form.parse_filter(text) == rows


@pytest.mark.parametrize("text, parsed", [
    ("sum(amount)", ("sum", "amount")), ("count(*)", ("count", "")), ("COUNT(DISTINCT customer_id)",
                                                                       ("count_distinct", "customer_id")),
    ('avg("满意度")', ("avg", "满意度")), ("median(x)", ("median", "x")), ("count(x)", ("count", "x")),
    ("sum(amount - cost)", None), ("sum(amount) * 1.0 / nullif(sum(qty), 0)", None), ("round(avg(x), 2)", None),
])
def test_a_measure_reads_back_as_an_aggregation_of_a_column(text, parsed):
    assert form.parse_measure(text) == parsed


# (case, form values, new metric?, form field, English, Chinese)
WRONG = [
    ("bad code", values(code="Repeat-Rate"), True, "code",
     "code may hold only lowercase letters, digits and _, and must start with a letter (got 'Repeat-Rate')",
     "编码只能用小写字母、数字和下划线，且以字母开头（实际为 'Repeat-Rate'）"),
    ("no name", values(name=" "), True, "name", "name is required", "请填写名称"),
    ("code taken", values(code="revenue"), True, "code",
     "code 'revenue' is taken by metric '销售收入': choose another code (to change that metric, use its Edit tab)",
     "编码“revenue”已被指标“销售收入”使用，请换一个编码（修改已有指标请在该指标的“编辑”页签中进行）"),
    ("range reversed", values(direction="in_range", low=5, high=1), True, "range",
     "range: range low 5 is above high 1", "合理区间：范围下限 5 高于上限 1"),
    ("range missing", values(direction="in_range"), True, "range",
     "direction 'in range' needs a range: its low and high", "方向为“区间内”时须填写区间的下限和上限"),
    ("amber above green", values(custom_thresholds=True, green=80, amber=95), True, "thresholds",
     "the amber threshold 95% is above the green threshold 80%; amber may not be above green",
     "预警阈值 95% 高于达标阈值 80%；预警阈值不能高于达标阈值"),
    ("no dataset column", on_sales(aggregation="sum"), True, "measure",
     "choose the column to aggregate (only count may go without one: it counts rows)",
     "请选择要汇总的列（只有“计数”可以不选列，即统计行数）"),
    ("sum of text", on_sales(aggregation="sum", column="dept"), True, "measure",
     "column 'dept' is of type VARCHAR and cannot take 'sum': choose another column or aggregation",
     "列“dept”的类型是 VARCHAR，不能用“求和”汇总；请换一列或换一种汇总方式"),
    ("unknown column in a custom measure", on_sales(aggregation="custom", measure="sum(price)"), True, "measure",
     "measure 'sum(price)': unknown column 'price'", "度量“sum(price)”：未知列“price”"),
    ("a number filter that is no number", on_sales(aggregation="count", filters=[FilterRow("amount", "gt", "abc")]),
     True, "filter", "filter row 1: column 'amount' holds numbers and 'abc' is not one",
     "筛选条件第 1 行：列“amount”是数字，“abc”不是数字"),
    ("a filter row without its value", on_sales(aggregation="count", filters=[FilterRow("dept", "eq", "")]),
     True, "filter", "filter row 1: give the value to compare 'dept' with", "筛选条件第 1 行：请填写“dept”要比较的值"),
    ("a hand-written filter on no column", on_sales(aggregation="count", filter_by_hand=True, filter_text="x = 1"),
     True, "filter", "filter 'x = 1': unknown column 'x'", "筛选条件“x = 1”：未知列“x”"),
    ("no time column", on_sales(aggregation="count", time_column=""), True, "time_column",
     "date column (time_column) is required", "请填写日期列"),
    ("an org column the dataset lacks", on_sales(aggregation="count", org_column="region"), True, "org_column",
     "org_column 'region' is not a column of dataset 'sales_orders'", "org_column“region”不是数据集“sales_orders”的列"),
    ("no such dataset", on_sales(aggregation="count", dataset="nope"), True, "dataset",
     "dataset 'nope' is not imported (datasets: sales_orders)", "数据集“nope”尚未导入（已有数据集：sales_orders）"),
    ("a formula of an unknown metric", values(source="formula", formula="revenue / nosuch"), True, "formula",
     "formula 'revenue / nosuch' names unknown metric(s): nosuch", "公式“revenue / nosuch”引用了未知指标：nosuch"),
    ("a formula of itself", values(code="revenue", source="formula", formula="revenue * 2"), False, "formula",
     "formula cycle revenue -> revenue", "公式循环引用：revenue -> revenue"),
]


@pytest.mark.parametrize("case, v, new, where, en, zh", WRONG, ids=[c[0] for c in WRONG])
def test_each_problem_is_placed_at_its_field_in_both_languages(wh, case, v, new, where, en, zh):
    checked = form.check(wh, v, user=ADMIN, new=new)
    assert not checked.ok and checked.general == []
    assert list(checked.problems) == [where], checked.problems
    [problem] = checked.problems[where]
    assert (render(problem, "en"), render(problem, "zh")) == (en, zh)


def test_every_problem_shows_at_once(wh):
    """A wrong code, range or thresholds do not hide what the dictionary finds in the source."""
    v = values(code="Bad Code", direction="in_range", low=5, high=1, custom_thresholds=True, green=80, amber=95,
               source="formula", formula="revenue / nosuch")
    checked = form.check(wh, v, user=ADMIN, new=True)
    assert sorted(checked.problems) == ["code", "formula", "range", "thresholds"]
    assert render(checked.problems["formula"][0], "zh") == "公式“revenue / nosuch”引用了未知指标：nosuch"
    data = form.check(wh, on_sales(code="Bad", aggregation="custom", measure="sum(price)",
                                   filters=[FilterRow("amount", "gt", "x")]), user=ADMIN, new=True)
    assert sorted(data.problems) == ["code", "filter", "measure"]


def test_a_good_form_passes_every_check_and_writes_nothing(wh):
    before = dictionary.current(wh)
    checked = form.check(wh, on_sales(aggregation="count", filters=[FilterRow("amount", "gt", "5")]), user=ADMIN,
                         new=True)
    assert checked.ok and checked.metric.code == "new_metric"
    assert dictionary.current(wh) == before


def test_save_keeps_a_version_with_its_reason(wh):
    v = on_sales(aggregation="sum", column="amount", unit="CNY", filters=[FilterRow("amount", "gt", "5")])
    with pytest.raises(KpiError, match="reason is required"):
        form.save(wh, v, reason=" ", user=ADMIN, new=True)
    res = form.save(wh, v, reason="big orders only", user=ADMIN, new=True)
    assert res.created == ["new_metric"]
    m = dictionary.current(wh)["new_metric"]
    assert m.source.filter == "amount > 5" and m.unit == "CNY"
    [h] = dictionary.history(wh, "new_metric")
    assert (h["reason"], h["user"]) == ("big orders only", "root")
    # Opened again in the form and saved untouched: nothing changes.
    again = form.save(wh, form.from_definition(m.definition()), reason="", user=ADMIN, new=False)
    assert again.unchanged == ["new_metric"]
    edited = form.from_definition(m.definition())
    edited.filters = [FilterRow("amount", "gt", "8")]
    assert form.save(wh, edited, reason="bigger", user=ADMIN, new=False).updated == ["new_metric"]
    assert dictionary.current(wh)["new_metric"].source.filter == "amount > 8"


def test_save_refuses_a_bad_form_with_every_problem(wh):
    with pytest.raises(ValidationFailed) as exc:
        form.save(wh, values(code="Bad", name=""), reason="r", user=ADMIN, new=True)
    assert [render(p, "zh") for p in exc.value.problems] == [
        "编码只能用小写字母、数字和下划线，且以字母开头（实际为 'Bad'）", "请填写名称"]
    assert "new_metric" not in dictionary.current(wh) and "Bad" not in dictionary.current(wh)


def test_only_who_may_edit_the_dictionary_gets_the_form(wh):
    assert form.may_edit(ADMIN) and not form.may_edit(Actor("m", "manager", ("SALES",)))
    with pytest.raises(AccessDenied):
        form.check(wh, values(), user=Actor("m", "manager", ("SALES",)), new=True)


def test_the_yaml_editor_says_problems_in_the_readers_language(wh):
    with pytest.raises(ValidationFailed) as exc:
        catalog.apply_text(wh, "code: Bad-Code\nname: X\nsource: manual\ndirection: up", reason="r")
    assert [render(p, "zh") for p in exc.value.problems] == [
        "编辑器：指标“Bad-Code”：编码只能用小写字母、数字和下划线，且以字母开头（实际为 'Bad-Code'）",
        "编辑器：指标“Bad-Code”：方向必须是：越高越好（higher_is_better）、越低越好（lower_is_better）、区间内（in_range）"
        "（实际为 'up'）"]
    assert exc.value.problems[0].startswith("editor: metric 'Bad-Code': code may hold only lowercase letters")


# --- the preview -----------------------------------------------------------------------------------

TODAY = dt.date(2025, 3, 15)


def test_the_preview_of_a_stored_metric_is_what_the_cockpit_shows(wh):
    from kpi_core.ingest.facts.from_arrow import import_table
    from tests.engine.test_phasing import table

    import_table(wh, "actuals", table([("revenue", u, f"2025-0{m}", 10.0 * m) for u in ("EAST", "SOUTH", "SVC")
                                       for m in (1, 2, 3)]), source="t")
    import_table(wh, "targets", table([("revenue", "SALES", "2025-02", 35.0)]), source="t")
    revenue = dictionary.current(wh)["revenue"]
    p = preview(wh, revenue, actor=ADMIN, today=TODAY)
    assert p.units == ["HQ", "SALES", "OPS"] and p.periods == ["2024-10", "2024-11", "2024-12", "2025-01",
                                                               "2025-02", "2025-03"]
    cells = run(wh, Query(("revenue",), "HQ", "self", "month", "2024-10", "2025-03"), today=TODAY).cells
    cells += run(wh, Query(("revenue",), "HQ", "children", "month", "2024-10", "2025-03"), today=TODAY).cells
    for c in cells:
        mine = p.cells[(c.org, c.period)]
        assert (mine.actual, mine.target, mine.status) == (c.actual, c.target, c.status), c
    assert p.cells[("SALES", "2025-02")].status == "green" and p.cells[("SALES", "2025-02")].actual == 40
    assert p.as_of == "2025-03" and not p.empty


def test_a_draft_is_computed_without_being_saved(wh):
    before = dictionary.current(wh)
    with wh.connect() as con:
        tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
    draft = Metric.model_validate({"code": "big_orders", "name": "大单数", "source": {
        "dataset": "sales_orders", "measure": "sum(amount)", "filter": "amount > 5", "time_column": "order_date",
        "org_column": "dept"}})
    p = preview(wh, draft, actor=ADMIN, today=TODAY)
    assert p.periods[-1] == "2025-01"  # the draft's own latest data
    assert p.cells[("HQ", "2025-01")].actual == 10 and p.cells[("SALES", "2025-01")].actual == 10
    assert p.cells[("OPS", "2025-01")].actual is None and p.cells[("HQ", "2025-01")].status == "no_target"
    none = Metric.model_validate({**json.loads(draft.model_dump_json(exclude_unset=True)), "source": {
        **draft.source.model_dump(), "filter": "amount > 50"}})
    assert preview(wh, none, actor=ADMIN, today=TODAY).empty  # the first draft's values are not reused
    # An edited stored metric: the draft's definition counts, not the stored one's.
    orders = dictionary.current(wh)["orders"]
    edited = orders.model_copy(update={"source": orders.source.model_copy(update={"filter": "amount > 50"})})
    assert preview(wh, edited, actor=ADMIN, today=TODAY).empty
    assert preview(wh, orders, actor=ADMIN, today=TODAY).cells[("HQ", "2025-01")].actual == 1
    assert dictionary.current(wh) == before
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == tables


def test_the_preview_reaches_only_what_the_reader_may_read(wh):
    lead = Actor("li", "team_lead", ("EAST",))
    p = preview(wh, dictionary.current(wh)["orders"], actor=lead, today=TODAY)
    assert p.units == ["EAST"] and p.names["EAST"] == "华东组"


def test_a_measure_that_cannot_run_is_said(wh):
    draft = Metric.model_validate({"code": "x", "name": "X", "source": {
        "dataset": "sales_orders", "measure": "sum(dept)", "time_column": "order_date", "org_column": "dept"}})
    with pytest.raises(KpiError) as exc:
        preview(wh, draft, actor=ADMIN, today=TODAY)
    assert render(exc.value.args[0], "zh").startswith("无法按这个定义计算数值：")


def test_the_conftest_dictionary_is_what_the_round_trip_covers():
    assert "measure: count(*)" in METRICS_YAML  # the dataset metric the round trip reads back
