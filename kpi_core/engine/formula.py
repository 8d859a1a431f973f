"""Formula metrics evaluated on their components after roll-up — never by averaging children's
ratios. Division by zero gives no value and a reason, never inf or NaN."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

from sqlglot import exp

from kpi_core.model.expressions import check_formula
from kpi_core.model.messages import Msg


class NoValue(Exception):
    """A formula without a value here; the message (a Msg) says why."""


@lru_cache(maxsize=1024)
def _checked(formula: str) -> tuple[exp.Expression, tuple[str, ...]]:
    """The formula parsed and checked once: a board evaluates it for every cell."""
    tree, codes = check_formula(formula)
    return tree, tuple(codes)


def components(formula: str) -> list[str]:
    return list(_checked(formula)[1])


def evaluate(formula: str, values: Mapping[str, float | None]) -> float:
    """The formula's value from its components' values; NoValue with the reason otherwise."""
    tree = _checked(formula)[0]  # read only: _eval never changes the tree
    result = _eval(tree, values)
    if result is None or math.isnan(result) or math.isinf(result):
        raise NoValue(Msg("engine_formula_not_finite"))
    return result


def _eval(node: exp.Expression, values: Mapping[str, float | None]) -> float | None:
    if isinstance(node, exp.Paren):
        return _eval(node.this, values)
    if isinstance(node, exp.Column):
        v = values.get(node.name)
        if v is None:
            raise NoValue(Msg("engine_formula_no_value", metric=node.name))
        return float(v)
    if isinstance(node, exp.Literal):
        return float(node.this)
    if isinstance(node, exp.Neg):
        return -_eval(node.this, values)
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div):
        a, b = _eval(node.this, values), _eval(node.expression, values)
        if isinstance(node, exp.Add):
            return a + b
        if isinstance(node, exp.Sub):
            return a - b
        if isinstance(node, exp.Mul):
            return a * b
        if b == 0:
            raise NoValue(Msg("engine_formula_division_by_zero", divisor=node.expression.sql()))
        return a / b
    if isinstance(node, exp.Abs):
        return abs(_eval(node.this, values))
    if isinstance(node, exp.Round):
        digits = node.args.get("decimals")
        return round(_eval(node.this, values), int(_eval(digits, values)) if digits else 0)
    args = [node.this, *node.expressions] if isinstance(node, exp.Coalesce | exp.Greatest | exp.Least) else []
    if isinstance(node, exp.Coalesce):
        for a in args:
            try:
                return _eval(a, values)
            except NoValue:
                continue
        raise NoValue(Msg("engine_formula_all_empty", expression=node.sql()))
    if isinstance(node, exp.Greatest | exp.Least):
        vals = [_eval(a, values) for a in args]
        return max(vals) if isinstance(node, exp.Greatest) else min(vals)
    if isinstance(node, exp.Nullif):
        a, b = _eval(node.this, values), _eval(node.expression, values)
        if a == b:
            raise NoValue(Msg("engine_formula_empty", expression=node.sql()))
        return a
    # check_formula refuses anything else first
    raise NoValue(Msg("engine_formula_cannot_evaluate", expression=node.sql()))
