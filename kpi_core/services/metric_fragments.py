"""The SQL fragments of the metric form (services/metric_form.py): a measure made of an aggregation
and a column, a filter made of rows (column · operator · value), each built as a SQLGlot syntax tree
(a value is always a quoted literal of its column's type, a column a quoted identifier when it must
be), and read back into the form from a definition when the form can say it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from kpi_core.model.expressions import DIALECT
from kpi_core.model.messages import Msg
from kpi_core.model.numbers import parse_number

AGGREGATIONS = ("sum", "count", "count_distinct", "avg", "min", "max", "median", "custom")
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "contains", "empty", "not_empty",
             "is_true", "is_false")
NO_VALUE = frozenset({"empty", "not_empty", "is_true", "is_false"})
_COMPARE = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "ge": exp.GTE, "lt": exp.LT, "le": exp.LTE}
_AGG_NODES = {exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max", exp.Median: "median"}
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
LIST_SPLIT = re.compile(r"\s*[,，、;；]\s*")  # values of a list: commas (either width), 、 or semicolons


@dataclass
class FilterRow:
    """One condition of the filter: column · operator · value (a list for in / not_in)."""

    column: str = ""
    op: str = "eq"
    value: str = ""



def identifier(column: str) -> str:
    """A column as SQL names it: plain names as they are, any other quoted."""
    return exp.to_identifier(column, quoted=not _PLAIN.fullmatch(column)).sql(DIALECT)


def measure_text(aggregation: str, column: str) -> str:
    """The measure an aggregation of a column makes: sum(amount), count(distinct customer_id), count(*)."""
    if aggregation == "count" and not column:
        return "count(*)"
    if not column:
        return ""
    if aggregation == "count_distinct":
        return f"count(distinct {identifier(column)})"
    return f"{aggregation}({identifier(column)})"


def parse_measure(text: str) -> tuple[str, str] | None:
    """(aggregation, column) when the measure is one aggregation of one column; None otherwise."""
    tree = _parse(text)
    if tree is None:
        return None
    if isinstance(tree, exp.Count):
        inner = tree.this
        if isinstance(inner, exp.Star):
            return "count", ""
        if isinstance(inner, exp.Distinct) and len(inner.expressions) == 1 and _is_column(inner.expressions[0]):
            return "count_distinct", inner.expressions[0].name
        return ("count", inner.name) if _is_column(inner) else None
    agg = _AGG_NODES.get(type(tree))
    if agg and _is_column(tree.this) and not tree.args.get("expression"):
        return agg, tree.this.name
    return None


def _parse(text: str) -> exp.Expression | None:
    try:
        trees = [t for t in sqlglot.parse(text or "", read=DIALECT) if t is not None]
    except sqlglot.errors.SqlglotError:
        return None
    return trees[0] if len(trees) == 1 else None


def _is_column(node: object) -> bool:
    return isinstance(node, exp.Column) and not node.table


def same_sql(a: str, b: str) -> bool:
    """Whether two fragments are the same expression (spacing and letter case of keywords aside)."""
    ta, tb = _parse(a), _parse(b)
    return (ta is not None and tb is not None and ta.sql(DIALECT) == tb.sql(DIALECT)) or a.strip() == b.strip()


def fitting(sql_type: str) -> tuple[str, ...]:
    """The aggregations a column of this type can take (sum of dates or average of text cannot be)."""
    kind = _kind(sql_type)
    if kind == "number":
        return AGGREGATIONS
    if kind == "bool":
        return ("sum", "count", "count_distinct", "custom")
    return ("count", "count_distinct", "min", "max", "custom")


def _kind(sql_type: str) -> str:
    t = sql_type.upper()
    if t == "BOOLEAN":
        return "bool"
    if t.startswith(("DATE", "TIMESTAMP")):
        return "date"
    if any(w in t for w in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "NUMERIC", "REAL")):
        return "number"
    return "text"


def _literal(text: str, kind: str, row: int, column: str) -> exp.Expression:
    """One value typed into a filter row, as the literal of the column's type."""
    text = text.strip()
    if kind == "number":
        try:
            v = parse_number(text)
        except ValueError:
            v = None
        if v is None:
            raise _FilterProblem(Msg("services_filter_not_number", row=row, column=column, value=text))
        return exp.Literal.number(str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v))
    if kind == "bool":
        word = text.lower()
        if word in ("true", "1", "是", "yes"):
            return exp.true()
        if word in ("false", "0", "否", "no"):
            return exp.false()
        raise _FilterProblem(Msg("services_filter_not_bool", row=row, column=column, value=text))
    if kind == "date":
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise _FilterProblem(Msg("services_filter_not_date", row=row, column=column, value=text)) from None
        return exp.cast(exp.Literal.string(day.isoformat()), "DATE")
    return exp.Literal.string(text)


