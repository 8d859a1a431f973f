"""User-written SQL fragments (measure, filter, formula): parsed with SQLGlot, checked
against an allow-list of syntax and functions, never pasted into SQL strings."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlglot
from sqlglot import exp

from kpi_core.model.messages import Msg

DIALECT = "duckdb"

# Syntax any fragment may use.
_BASIC: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Paren, exp.Null, exp.Boolean,
    exp.Neg, exp.Not, exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Add, exp.Sub, exp.Mul, exp.Div,
    exp.IntDiv, exp.Mod, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.DataType, exp.Var,
    exp.DPipe, exp.Tuple,
)
AGGREGATES: dict[type[exp.Expression], str] = {
    exp.Sum: "sum", exp.Count: "count", exp.Avg: "avg", exp.Min: "min", exp.Max: "max",
    exp.Median: "median", exp.Stddev: "stddev", exp.StddevSamp: "stddev_samp",
    exp.StddevPop: "stddev_pop", exp.Variance: "variance", exp.VariancePop: "var_pop",
    exp.PercentileCont: "quantile_cont", exp.PercentileDisc: "quantile_disc",
}
SCALARS: dict[type[exp.Expression], str] = {
    exp.Coalesce: "coalesce", exp.Nullif: "nullif", exp.Abs: "abs", exp.Round: "round",
    exp.Floor: "floor", exp.Ceil: "ceil", exp.Greatest: "greatest", exp.Least: "least",
    exp.Lower: "lower", exp.Upper: "upper", exp.Trim: "trim", exp.Length: "length",
    exp.Substring: "substring", exp.Extract: "extract", exp.Year: "year", exp.Month: "month",
    exp.Quarter: "quarter", exp.Day: "day", exp.DateTrunc: "date_trunc", exp.Sqrt: "sqrt",
    exp.Ln: "ln", exp.Log: "log", exp.Exp: "exp", exp.Sign: "sign",
}
FORMULA_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Abs: "abs", exp.Coalesce: "coalesce", exp.Nullif: "nullif", exp.Greatest: "greatest",
    exp.Least: "least", exp.Round: "round",
}
_FORMULA_SYNTAX = (exp.Column, exp.Identifier, exp.Literal, exp.Paren, exp.Neg, exp.Add,
                   exp.Sub, exp.Mul, exp.Div)
# Types a CAST may name. SQLGlot renders an unknown type name (CAST(x AS "a; DROP …")) and the
# unit of EXTRACT (a Var) as raw text, so both are held to plain names.
_T = exp.DataType.Type
CAST_TYPES = frozenset({
    _T.TEXT, _T.VARCHAR, _T.CHAR, _T.NCHAR, _T.NVARCHAR, _T.BOOLEAN, _T.TINYINT, _T.SMALLINT, _T.INT,
    _T.BIGINT, _T.INT128, _T.UTINYINT, _T.USMALLINT, _T.UINT, _T.UBIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL,
    _T.DATE, _T.TIME, _T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.TIMESTAMPTZ, _T.TIMESTAMP_S, _T.TIMESTAMP_MS,
})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExpressionError(ValueError):
    """A fragment that does not parse or uses something not allowed; says which."""


def parse_fragment(text: str, what: str) -> exp.Expression:
    """Parse one SQL expression; statements, several expressions or junk are refused. `what` names
    the fragment in a refusal (a message: a measure, a filter, a formula)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(Msg("model_fragment_empty", what=what))
    try:
        trees = sqlglot.parse(text, read=DIALECT)
    except sqlglot.errors.SqlglotError as exc:
        raise ExpressionError(Msg("model_fragment_does_not_parse", what=what, text=text,
                                  detail=_first_line(exc))) from exc
    trees = [t for t in trees if t is not None]
    if len(trees) != 1 or isinstance(trees[0], exp.Block):
        raise ExpressionError(Msg("model_fragment_several_statements", what=what, text=text))
    tree = trees[0]
    if isinstance(tree, exp.Query | exp.DDL | exp.DML | exp.Command):
        raise ExpressionError(Msg("model_fragment_is_statement", what=what, text=text))
    return tree


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]


def _name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__


