"""Where a gap comes from: a unit's distance from its target split among its direct children.

- Additive metrics (the parent's value is the sum of its children's: manual metrics with
  `org_agg: sum`, dataset measures that are sums or counts of rows, formulas that add and
  subtract such metrics): child i contributes `actualᵢ − targetᵢ`.
- Ratios `num / den` of two additive sums (gross_margin = gross_profit / revenue): the standard
  rate/mix split against the target. With rᵢ, r*ᵢ the child's actual and target rate,
  wᵢ = denᵢ / Σden, w*ᵢ = den*ᵢ / Σden* and R* = Σ w*ᵢ·r*ᵢ (= Σnum* / Σden*):
  rate effectᵢ = wᵢ·(rᵢ − r*ᵢ), mix effectᵢ = (wᵢ − w*ᵢ)·(r*ᵢ − R*); summed over the children
  they equal R − R* exactly, since Σ(wᵢ − w*ᵢ) = 0.
- Anything else (averages, `org_agg: none`, distinct counts, products): no numbers, a reason.

The parent's gap is actual − target. A child pushing the same way is a contributor, one pushing
the other way an offsetter; share = contribution / gap, so for a lower-is-better metric that
misses (actual above target) the contributors are the children above their targets. What the
children do not explain (the parent's own target or figures, children left out) is the residual.
Pure arithmetic: `query.attribution` fetches the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from kpi_core.model.expressions import DIALECT, check_formula, parse_fragment
from kpi_core.model.messages import Msg
from kpi_core.model.metric import DatasetSource, FormulaSource, Metric

ADDITIVE, RATIO, NONE = "additive", "ratio", "none"


@dataclass(frozen=True)
class Shape:
    """How a metric's gap can be split: additive, ratio (with the denominator to weigh children
    by, a formula over metric codes) or none (with the reason)."""

    kind: str
    reason: str = ""                   # a Msg, when kind is none
    denominator: str = ""              # ratio: the formula's denominator
    components: tuple[str, ...] = ()   # ratio: the metrics the denominator names


@dataclass(frozen=True)
class Part:
    """One child's figures. For a ratio, actual and target are rates and `weight` and
    `weight_target` the denominator's actual and target."""

    org: str
    actual: float | None
    target: float | None
    weight: float | None = None
    weight_target: float | None = None
    others: int = 0  # > 0: the figures of this many units, summed and not named


@dataclass(frozen=True)
class Line:
    """One child's part in the gap."""

    org: str
    actual: float
    target: float
    contribution: float
    share: float | None = None          # contribution / the parent's gap; None without a gap
    rate_effect: float | None = None    # ratio only
    mix_effect: float | None = None     # ratio only
    weight: float | None = None         # ratio: its share of the denominator (actual)
    weight_target: float | None = None  # ratio: its share of the denominator (target)
    others: int = 0


@dataclass(frozen=True)
class Attribution:
    kind: str
    direction: str = "higher_is_better"
    actual: float | None = None
    target: float | None = None
    gap: float | None = None             # actual − target
    lines: tuple[Line, ...] = ()         # every child attributed, the largest push along the gap first
    excluded: tuple[tuple[str, str], ...] = ()  # (org, why: a Msg) children that could not be attributed
    residual: float | None = None        # gap − Σ contributions
    reason: str = ""                     # a Msg: why there is no attribution at all
    metric: str = ""
    org: str = ""
    period: str = ""
    status: str = ""

    @property
    def available(self) -> bool:
        return not self.reason

    @property
    def missed(self) -> bool:
        """The parent is on the wrong side of its target."""
        if not self.gap:
            return False
        return self.gap > 0 if self.direction == "lower_is_better" else self.gap < 0

    @property
    def contributors(self) -> list[Line]:
        """Children pushing the same way as the gap, the largest first."""
        return [x for x in self.lines if self.gap and x.contribution * self.gap > 0]

    @property
    def offsetters(self) -> list[Line]:
        """Children pushing against the gap, the largest first."""
        return sorted((x for x in self.lines if self.gap and x.contribution * self.gap < 0),
                      key=lambda x: abs(x.contribution), reverse=True)


# --- which kind of metric ---------------------------------------------------------------------

