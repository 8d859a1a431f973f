"""A refused metric definition says what is wrong in the reader's language: the field by its name,
what a valid value is, the value it got (model/validation.py `explain`, model/metric.py
`field_problems`), never pydantic's own English ("String should match pattern …")."""

import pytest

from kpi_core.model.messages import Msg, render
from kpi_core.model.metric import Metric, field_problems, parse_metrics

OK = {"code": "a", "name": "A", "source": "manual"}

# (case, what is changed in a valid definition, the field path, English, Chinese)
CASES = [
    ("code pattern", {"code": "Bad-Code"}, "code",
     "code may hold only lowercase letters, digits and _, and must start with a letter (got 'Bad-Code')",
     "编码只能用小写字母、数字和下划线，且以字母开头（实际为 'Bad-Code'）"),
    ("code too long", {"code": "a" * 65}, "code", "code may have at most 64 characters", "编码最多 64 个字符"),
    ("code not text", {"code": 5}, "code", "code must be text (got 5)", "编码必须是文字（实际为 5）"),
    ("name missing", {"name": None}, "name", "name is required", "请填写名称"),
    ("name empty", {"name": ""}, "name", "name must not be empty", "名称不能为空"),
    ("direction", {"direction": "up"}, "direction",
     "direction must be one of: higher_is_better, lower_is_better, in_range (got 'up')",
     "方向必须是：越高越好（higher_is_better）、越低越好（lower_is_better）、区间内（in_range）（实际为 'up'）"),
    ("perspective", {"perspective": "finance"}, "perspective",
     "perspective must be one of: financial, customer, internal_process, learning_growth (got 'finance')",
     "平衡计分卡维度必须是：财务（financial）、客户（customer）、内部流程（internal_process）、"
     "学习与成长（learning_growth）（实际为 'finance'）"),
    ("kind", {"kind": "outcome"}, "kind", "kind must be one of: result, process, growth (got 'outcome')",
     "指标类型必须是：结果指标（result）、过程指标（process）、成长指标（growth）（实际为 'outcome'）"),
    ("frequency", {"frequency": "week"}, "frequency",
     "frequency must be one of: month, quarter, year (got 'week')",
     "上报频率必须是：每月（month）、每季度（quarter）、每年（year）（实际为 'week'）"),
    ("time_agg", {"time_agg": "median"}, "time_agg",
     "roll-up over time (time_agg) must be one of: sum, avg, last, min, max (got 'median')",
     "跨期间汇总方式必须是：求和（sum）、平均（avg）、取期末值（last）、最小值（min）、"
     "最大值（max）（实际为 'median'）"),
    ("org_agg", {"org_agg": "max"}, "org_agg",
     "roll-up over units (org_agg) must be one of: sum, avg, none (got 'max')",
     "跨组织汇总方式必须是：求和（sum）、平均（avg）、不汇总（各单元各报各的）（none）（实际为 'max'）"),
    ("in_range without range", {"direction": "in_range"}, "range",
     "direction 'in range' needs a range: its low and high", "方向为“区间内”时须填写区间的下限和上限"),
    ("range reversed", {"direction": "in_range", "range": {"low": 5, "high": 1}}, "range",
     "range: range low 5 is above high 1", "合理区间：范围下限 5 高于上限 1"),
    ("range not a mapping", {"direction": "in_range", "range": [1, 2]}, "range",
     "range must be a mapping (key: value lines) (got [1, 2])",
     "合理区间必须是键值对（每行写“键: 值”）（实际为 [1, 2]）"),
    ("range low not a number", {"direction": "in_range", "range": {"low": "x", "high": 2}}, "range.low",
     "range low must be a number (got 'x')", "区间下限必须是数字（实际为 'x'）"),
    ("green not a number", {"thresholds": {"green": "abc"}}, "thresholds.green",
     "green threshold must be a number (got 'abc')", "达标阈值必须是数字（实际为 'abc'）"),
    ("amber above green", {"thresholds": {"green": 0.8, "amber": 0.95}}, "thresholds",
     "thresholds: amber threshold 0.95 is above green 0.8", "阈值：黄灯阈值 0.95 高于绿灯阈值 0.8"),
    ("tags not a list", {"tags": "sales"}, "tags", "tags must be a list (such as [a, b]) (got 'sales')",
     "标签必须是列表（如 [a, b]）（实际为 'sales'）"),
    ("phasing pattern", {"phasing": "Last Year"}, "phasing",
     "phasing may hold only lowercase letters, digits and _, and must start with a letter (got 'Last Year')",
     "目标分解方式只能用小写字母、数字和下划线，且以字母开头（实际为 'Last Year'）"),
    ("unknown field", {"colour": "red"}, "colour", "colour: unknown field", "colour：未知字段"),
    ("misspelt field", {"time_agr": "sum"}, "time_agr", "time_agr: unknown field (did you mean 'time_agg'?)",
     "time_agr：未知字段（是否想写“time_agg”？）"),
    ("source missing", {"source": None}, "source", "source is required", "请填写数据来源"),
    ("source misspelt", {"source": "manuel"}, "source",
     "source must be manual (uploaded), or name a dataset or a formula (got 'manuel')",
     "数据来源必须是 manual（人工上报），或者写明 dataset（数据集）或 formula（公式）（实际为 'manuel'）"),
    ("dataset and formula", {"source": {"dataset": "s", "formula": "a / b"}}, "source",
     "source is either a dataset or a formula: write dataset or formula, not both",
     "数据来源只能是数据集或公式之一，不能同时写 dataset 和 formula"),
    ("dataset without measure", {"source": {"dataset": "s", "time_column": "d", "org_column": "o"}},
     "source.measure", "measure is required", "请填写度量"),
    ("dataset empty measure", {"source": {"dataset": "s", "measure": "", "time_column": "d", "org_column": "o"}},
     "source.measure", "measure must not be empty", "度量不能为空"),
    ("dataset without org column", {"source": {"dataset": "s", "measure": "sum(x)", "time_column": "d"}},
     "source.org_column", "org column (org_column) is required", "请填写组织列"),
    ("dataset field misspelt", {"source": {"dataset": "s", "measure": "sum(x)", "time_column": "d",
                                           "org_column": "o", "filtr": "x > 1"}},
     "source.filtr", "source.filtr: unknown field (did you mean 'filter'?)",
     "source.filtr：未知字段（是否想写“filter”？）"),
    ("formula empty", {"source": {"formula": ""}}, "source.formula", "formula must not be empty", "公式不能为空"),
]


