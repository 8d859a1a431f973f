"""Rolling manual values up: over time by `time_agg`, over the org tree by `org_agg`.

A value uploaded for a unit is used as it is (reported); a unit without one gets the
roll-up of its children (rolled up), and `org_agg: none` never rolls up.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi_core.model.org import OrgTree

REPORTED, ROLLED_UP, COMPUTED = "reported", "rolled_up", "computed"


def over_time(values: Sequence[tuple[str, float]], how: str) -> float | None:
    """Aggregate (period label, value) pairs of one unit inside one period by time_agg."""
    if not values:
        return None
    if how == "sum":
        return float(sum(v for _, v in values))
    if how == "avg":
        return sum(v for _, v in values) / len(values)
    if how == "last":
        return max(values)[1]  # labels sort in time order: the period-end value
    if how == "min":
        return min(v for _, v in values)
    if how == "max":
        return max(v for _, v in values)
    raise ValueError(f"unknown time_agg {how!r}")


def over_org(values: Sequence[float], how: str) -> float | None:
    """Aggregate children's values by org_agg; None for 'none' or no values."""
    if not values or how == "none":
        return None
    if how == "sum":
        return float(sum(values))
    if how == "avg":
        return sum(values) / len(values)
    raise ValueError(f"unknown org_agg {how!r}")


def roll_up_tree(tree: OrgTree, own: dict[str, float], how: str, units: Sequence[str]) -> dict[str, tuple[float, str]]:
    """(value, reported|rolled_up) for each of `units` from the units' own values for one period.

    A unit's own value wins; otherwise its children's values (their own or rolled up) are
    aggregated."""
    memo: dict[str, tuple[float, str] | None] = {}

    def value(code: str) -> tuple[float, str] | None:
        if code in memo:
            return memo[code]
        if code in own:
            memo[code] = (own[code], REPORTED)
            return memo[code]
        memo[code] = None  # guards against a (refused) cycle
        kids = [v[0] for c in tree.children.get(code, []) if (v := value(c)) is not None]
        agg = over_org(kids, how)
        memo[code] = None if agg is None else (agg, ROLLED_UP)
        return memo[code]

    return {u: v for u in units if (v := value(u)) is not None}


def roll_up_period(tree: OrgTree, own: dict[str, dict[str, float]], bases: Sequence[str], time_agg: str,
                   org_agg: str, units: Sequence[str]) -> dict[str, tuple[float, str]]:
    """(value, reported|rolled_up) per unit for a period made of the reporting periods `bases`.

    A unit that reported every base period uses its own figures; one that reported none takes
    its children's period values (each aggregated over time first); one that reported some
    takes, base by base, its own figure or else its children's, then aggregates over time."""
    bases = sorted(bases)
    memo: dict[str, tuple[float, str] | None] = {}
    per_base = {b: roll_up_tree(tree, {u: v[b] for u, v in own.items() if b in v}, org_agg, list(tree.units))
                for b in bases} if any(0 < len(set(v) & set(bases)) < len(bases) for v in own.values()) else {}

    def value(code: str) -> tuple[float, str] | None:
        if code in memo:
            return memo[code]
        mine = {b: own[code][b] for b in bases if b in own.get(code, {})}
        memo[code] = None
        if mine and (len(mine) == len(bases) or org_agg == "none"):
            memo[code] = (over_time(sorted(mine.items()), time_agg), REPORTED)
        elif not mine:
            kids = [v[0] for c in tree.children.get(code, []) if (v := value(c)) is not None]
            agg = over_org(kids, org_agg)
            memo[code] = None if agg is None else (agg, ROLLED_UP)
        else:
            parts = [(b, per_base[b][code][0]) for b in bases if code in per_base.get(b, {})]
            # Its own figures alone (no child filled a month it left out) are still reported ones.
            filled = {b for b, _ in parts} - set(mine)
            memo[code] = (over_time(parts, time_agg), ROLLED_UP if filled else REPORTED) if parts else None
        return memo[code]

    return {u: v for u in units if (v := value(u)) is not None}
