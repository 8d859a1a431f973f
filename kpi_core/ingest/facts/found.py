"""The facts found in a file, before and after checking: what each stage hands the next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pyarrow as pa

from kpi_core.ingest.headers import Scale
from kpi_core.model.numbers import ShownAsPercent
from kpi_core.model.problems import Problem
from kpi_core.model.text import visible

FactKind = Literal["actuals", "targets"]


Progress = Callable[[str, int, int], None]


FACT_TABLE = {"actuals": "actual_fact", "targets": "target_fact"}


class Fact(NamedTuple):
    """One checked fact, ready to load: where it came from (its index among the found facts) and what it says."""

    index: int
    metric: str
    org: str
    period: str
    value: float


@dataclass
class Facts:
    """Parallel lists of the facts found in a file, before validation."""

    metric: list
    org: list
    period: list  # Period, or the raw cell when it did not parse (with its error in bad)
    value: list
    row: list[int]
    metric_col: str
    org_col: str
    period_col: list[str]
    value_col: list[str]
    scale: list[Scale] | None = None  # what a 万元 or % unit says of the value, per fact
    value_at: list[int] = field(default_factory=list)  # the grid column each value came from

    def only(self, keep: list[int]) -> Facts:
        """These facts, by index."""
        pick = (lambda c: [c[i] for i in keep]) if len(keep) < len(self.row) else list
        return Facts(pick(self.metric), pick(self.org), pick(self.period), pick(self.value), pick(self.row),
                      self.metric_col, self.org_col, pick(self.period_col), pick(self.value_col),
                      pick(self.scale) if self.scale else self.scale, pick(self.value_at))


def cell_text(v: object) -> str:
    """A cell as shown in a problem: the text the author typed, invisible characters escaped."""
    if v is None:
        return ""
    if isinstance(v, ShownAsPercent):
        return f"{float(v) * 100:.15g}%"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return visible(str(v).strip())


def no_facts() -> Facts:
    return Facts([], [], [], [], [], "", "", [], [])


class Problems(list):
    """A problem list that keeps one copy of a problem repeated across a wide row's cells."""

    def __init__(self):
        super().__init__()
        self._seen: set[Problem] = set()

    def append(self, p: Problem) -> None:
        if p not in self._seen:
            self._seen.add(p)
            super().append(p)


def facts_table(f: Facts, good: list[Fact]) -> pa.Table:
    """The good facts as the Arrow table that is loaded, with the sheet row each came from."""
    return pa.table({
        "metric": pa.array([g.metric for g in good], pa.string()),
        "org": pa.array([g.org for g in good], pa.string()),
        "period": pa.array([g.period for g in good], pa.string()),
        "value": pa.array([g.value for g in good], pa.float64()),
        "source_row": pa.array([f.row[g.index] for g in good], pa.int32()),
    })
