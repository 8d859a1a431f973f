"""Review cycles in the warehouse (SPEC §10): cycles, chosen raters, ratings, calibrations and
the snapshots closing freezes. Rows only; who may do what is decided in services/reviews.py.

Reviews are not KPI data: their writes leave the data version alone (`bump=False`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from kpi_core.model.errors import NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.periods import parse_period
from kpi_core.model.review import Config
from kpi_core.store.datasets import live_batches
from kpi_core.store.warehouse import now

CYCLE_COLUMNS = ("name", "period", "org", "state", "config", "opened_by", "opened_at", "closed_by", "closed_at")


@dataclass(frozen=True)
class Cycle:
    name: str
    period: str
    org: str
    state: str
    config: Config
    opened_by: str
    opened_at: dt.datetime
    closed_by: str | None = None
    closed_at: dt.datetime | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "period": self.period, "org": self.org, "state": self.state,
                "opened_by": self.opened_by, "opened_at": self.opened_at, "closed_by": self.closed_by,
                "closed_at": self.closed_at}


def _cycle(row: tuple) -> Cycle:
    r = dict(zip(CYCLE_COLUMNS, row, strict=True))
    return Cycle(**{**r, "config": Config.from_dict(json.loads(r["config"]))})


def find(con: duckdb.DuckDBPyConnection, name: str) -> Cycle | None:
    rows = con.execute(f"SELECT {', '.join(CYCLE_COLUMNS)} FROM review_cycle WHERE name = ?", [name]).fetchall()
    return _cycle(rows[0]) if rows else None


def get(con: duckdb.DuckDBPyConnection, name: str) -> Cycle:
    found = find(con, name)
    if found is None:
        names = [r[0] for r in con.execute("SELECT name FROM review_cycle ORDER BY opened_at DESC LIMIT 10").fetchall()]
        raise NotFound(Msg("review_not_found", name=name, names=names or "—"))
    return found


def cycles(con: duckdb.DuckDBPyConnection) -> list[Cycle]:
    """Every cycle, the newest first."""
    rows = con.execute(f"SELECT {', '.join(CYCLE_COLUMNS)} FROM review_cycle ORDER BY opened_at DESC, name").fetchall()
    return [_cycle(r) for r in rows]


def insert(con: duckdb.DuckDBPyConnection, name: str, period: str, org: str, config: Config, by: str) -> Cycle:
    con.execute("INSERT INTO review_cycle (name, period, org, state, config, opened_by, opened_at) "
                "VALUES (?, ?, ?, 'open', ?, ?, ?)", [name, period, org, json.dumps(config.as_dict(),
                                                                                     ensure_ascii=False), by, now()])
    return get(con, name)


def set_state(con: duckdb.DuckDBPyConnection, name: str, state: str, by: str) -> None:
    if state == "closed":
        con.execute("UPDATE review_cycle SET state = ?, closed_by = ?, closed_at = ? WHERE name = ?",
                    [state, by, now(), name])
    else:
        con.execute("UPDATE review_cycle SET state = ? WHERE name = ?", [state, name])


def choose(con: duckdb.DuckDBPyConnection, cycle: str, subject: str, rater: str, kind: str, by: str) -> None:
    con.execute("INSERT OR REPLACE INTO review_rater VALUES (?, ?, ?, ?, ?, ?)",
                [cycle, subject, rater, kind, by, now()])


def unchoose(con: duckdb.DuckDBPyConnection, cycle: str, subject: str, rater: str) -> None:
    con.execute("DELETE FROM review_rater WHERE cycle = ? AND subject = ? AND rater = ?", [cycle, subject, rater])


def raters(con: duckdb.DuckDBPyConnection, cycle: str, subject: str | None = None) -> list[tuple[str, str, str]]:
    """(subject, rater, kind) chosen in a cycle (for one subject when given)."""
    where, params = "cycle = ?", [cycle]
    if subject is not None:
        where, params = where + " AND subject = ?", [*params, subject]
    return con.execute(f"SELECT subject, rater, kind FROM review_rater WHERE {where} ORDER BY subject, kind, rater",
                       params).fetchall()


def put_rating(con: duckdb.DuckDBPyConnection, cycle: str, subject: str, rater: str, kind: str,
               competency: str, score: float, comment: str | None) -> None:
    """A rater's score of one competency; rating it again replaces it while the stage is open."""
    con.execute("INSERT OR REPLACE INTO review_rating VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [cycle, subject, rater, kind, competency, float(score), comment, now()])


def all_ratings(con: duckdb.DuckDBPyConnection, cycle: str,
                subjects: Iterable[str] | None = None) -> dict[str, dict[str, list[tuple[str, str, float, str]]]]:
    """subject → kind → [(rater, competency, score, comment)] of a cycle (of some people)."""
    where, params = "cycle = ?", [cycle]
    if subjects is not None:
        where, params = where + " AND list_contains(?, subject)", [cycle, list(subjects)]
    out: dict[str, dict[str, list]] = {}
    for subject, kind, rater, comp, score, comment in con.execute(
            f"SELECT subject, kind, rater, competency, score, comment FROM review_rating WHERE {where} "
            "ORDER BY subject, kind, competency, rater", params).fetchall():
        out.setdefault(subject, {}).setdefault(kind, []).append((rater, comp, score, comment))
    return out


def rated_by(con: duckdb.DuckDBPyConnection, cycle: str, subject: str, rater: str) -> dict[str, dict[str, float]]:
    """kind → competency → score: what one rater gave one person (shown to that rater alone)."""
    out: dict[str, dict[str, float]] = {}
    for kind, comp, score in con.execute(
            "SELECT kind, competency, score FROM review_rating WHERE cycle = ? AND subject = ? AND rater = ?",
            [cycle, subject, rater]).fetchall():
        out.setdefault(kind, {})[comp] = score
    return out


def calibrate(con: duckdb.DuckDBPyConnection, cycle: str, subject: str, grade: str | None, potential: str | None,
              reason: str, by: str) -> None:
    con.execute("INSERT OR REPLACE INTO review_calibration VALUES (?, ?, ?, ?, ?, ?, ?)",
                [cycle, subject, grade, potential, reason, by, now()])


def calibrations(con: duckdb.DuckDBPyConnection, cycle: str) -> dict[str, dict]:
    """subject → {grade, potential, reason, changed_by, changed_at}."""
    rows = con.execute("SELECT subject, grade, potential, reason, changed_by, changed_at FROM review_calibration "
                       "WHERE cycle = ?", [cycle]).fetchall()
    return {r[0]: dict(zip(("grade", "potential", "reason", "changed_by", "changed_at"), r[1:], strict=True))
            for r in rows}


SNAPSHOT_COLUMNS = ("subject", "score", "grade", "ratings", "overall", "overall_grade", "final_grade", "items",
                    "batches", "frozen_at")


def freeze(con: duckdb.DuckDBPyConnection, cycle: str, rows: Iterable[dict]) -> int:
    """Write closing's snapshots (never updated afterwards); how many."""
    at, n = now(), 0
    for r in rows:
        con.execute("INSERT INTO review_snapshot VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [cycle, r["subject"], r["score"], r["grade"], r["ratings"], r["overall"], r["overall_grade"],
                     r["final_grade"], json.dumps(r["items"], ensure_ascii=False, default=str),
                     json.dumps(r["batches"]), at])
        n += 1
    return n


