"""Properties of the roll-up over random trees and facts (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_core.engine.formula import evaluate
from kpi_core.engine.rollup import roll_up_period
from kpi_core.model.org import build_tree

MONTHS = ["2025-01", "2025-02", "2025-03"]


@st.composite
def trees(draw):
    """A root with 1-4 children, each with 0-4 children of its own (leaves report)."""
    rows = [("R", "root", None)]
    for i in range(draw(st.integers(1, 4))):
        rows.append((f"D{i}", f"d{i}", "R"))
        for j in range(draw(st.integers(0, 4))):
            rows.append((f"D{i}T{j}", f"t{i}{j}", f"D{i}"))
    return build_tree(rows)


money = st.integers(min_value=0, max_value=10**9).map(float)


@st.composite
def leaf_facts(draw):
    tree = draw(trees())
    leaves = [c for c in tree.units if not tree.children.get(c)]
    own = {u: {m: draw(money) for m in MONTHS if draw(st.booleans())} for u in leaves}
    return tree, {u: v for u, v in own.items() if v}


@settings(max_examples=200, deadline=None)
@given(leaf_facts())
def test_a_sum_metric_parent_is_the_sum_of_its_children(data):
    tree, own = data
    got = roll_up_period(tree, own, MONTHS, "sum", "sum", list(tree.units))
    for unit in tree.units:
        kids = tree.children.get(unit, [])
        if kids and unit in got:
            assert got[unit][0] == sum(got[k][0] for k in kids if k in got)
            assert got[unit][1] == "rolled_up"
    assert got.get("R", (0.0,))[0] == sum(sum(v.values()) for v in own.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 10**6)), min_size=2, max_size=6))
def test_a_ratio_is_computed_from_summed_components(children):
    """(revenue - cost) / revenue over the parent is the revenue-weighted mean of the children's
    ratios; it differs from their plain mean by exactly how revenue and ratio vary together
    (so the two agree when the revenues are equal, or the ratios are)."""
    rev = [float(r) for r, _ in children]
    cost = [float(min(c, r)) for (r, c) in children]
    ratios = [evaluate("(revenue - cost) / revenue", {"revenue": r, "cost": c}) for r, c in zip(rev, cost,
                                                                                                  strict=True)]
    parent = evaluate("(revenue - cost) / revenue", {"revenue": sum(rev), "cost": sum(cost)})
    weighted = sum(r * q for r, q in zip(rev, ratios, strict=True)) / sum(rev)
    assert abs(parent - weighted) < 1e-9  # the revenue-weighted mean, always
    mean = sum(ratios) / len(ratios)
    rev_mean = sum(rev) / len(rev)
    together = sum((r - rev_mean) * (q - mean) for r, q in zip(rev, ratios, strict=True)) / sum(rev)
    assert abs((parent - mean) - together) < 1e-9


@settings(max_examples=100, deadline=None)
@given(leaf_facts())
def test_a_reported_parent_value_wins(data):
    tree, own = data
    parent = next(iter(tree.children["R"]))
    own = {**own, parent: {m: 7.0 for m in MONTHS}}
    got = roll_up_period(tree, own, MONTHS, "sum", "sum", [parent, "R"])
    assert got[parent] == (21.0, "reported")
