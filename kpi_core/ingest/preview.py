"""What an upload would change, before it is confirmed: values and statuses cell by cell.

"132 cells change, 3 turn red": each new or changed fact is compared with the engine's current
cell (its actual or target and status); the status after is the same rule applied to the new
value. Roll-ups to parent units move too, but the cells a person uploads are the ones named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from kpi_core.engine import attainment as att
from kpi_core.model.periods import parse_period
from kpi_core.query.api import Query, run
from kpi_core.store import dictionary, settings
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse


@dataclass
class Preview:
    changes: list[dict] = field(default_factory=list)  # metric, org, period, before, after, status_*
    unchanged: int = 0

    @property
    def turned(self) -> dict[str, int]:
        """How many cells turn to each status they did not have before."""
        out: dict[str, int] = {}
        for c in self.changes:
            if c["status_after"] != c["status_before"]:
                out[c["status_after"]] = out.get(c["status_after"], 0) + 1
        return out


def preview(wh: Warehouse, kind: str, facts: pa.Table) -> Preview:
    """The facts that would change and the status of each cell before and after."""
    rows = facts.select(["metric", "org", "period", "value"]).to_pylist()
    if not rows:
        return Preview()
    with wh.connect() as con:
        tree = load_tree(con)
        metrics = dictionary.current(wh)
        top = _common_ancestor(tree, {r["org"] for r in rows})
        defaults = (float(settings.raw(con, "default_green")), float(settings.raw(con, "default_amber")))
        out = Preview()
        by_grain: dict[str, list[dict]] = {}
        for r in rows:
            by_grain.setdefault(parse_period(r["period"]).grain, []).append(r)
        for grain, part in by_grain.items():
            labels = sorted({r["period"] for r in part}, key=parse_period)
            codes = tuple(sorted({r["metric"] for r in part}))
            cells = {(c.metric, c.org, c.period): c for c in run(
                wh, Query(codes, top, "subtree", grain, labels[0], labels[-1])).cells}
            for r in part:
                cell = cells.get((r["metric"], r["org"], r["period"]))
                before = (cell.actual if kind == "actuals" else cell.target) if cell else None
                if before is not None and before == r["value"]:
                    out.unchanged += 1
                    continue
                m = metrics[r["metric"]]
                actual = r["value"] if kind == "actuals" else (cell.actual if cell else None)
                target = (cell.target if cell else None) if kind == "actuals" else r["value"]
                low, high = (m.range.low, m.range.high) if m.range else (None, None)
                green, amber = ((m.thresholds.green, m.thresholds.amber) if "thresholds" in m.model_fields_set
                                else defaults)
                after = att.status(actual, target, m.direction, low=low, high=high, green=green, amber=amber)
                out.changes.append({"metric": r["metric"], "org": r["org"], "period": r["period"],
                                    "before": before, "after": r["value"],
                                    "status_before": cell.status if cell else "no_data",
                                    "status_after": after.code, "rule_after": after.rule})
    return out


def _common_ancestor(tree, orgs: set[str]) -> str:
    paths = [tree.unit(o).path for o in orgs if o in tree]
    if not paths:
        return tree.root
    common = []
    for level in zip(*paths, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return common[-1] if common else tree.root
