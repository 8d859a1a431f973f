"""The warehouse's versions: the data version every write bumps, the base version only writes that
may change anything move, and the version of each subject (one metric's facts, one dataset's
rows) a narrow write changed since (see `Warehouse.transaction(narrow=True)`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import duckdb


class Versions(NamedTuple):
    """The versions as one read saw them."""

    data: int
    base: int
    subjects: Mapping[str, int]  # subjects written narrowly since the base, with their version

    def of(self, subject: str) -> int:
        """The data version of the last write that changed `subject` (several joined by "|": any)."""
        if "|" in subject:
            return max(self.of(s) for s in subject.split("|"))
        return self.subjects.get(subject, self.base)


def facts(view: str, metric: str) -> str:
    """The subject of a metric's uploaded actuals ("actual") or targets ("target")."""
    return f"{view}:{metric}"


def dataset(name: str) -> str:
    """The subject of a dataset's rows (its batches, columns and partials)."""
    return f"dataset:{name}"


_VIEW = {"actuals": "actual", "targets": "target"}  # a facts batch's kind -> its view and subject prefix
_TABLE = {"actuals": "actual_fact", "targets": "target_fact"}


def fact_subjects(kind: str, metrics: Iterable[str]) -> list[str]:
    """The subjects a batch of `kind` ("actuals" or "targets") holding `metrics` changes."""
    return sorted({facts(_VIEW[kind], m) for m in metrics})


def batch_subjects(con: duckdb.DuckDBPyConnection, kind: str, batch_id: int) -> list[str]:
    """The subjects a stored facts batch changes (reverting it changes the same)."""
    rows = con.execute(f"SELECT DISTINCT metric FROM {_TABLE[kind]} WHERE batch_id = ?", [batch_id]).fetchall()
    return fact_subjects(kind, (m for (m,) in rows))


def read(con: duckdb.DuckDBPyConnection) -> Versions:
    """The versions now (read on every query: two plain scans of small tables take ~1 ms, where
    one query joining them took ~9 ms to plan)."""
    setting = dict(con.execute("SELECT key, value FROM setting").fetchall())
    data, base = int(setting["data_version"]), int(setting["base_version"])
    subjects = {s: v for s, v in con.execute("SELECT subject, version FROM subject_version").fetchall() if v > base}
    return Versions(data, base, subjects)