def shape(metric: Metric, metrics: Mapping[str, Metric]) -> Shape:
    """Whether (and how) the metric's gap splits among a unit's children."""
    if metric.direction == "in_range":
        return Shape(NONE, Msg("engine_attribution_in_range", metric=metric.code))
    if _additive(metric, metrics, ()):
        return Shape(ADDITIVE)
    if isinstance(metric.source, FormulaSource):
        den = _ratio_denominator(metric, metrics)
        if den is not None:
            codes = tuple(dict.fromkeys(c.name for c in den.find_all(exp.Column)))
            return Shape(RATIO, denominator=den.sql(dialect=DIALECT), components=codes)
    return Shape(NONE, Msg("engine_attribution_not_additive", metric=metric.code))


def _additive(m: Metric, metrics: Mapping[str, Metric], stack: tuple[str, ...]) -> bool:
    """The parent's value is the sum of its children's (up to what is booked on the parent itself)."""
    if m.source == "manual":
        return m.org_agg == "sum"
    if isinstance(m.source, DatasetSource):
        return _linear(parse_fragment(m.source.measure, Msg("model_fragment_measure")), _row_sum)
    if m.code in stack:
        return False
    tree, _ = check_formula(m.source.formula)
    return _linear(tree, _additive_leaf(metrics, (*stack, m.code)))


def _additive_leaf(metrics: Mapping[str, Metric], stack: tuple[str, ...]) -> Callable[[exp.Expression], bool]:
    def leaf(node: exp.Expression) -> bool:
        return (isinstance(node, exp.Column) and node.name in metrics
                and _additive(metrics[node.name], metrics, stack))
    return leaf


def _row_sum(node: exp.Expression) -> bool:
    """sum(…) or count(…) over rows (filtered or not): additive over disjoint sets of rows."""
    if isinstance(node, exp.Filter):
        node = node.this
    return isinstance(node, exp.Sum | exp.Count) and not isinstance(node.this, exp.Distinct)


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _constant(node: exp.Expression) -> bool:
    node = _unparen(node)
    if isinstance(node, exp.Neg):
        node = _unparen(node.this)
    return isinstance(node, exp.Literal) and not node.is_string


def _linear(node: exp.Expression, leaf: Callable[[exp.Expression], bool]) -> bool:
    """A sum of `leaf` terms, each possibly scaled by a constant (a constant alone is not: it
    would be counted once per child)."""
    node = _unparen(node)
    if isinstance(node, exp.Add | exp.Sub):
        return _linear(node.this, leaf) and _linear(node.expression, leaf)
    if isinstance(node, exp.Neg):
        return _linear(node.this, leaf)
    if isinstance(node, exp.Mul):
        a, b = node.this, node.expression
        return (_constant(a) and _linear(b, leaf)) or (_constant(b) and _linear(a, leaf))
    if isinstance(node, exp.Div):
        return _constant(node.expression) and _linear(node.this, leaf)
    return leaf(node)


def _ratio_denominator(m: Metric, metrics: Mapping[str, Metric]) -> exp.Expression | None:
    """The denominator of a formula `num / den` (times or over a constant; `den` may be nullif(den, 0))
    whose two sides are additive; None for any other formula."""
    tree, _ = check_formula(m.source.formula)
    node = _unparen(tree)
    if isinstance(node, exp.Mul):  # a / b * 100
        a, b = _unparen(node.this), _unparen(node.expression)
        node = a if _constant(b) else b if _constant(a) else node
    elif isinstance(node, exp.Div) and _constant(node.expression):  # a / b / 2
        node = _unparen(node.this)
    if not isinstance(node, exp.Div):
        return None
    num, den = node.this, _unparen(node.expression)
    bare = den
    if isinstance(bare, exp.Nullif) and _constant(bare.expression):
        bare = bare.this
    leaf = _additive_leaf(metrics, (m.code,))
    return den if _linear(num, leaf) and _linear(bare, leaf) else None


# --- the arithmetic ---------------------------------------------------------------------------

def unavailable(reason: str, direction: str = "higher_is_better", actual: float | None = None,
                target: float | None = None) -> Attribution:
    gap = actual - target if _finite(actual, target) else None
    return Attribution(NONE, direction, actual, target, gap, reason=reason)


