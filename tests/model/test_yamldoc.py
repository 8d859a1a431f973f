"""A YAML syntax error is told where it is, in the reader's language, with the line's text and
without the parser's English prose."""

import pytest

from kpi_core.model.alert import document
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.yamldoc import items
from kpi_core.present.i18n import problem_text


@pytest.mark.parametrize(("text", "line", "column", "shown"), [
    ("alerts: [oops", 1, 14, "alerts: [oops"),
    ("alerts:\n  - {code: a, metric: b\n  - x: 1\n", 3, 6, "- x: 1"),
    ("metrics: a: b", 1, 11, "metrics: a: b"),
])
def test_a_syntax_error_names_its_line_and_column(text, line, column, shown):
    for read in (lambda: document(text, "f.yaml"), lambda: items(text, "metrics", "f.yaml")):
        with pytest.raises(ValidationFailed) as got:
            read()
        assert problem_text(got.value, "zh") == f"f.yaml 不是有效的 YAML：第 {line} 行第 {column} 列有语法错误：{shown}"
        assert problem_text(got.value, "en") == f"f.yaml is not valid YAML: line {line}, column {column}: {shown}"
