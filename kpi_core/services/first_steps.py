"""A new company's first steps in the browser, in order, and which are done: the checklist of
the guided start (org → metrics → scorecards → targets → first upload → first board)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kpi_core.model.access import Actor
from kpi_core.model.scorecard import Item, ScorecardDef
from kpi_core.query.scorecard import default_card
from kpi_core.store import boards, dictionary, scorecards
from kpi_core.store.org import tree
from kpi_core.store.summary import warehouse_summary
from kpi_core.store.warehouse import Warehouse

# (step, the page where it is done); settings as data, read by the start page and its tests.
STEPS: tuple[tuple[str, str], ...] = (
    ("org", "admin"), ("metrics", "metrics"), ("scorecards", "scorecards"), ("targets", "targets"),
    ("actuals", "upload"), ("board", "boards"),
)


@dataclass(frozen=True)
class Step:
    key: str        # one of STEPS
    page: str       # the page (pages/nav.py key) where it is done
    count: int      # how many there are now (units, metrics, own scorecards, targets, actuals, boards)
    done: bool


def steps(wh: Warehouse) -> list[Step]:
    """Each first step with what the warehouse holds for it. The org is done past a lone root
    (a company with no units under it has nothing to compare); a scorecard step counts the
    units with their own scorecard (without one, every unit inherits the default)."""
    s = warehouse_summary(wh)
    counts = {"org": s["org_units"], "metrics": s["metrics"], "scorecards": len(scorecards.current(wh)),
              "targets": s["targets"], "actuals": s["actuals"], "board": len(boards.all_boards(wh))}
    need = {"org": 2}
    return [Step(key, page, counts[key], counts[key] >= need.get(key, 1)) for key, page in STEPS]


def next_step(done: list[Step]) -> Step | None:
    """The first step not done yet, or None when the company is set up."""
    return next((s for s in done if not s.done), None)


def without_targets(wh: Warehouse, metrics: Iterable[str]) -> list[str]:
    """Those of `metrics` with no target anywhere: after an upload, the page asks for them, as
    their status stays 'no target' and their score empty until there is one."""
    wanted = sorted(set(metrics))
    if not wanted:
        return []
    with wh.connect() as con:
        have = {r[0] for r in con.execute("SELECT DISTINCT metric FROM target WHERE metric IN (SELECT unnest(?))",
                                          [wanted]).fetchall()}
    return [m for m in wanted if m not in have]


def adopt_default_scorecard(wh: Warehouse, *, user: str | Actor = "admin", reason: str) -> ScorecardDef:
    """The company's own scorecard made from the default (every metric with a perspective, equal
    weights; every metric when none has one), as a starting point to edit. Units below inherit it."""
    metrics = dictionary.current(wh)
    root = tree(wh).root
    card = default_card(root, metrics)
    if not card.metrics:
        card = ScorecardDef(org=root, metrics=tuple(Item(metric=code) for code in sorted(metrics)))
    scorecards.apply(wh, [card], reason=reason, user=user)
    return card