@pytest.mark.parametrize("case, change, path, en, zh", CASES, ids=[c[0] for c in CASES])
def test_a_bad_definition_names_the_field_and_what_is_right(case, change, path, en, zh):
    raw = {k: v for k, v in {**OK, **change}.items() if v is not None}
    with pytest.raises(Exception) as err:
        Metric.model_validate(raw)
    [(where, problem)] = field_problems(raw, err.value)
    assert where == path
    assert isinstance(problem, Msg)
    assert (problem, render(problem, "en"), render(problem, "zh")) == (en, en, zh)


def test_no_pydantic_words_reach_a_reader():
    raws = [{**OK, **change} for _, change, *_ in CASES]
    _, problems = parse_metrics([("f.yaml", {k: v for k, v in raw.items() if v is not None}) for raw in raws])
    assert len(problems) == len(CASES)
    for p in problems:
        for lang in ("en", "zh"):
            text = render(p, lang)
            assert not any(w in text for w in ("should", "Input", "String", "Field required", "Value error")), text


def test_the_file_and_the_metric_come_first():
    _, [problem] = parse_metrics([("bad.yaml", {**OK, "code": "Bad-Code"})])
    assert render(problem, "zh") == ("bad.yaml：指标“Bad-Code”：编码只能用小写字母、数字和下划线，"
                                     "且以字母开头（实际为 'Bad-Code'）")
    assert problem == ("bad.yaml: metric 'Bad-Code': code may hold only lowercase letters, digits and _, "
                       "and must start with a letter (got 'Bad-Code')")


def test_several_problems_of_one_definition_are_each_said_once():
    raw = {"code": "Bad", "direction": "up", "source": {"dataset": "s"}}
    with pytest.raises(Exception) as err:
        Metric.model_validate(raw)
    paths = [p for p, _ in field_problems(raw, err.value)]
    assert paths == ["code", "name", "direction", "source.measure", "source.time_column", "source.org_column"]