def snapshots(con: duckdb.DuckDBPyConnection, cycle: str, subjects: Iterable[str] | None = None) -> dict[str, dict]:
    """subject → the frozen snapshot (items and batches as lists)."""
    where, params = "cycle = ?", [cycle]
    if subjects is not None:
        where, params = where + " AND list_contains(?, subject)", [cycle, list(subjects)]
    out = {}
    for row in con.execute(f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM review_snapshot WHERE {where}",
                           params).fetchall():
        r = dict(zip(SNAPSHOT_COLUMNS, row, strict=True))
        r["items"], r["batches"] = json.loads(r["items"]), json.loads(r["batches"])
        out[r["subject"]] = r
    return out


def feeding(con: duckdb.DuckDBPyConnection, metrics: Iterable[str], units: Iterable[str], period: str,
            datasets: Iterable[str] = ()) -> tuple[dict[str, set[tuple[str, int]]], dict[str, list[int]]]:
    """For many scorecards at once: org → {(metric, live batch)} of the facts at the period, and
    dataset → its live batches (a unit's batches are then its subtree's, for its card's metrics)."""
    metrics, units, labels = list(metrics), list(units), covered(period)
    by_org: dict[str, set[tuple[str, int]]] = {}
    if metrics and units:
        for table in ("actual_fact", "target_fact"):
            for org, metric, bid in con.execute(
                    f"SELECT DISTINCT f.org, f.metric, f.batch_id FROM {table} f "  # noqa: S608
                    "JOIN live_batch b ON b.id = f.batch_id WHERE list_contains(?, f.metric) "
                    "AND list_contains(?, f.org) AND list_contains(?, f.period)", [metrics, units, labels]).fetchall():
                by_org.setdefault(org, set()).add((metric, bid))
    return by_org, {name: [bid for bid, _ in live_batches(con, name)] for name in set(datasets)}


def covered(period: str) -> list[str]:
    """Every month, quarter and year label inside `period` (facts may be stored at any of them)."""
    p = parse_period(period)
    inside = {m.label for m in p.months()}
    for m in p.months():
        for grain in ("quarter", "year"):
            wider = m.to(grain)
            if p.contains(wider):
                inside.add(wider.label)
    return sorted(inside | {p.label})


def add_note(con: duckdb.DuckDBPyConnection, cycle: str, subject: str, note: str, by: str) -> int:
    return con.execute("INSERT INTO review_note (cycle, subject, note, written_by, written_at) VALUES (?, ?, ?, ?, ?) "
                       "RETURNING id", [cycle, subject, note, by, now()]).fetchall()[0][0]


def notes(con: duckdb.DuckDBPyConnection, cycle: str, subject: str) -> list[dict]:
    """A subject's meeting notes, the oldest first."""
    rows = con.execute("SELECT id, note, written_by, written_at FROM review_note WHERE cycle = ? AND subject = ? "
                       "ORDER BY id", [cycle, subject]).fetchall()
    return [dict(zip(("id", "note", "written_by", "written_at"), r, strict=True)) for r in rows]