def _match_column(name: str, columns: Iterable[str]) -> str | None:
    cols = list(columns)
    if name in cols:
        return name
    folded = [c for c in cols if c.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def _check_nodes(tree: exp.Expression, text: str, what: str,
                 allowed_funcs: dict[type[exp.Expression], str],
                 syntax: tuple[type[exp.Expression], ...]) -> None:
    for node in tree.walk():
        if node.comments:  # rendered back into the SQL; nothing a definition needs
            raise ExpressionError(Msg("model_fragment_comments", what=what, text=text))
        if isinstance(node, exp.DataType) and node.this not in CAST_TYPES:
            raise ExpressionError(Msg("model_fragment_cast_type", what=what, text=text, type=node.sql(DIALECT)))
        if isinstance(node, exp.Var) and not _WORD.fullmatch(node.name):
            raise ExpressionError(Msg("model_fragment_not_plain_name", what=what, text=text, name=node.name))
        if isinstance(node, exp.Star):
            if not isinstance(node.parent, exp.Count):
                raise ExpressionError(Msg("model_fragment_star", what=what, text=text))
            continue
        if isinstance(node, exp.Distinct):
            if not isinstance(node.parent, exp.Count | exp.Sum | exp.Avg):
                raise ExpressionError(Msg("model_fragment_distinct", what=what, text=text))
            continue
        if type(node) in allowed_funcs or isinstance(node, syntax):
            continue
        if isinstance(node, exp.Func):
            raise ExpressionError(Msg("model_fragment_function", what=what, text=text, name=_name(node)))
        raise ExpressionError(Msg("model_fragment_syntax", what=what, text=text, syntax=type(node).__name__.lower()))


def _check_renders(tree: exp.Expression, text: str, what: str) -> None:
    """The SQL the fragment compiles to reads back as the same single expression: nothing in it
    can end the expression early or start another statement."""
    sql = tree.sql(DIALECT)
    try:
        again = [t for t in sqlglot.parse(sql, read=DIALECT) if t is not None]
    except sqlglot.errors.SqlglotError:
        again = []
    if len(again) != 1 or again[0].sql(DIALECT) != sql:
        raise ExpressionError(Msg("model_fragment_unsafe", what=what, text=text))


def _check_columns(tree: exp.Expression, text: str, what: str, columns: Iterable[str]) -> list[str]:
    used = []
    for col in tree.find_all(exp.Column):
        if col.table or col.args.get("db") or col.args.get("catalog"):
            raise ExpressionError(Msg("model_fragment_column_table", what=what, text=text, column=col.sql()))
        match = _match_column(col.name, columns)
        if match is None:
            raise ExpressionError(Msg("model_fragment_unknown_column", what=what, text=text, column=col.name))
        used.append(match)
    return used


def check_measure(text: str, columns: Iterable[str]) -> exp.Expression:
    """An aggregate over the dataset's columns, e.g. sum(amount) or count(distinct "Order ID")."""
    what = Msg("model_fragment_measure")
    tree = parse_fragment(text, what)
    _check_nodes(tree, text, what, {**AGGREGATES, **SCALARS}, _BASIC)
    _check_renders(tree, text, what)
    _check_columns(tree, text, what, columns)
    aggs = [n for n in tree.walk() if type(n) in AGGREGATES]
    if not aggs:
        raise ExpressionError(Msg("model_measure_not_aggregate", what=what, text=text))
    for agg in aggs:
        if any(type(n) in AGGREGATES for n in agg.walk() if n is not agg):
            raise ExpressionError(Msg("model_measure_nested_aggregate", what=what, text=text))
    for col in tree.find_all(exp.Column):
        if not any(type(a) in AGGREGATES for a in _ancestors(col)):
            raise ExpressionError(Msg("model_measure_column_outside_aggregate", what=what, text=text,
                                      column=col.name))
    return tree


def _ancestors(node: exp.Expression):
    p = node.parent
    while p is not None:
        yield p
        p = p.parent


def check_filter(text: str, columns: Iterable[str]) -> exp.Expression:
    """A row condition over the dataset's columns; no aggregates."""
    what = Msg("model_fragment_filter")
    tree = parse_fragment(text, what)
    _check_nodes(tree, text, what, SCALARS, _BASIC)
    _check_renders(tree, text, what)
    _check_columns(tree, text, what, columns)
    return tree


def check_formula(text: str) -> tuple[exp.Expression, list[str]]:
    """Arithmetic over metric codes; returns the tree and the codes it names, in order."""
    what = Msg("model_fragment_formula")
    tree = parse_fragment(text, what)
    _check_nodes(tree, text, what, FORMULA_FUNCTIONS, _FORMULA_SYNTAX)
    _check_renders(tree, text, what)
    codes: list[str] = []
    for col in (n for n in tree.walk(bfs=False) if isinstance(n, exp.Column)):  # in reading order
        if col.table:
            raise ExpressionError(Msg("model_formula_not_metric_code", what=what, text=text, name=col.sql()))
        if col.name not in codes:
            codes.append(col.name)
    for lit in tree.find_all(exp.Literal):
        if lit.is_string:
            raise ExpressionError(Msg("model_formula_text", what=what, text=text, literal=lit.this))
    if not codes:
        raise ExpressionError(Msg("model_formula_no_metric", what=what, text=text))
    return tree, codes