class _FilterProblem(Exception):
    pass


def filter_text(rows: list[FilterRow], types: Mapping[str, str]) -> tuple[str, list[Msg]]:
    """The filter the rows make (every row must hold; empty rows left out) and what is wrong with them."""
    conditions, problems = [], []
    for i, r in enumerate(rows, 1):
        if not r.column and not r.value.strip():
            continue
        try:
            conditions.append(_condition(r, i, _kind(types.get(r.column, "VARCHAR"))))
        except _FilterProblem as exc:
            problems.append(exc.args[0])
    if not conditions:
        return "", problems
    return exp.and_(*conditions).sql(DIALECT), problems


def _condition(r: FilterRow, row: int, kind: str) -> exp.Expression:
    if not r.column:
        raise _FilterProblem(Msg("services_filter_needs_column", row=row))
    col = exp.column(exp.to_identifier(r.column, quoted=not _PLAIN.fullmatch(r.column)))
    if r.op in ("empty", "not_empty"):
        cond = exp.Is(this=col, expression=exp.Null())
        return cond if r.op == "empty" else exp.Not(this=cond)
    if r.op in ("is_true", "is_false"):
        return col if r.op == "is_true" else exp.Not(this=col)
    if not r.value.strip():
        raise _FilterProblem(Msg("services_filter_needs_value", row=row, column=r.column))
    if r.op in ("in", "not_in"):
        values = [_literal(v, kind, row, r.column) for v in LIST_SPLIT.split(r.value.strip()) if v]
        cond = exp.In(this=col, expressions=values)
        return cond if r.op == "in" else exp.Not(this=cond)
    if r.op == "contains":
        return exp.Like(this=col, expression=exp.Literal.string(f"%{r.value.strip()}%"))
    return _COMPARE[r.op](this=col, expression=_literal(r.value, kind, row, r.column))


def parse_filter(text: str) -> list[FilterRow] | None:
    """The rows a filter is made of, when it is conditions joined by AND the rows can say; else None."""
    tree = _parse(text)
    if tree is None:
        return None
    rows = []
    for part in (tree.flatten() if isinstance(tree, exp.And) else [tree]):
        row = _row(part.unnest())
        if row is None:
            return None
        rows.append(row)
    return rows


def _row(node: exp.Expression) -> FilterRow | None:
    negated = isinstance(node, exp.Not)
    inner = node.this.unnest() if negated else node
    if _is_column(inner):
        return FilterRow(inner.name, "is_false" if negated else "is_true")
    if isinstance(inner, exp.Is) and _is_column(inner.this) and isinstance(inner.expression, exp.Null):
        return FilterRow(inner.this.name, "not_empty" if negated else "empty")
    if isinstance(inner, exp.In) and _is_column(inner.this) and not inner.args.get("query"):
        values = [_value(v) for v in inner.expressions]
        if None in values:
            return None
        return FilterRow(inner.this.name, "not_in" if negated else "in", ", ".join(values))
    if negated:
        return None
    if isinstance(inner, exp.Like) and _is_column(inner.this) and isinstance(inner.expression, exp.Literal):
        pattern = inner.expression.this
        if len(pattern) > 2 and pattern[0] == pattern[-1] == "%" and "%" not in pattern[1:-1]:
            return FilterRow(inner.this.name, "contains", pattern[1:-1])
        return None
    op = next((k for k, t in _COMPARE.items() if type(inner) is t), None)
    if op and _is_column(inner.this):
        value = _value(inner.expression)
        return None if value is None else FilterRow(inner.this.name, op, value)
    return None


def _value(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Literal):
        return node.this
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return f"-{node.this.this}"
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        return node.this.this
    return None
