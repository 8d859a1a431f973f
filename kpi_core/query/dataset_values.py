"""The dataset half of the evaluator: a dataset metric's values at the units and periods asked,
from its month × org partials when they hold every live batch, else from its rows; kept per data
version and place, and worked out by one thread at a time per place."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pyarrow as pa
import sqlglot
from sqlglot import exp

from kpi_core.engine.compile import CLOSURE, LIVE, PERIODS, bind_columns, col, compile_unmapped, periods_table, scoped
from kpi_core.engine.partials import compile_unmapped_from_partials, distinct_table_name
from kpi_core.engine.partials import kind as partials_kind
from kpi_core.model.expressions import check_measure
from kpi_core.model.metric import Metric
from kpi_core.model.names import quoted, view_name
from kpi_core.model.periods import fiscal_start
from kpi_core.query import cache, linked_values
from kpi_core.query.dataset_sql import DISTINCT_PLAN, distinct_sql, partials_sql, planned, rows_sql, sql_text
from kpi_core.store import partials as aggregate
from kpi_core.store import versions
from kpi_core.store.datasets import column_names, live_batches


class DatasetValues:
    """Mixed into the evaluator, whose connection, tree, closure, units, periods, spans and
    data-version key it uses."""

    def _live(self, dataset: str) -> list[int]:
        return self._kept(("live", dataset), lambda: [b for b, _ in live_batches(self.con, dataset)],
                          versions.dataset(dataset))

    def _columns(self, dataset: str) -> tuple[str, ...]:
        return self._kept(("columns", dataset), lambda: tuple(column_names(self.con, dataset)),
                          versions.dataset(dataset))

    def _ready(self, m: Metric) -> bool:
        """Whether the metric's month × org partials hold every live batch of its dataset."""
        version = self.versions[m.code]
        return self._kept(("ready", m.code, version),
                          lambda: aggregate.ready(self.con, m, version, self._live(m.source.dataset)),
                          versions.dataset(m.source.dataset))

    def _kind(self, m: Metric) -> str | None:
        """How the metric's partials are kept: "agg", "distinct" or None (see engine.partials.kind)."""
        return _measure_kind(m.source.measure, self._columns(m.source.dataset))

    def _link(self, dataset: str):
        """(link, URL) of a linked dataset, None for an embedded one."""
        return self._kept(("link", dataset), lambda: linked_values.link_of(self.con, dataset, self._live(dataset)),
                          versions.dataset(dataset))

    def _dataset_as_of(self, m: Metric) -> str | None:  # kept per dataset and date column, not per metric
        src = m.source
        if self._link(src.dataset) is not None:
            return linked_values.as_of(self.con, src.dataset, self._live(src.dataset))
        day = exp.Max(this=exp.cast(col(src.time_column), "DATE"))
        sql = sqlglot.select(day).from_(exp.alias_(exp.to_table(quoted(view_name(src.dataset)).sql("duckdb")), "d",
                                                     table=True)).sql("duckdb")
        [(last,)] = self.con.execute(sql).fetchall()
        return None if last is None else f"{last:%Y-%m}"

    def _dataset_values(self, m: Metric) -> dict[tuple[str, str], float]:
        if m.code not in self._dataset:
            self.load_datasets([m])
        return self._dataset[m.code]

    def _values_key(self, m: Metric) -> tuple:
        """A dataset metric's values at this place, kept until its dataset or a broad write changes."""
        return (self.scope(versions.dataset(m.source.dataset)), m.code, *self._place())

    def _place(self) -> tuple:
        return tuple(self.units), tuple(p.label for p in self.periods), self.ytd, fiscal_start()

    def load_datasets(self, wanted: list[Metric]) -> None:
        """Values of the dataset metrics asked for: those kept for this data version, the
        pre-aggregated ones in one query over their partials, the rest one query each over rows.
        One thread at a time per place: a viewer waits for warm-on-write's build, then reads it."""
        with cache.place_lock((self.cache_key, *self._place())):
            self._load_datasets(wanted)

    def _load_datasets(self, wanted: list[Metric]) -> None:
        todo = []
        for m in wanted:
            if m.code in self._dataset:
                continue
            held = cache.VALUES.peek(self._values_key(m))
            if held is not None:  # the same tile data asked again at the same data version
                self._dataset[m.code], self.unmapped[m.code] = held
            else:
                todo.append(m)
        if not todo:
            return
        spans = [(p.label, s[0].first_day(), s[-1].end_day()) for p in self.periods for s in [self._span(p)]]
        lo, hi = min(s[1] for s in spans), max(s[2] for s in spans)
        fast, distinct, slow = [], [], []
        for m in todo:
            ready = self._ready(m)
            (slow if not ready else distinct if self._kind(m) == "distinct" else fast).append(m)
        periods, closure = periods_table(spans), scoped(self.closure, self.units)
        self.con.register(PERIODS, periods)
        self.con.register(CLOSURE, closure)
        self.con.register(LIVE, self._live_table([*fast, *distinct]))  # partials and unmapped rows read it
        try:
            if fast:
                for m in fast:
                    self._dataset[m.code] = {}
                sql = partials_sql(tuple((m.code, self.versions[m.code], self._columns(m.source.dataset))
                                         for m in fast), self.metrics)
                for code, org, period, value in self.con.execute(sql).fetchall():
                    if value is not None:
                        self._dataset[code][(org, period)] = value
            for m in distinct:
                sql = distinct_sql(m, self.versions[m.code], self._columns(m.source.dataset),
                                   tuple(self._live(m.source.dataset)), self.ytd)
                with planned(self.con, DISTINCT_PLAN):
                    rows = self.con.execute(sql, [lo.replace(day=1), hi]).fetchall()
                self._dataset[m.code] = {(o, p): v for o, p, v in rows if v is not None}
            for m in slow:
                link = self._link(m.source.dataset)
                if link is not None:  # worked out where the rows live
                    self._dataset[m.code] = linked_values.values(link, m, list(self._columns(m.source.dataset)),
                                                                 periods, closure, lo, hi, self.ytd)
                    continue
                sql = rows_sql(m, self.versions[m.code], self._columns(m.source.dataset), self.ytd)
                rows = self.con.execute(sql, [lo, hi]).fetchall()
                self._dataset[m.code] = {(o, p): v for o, p, v in rows if v is not None}
            for m in todo:
                self.unmapped[m.code] = self._unmapped(m, lo, hi, m not in slow)
        finally:
            for name in (PERIODS, CLOSURE, LIVE):
                self.con.unregister(name)
        for m in todo:
            cache.VALUES.put(self._values_key(m), (self._dataset[m.code], self.unmapped[m.code]))

    def _live_table(self, metrics: list[Metric]) -> pa.Table:
        """(metric, batch_id): the live batches behind each metric read from partials."""
        rows = [{"metric": m.code, "batch_id": b} for m in metrics for b in self._live(m.source.dataset)]
        return pa.Table.from_pylist(rows, schema=pa.schema({"metric": pa.string(), "batch_id": pa.int64()}))

    def _unmapped(self, m: Metric, lo: dt.date, hi: dt.date, from_partials: bool) -> int:
        """Rows of the metric's dataset in the range whose org value is no unit's: once per
        dataset and range, kept until the dataset's rows or the org tree change."""
        key = (m.source.dataset, m.source.org_column, m.source.time_column, lo, hi)
        if key not in self._unmapped_memo:
            self._unmapped_memo[key] = self._kept(
                ("unmapped", *key, from_partials), lambda: self._count_unmapped(m, lo, hi, from_partials),
                versions.dataset(m.source.dataset))
        return self._unmapped_memo[key]

    def _count_unmapped(self, m: Metric, lo: dt.date, hi: dt.date, from_partials: bool) -> int:
        if not from_partials and self._link(m.source.dataset) is not None:
            return linked_values.unmapped(self.con, m.source.dataset, self._live(m.source.dataset), lo, hi)
        if from_partials:  # the LIVE table registered by load_datasets holds its batches
            version = self.versions[m.code]
            name = distinct_table_name(m, version) if self._kind(m) == "distinct" else None
            sql = sql_text(("unmapped-partials", m.code, version),
                           lambda: compile_unmapped_from_partials(m, version, name))
            lo_m, hi_m = lo.replace(day=1), hi  # partials are by month; hi is a month start
        else:
            any_day = dt.date(2000, 1, 1)
            sql = sql_text(("unmapped-rows", m.code, self.versions[m.code]),
                           lambda: compile_unmapped(m, any_day, any_day))
            lo_m, hi_m = lo, hi
        return self.con.execute(sql, [lo_m, hi_m]).fetchall()[0][0]


@lru_cache(maxsize=1024)
def _measure_kind(measure: str, columns: tuple[str, ...]) -> str | None:
    """A measure's kind of partials, worked out once per text and columns (parsing costs ~1 ms)."""
    cols = list(columns)
    return partials_kind(bind_columns(check_measure(measure, cols), cols))