def _finite(*vs: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in vs)


def _missing(p: Part, kind: str) -> str:
    """Why a child cannot be attributed ("" when it can)."""
    if not _finite(p.actual):
        return Msg("engine_attribution_child_no_actual")
    if not _finite(p.target):
        return Msg("engine_attribution_child_no_target")
    if kind == RATIO and not _finite(p.weight, p.weight_target):
        return Msg("engine_attribution_child_no_weight")
    return ""


def merge(parts: Sequence[Part], kind: str) -> tuple[Part | None, list[tuple[str, str]]]:
    """Children not to be named, as one unit (their sums; for a ratio, their pooled rates) and
    how many of them could not be attributed, as one unnamed line of `excluded`."""
    whole = [p for p in parts if not _missing(p, kind)]
    out: Part | None = None
    if whole and kind == ADDITIVE:
        out = Part("", sum(p.actual for p in whole), sum(p.target for p in whole), others=len(whole))
    elif whole:
        w, wt = sum(p.weight for p in whole), sum(p.weight_target for p in whole)
        if w and wt:
            out = Part("", sum(p.weight * p.actual for p in whole) / w,
                       sum(p.weight_target * p.target for p in whole) / wt, w, wt, others=len(whole))
    left = len(parts) - (out.others if out else 0)
    return out, ([("", Msg("engine_attribution_others_excluded", n=left))] if left else [])


def attribute(kind: str, direction: str, actual: float | None, target: float | None,
              parts: Sequence[Part], excluded: Sequence[tuple[str, str]] = ()) -> Attribution:
    """The parent's gap (actual − target) split among `parts`, its direct children."""
    if kind not in (ADDITIVE, RATIO):
        raise ValueError(f"no attribution for kind {kind!r}")
    if not _finite(actual):
        return unavailable(Msg("engine_attribution_no_actual"), direction, actual, target)
    if not _finite(target):
        return unavailable(Msg("engine_attribution_no_target"), direction, actual, target)
    out = list(excluded)
    whole = []
    for p in parts:
        why = _missing(p, kind)
        if why:
            out.append((p.org, why))
        else:
            whole.append(p)
    lines = _additive_lines(whole) if kind == ADDITIVE else _ratio_lines(whole, out)
    gap = actual - target
    total = sum(x.contribution for x in lines)
    scale = max([abs(actual), abs(target), *(abs(x.contribution) for x in lines)])
    residual = gap - total
    if abs(residual) <= 1e-9 * scale:  # what float rounding leaves of an exact split
        residual = 0.0
    lines = [_with_share(x, gap) for x in lines]
    along = 1.0 if gap >= 0 else -1.0
    lines.sort(key=lambda x: -x.contribution * along)  # stable: ties keep the tree's order
    return Attribution(kind, direction, actual, target, gap, tuple(lines), tuple(out), residual)


def _with_share(x: Line, gap: float) -> Line:
    share = x.contribution / gap if gap else None
    return Line(x.org, x.actual, x.target, x.contribution, share, x.rate_effect, x.mix_effect, x.weight,
                x.weight_target, x.others)


def _additive_lines(parts: Sequence[Part]) -> list[Line]:
    return [Line(p.org, p.actual, p.target, p.actual - p.target, others=p.others) for p in parts]


def _ratio_lines(parts: Sequence[Part], excluded: list[tuple[str, str]]) -> list[Line]:
    w_all, wt_all = sum(p.weight for p in parts), sum(p.weight_target for p in parts)
    if parts and not (w_all and wt_all):  # no weights to split by: none of them is attributed
        excluded += [(p.org, Msg("engine_attribution_child_no_weight")) for p in parts]
        return []
    r_star = sum(p.weight_target / wt_all * p.target for p in parts) if parts else 0.0
    lines = []
    for p in parts:
        w, wt = p.weight / w_all, p.weight_target / wt_all
        rate, mix = w * (p.actual - p.target), (w - wt) * (p.target - r_star)
        lines.append(Line(p.org, p.actual, p.target, rate + mix, None, rate, mix, w, wt, p.others))
    return lines
