"""The CLI frame (kpi_core/cli/app.py): the one NAME=VALUE parser every repeated option uses."""

import click
import pytest

from kpi_core.cli.app import key_values, number


@pytest.mark.parametrize(("items", "value", "expected"), [
    ((), str, {}),
    (("revenue=2", "margin=1.5"), number, {"revenue": 2.0, "margin": 1.5}),
    ((" EAST = 0.25 ",), number, {"EAST": 0.25}),
    (("a=b=date",), str, {"a=b": "date"}),  # a column name may hold '='; the value is after the last one
    (("下单日期=DATE",), lambda t: t.lower(), {"下单日期": "date"}),
    (("x=",), str, {"x": ""}),
])
def test_key_values_reads(items, value, expected):
    assert key_values(items, "--opt", "NAME=VALUE", value) == expected


@pytest.mark.parametrize(("items", "value", "message"), [
    (("revenue",), number, "'revenue' should be METRIC=WEIGHT"),
    (("=2",), number, "'=2' should be METRIC=WEIGHT"),
    (("revenue=two",), number, "'two' in 'revenue=two' is not a valid weight"),
    (("revenue=nan",), number, "'nan' in 'revenue=nan' is not a valid weight"),
    (("revenue=inf",), number, "'inf' in 'revenue=inf' is not a valid weight"),
    (("revenue=1", "revenue=2"), number, "'revenue' is given twice"),
])
def test_key_values_refuses_naming_the_option_and_item(items, value, message):
    with pytest.raises(click.BadParameter) as exc:
        key_values(items, "--weight", "METRIC=WEIGHT", value)
    assert exc.value.message == message
    assert exc.value.param_hint == "--weight"
