"""`metrics apply` refuses a bad definition naming the field and what a valid value is, in English
by default and in Chinese with --lang zh; nothing is applied either way."""

import json

import pytest

from tests.cli.test_commands import cli

BAD = """metrics:
  - code: Bad-Code
    name: 坏编码
    source: manual
    direction: up
  - code: ok_one
    name: 好指标
    source: {dataset: sales_orders, measure: sum(price), time_column: order_date, org_column: dept}
"""


@pytest.mark.parametrize("args, lines", [
    ((), ["error: 3 problem(s) in the metric definitions; nothing was applied",
          "  - bad.yaml: metric 'Bad-Code': code may hold only lowercase letters, digits and _, and must start "
          "with a letter (got 'Bad-Code')",
          "  - bad.yaml: metric 'Bad-Code': direction must be one of: higher_is_better, lower_is_better, in_range "
          "(got 'up')",
          "  - metric 'ok_one': measure 'sum(price)': unknown column 'price'"]),
    (("--lang", "zh"), ["error: 指标定义中有 3 处问题，未应用任何内容",
                        "  - bad.yaml：指标“Bad-Code”：编码只能用小写字母、数字和下划线，"
                        "且以字母开头（实际为 'Bad-Code'）",
                        "  - bad.yaml：指标“Bad-Code”：方向必须是：越高越好（higher_is_better）、"
                        "越低越好（lower_is_better）、区间内（in_range）（实际为 'up'）",
                        "  - 指标“ok_one”：度量“sum(price)”：未知列“price”"]),
])
def test_a_refused_definition_names_the_field_and_what_is_right(wh_path, tmp_path, args, lines):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    r = cli(wh_path, "metrics", "apply", path, "--reason", "r", *args)
    assert r.returncode == 1
    assert r.stderr.splitlines() == lines
    listed = json.loads(cli(wh_path, "metrics", "list", "--format", "json").stdout)
    assert not {m["code"] for m in listed} & {"Bad-Code", "ok_one"}


def test_chinese_leaves_a_good_apply_as_it_was(wh_path, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text("metrics:\n  - {code: ok_one, name: 好指标, source: manual}\n", encoding="utf-8")
    r = cli(wh_path, "metrics", "apply", path, "--reason", "新指标", "--lang", "zh", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": ["ok_one"], "updated": [], "unchanged": []}
