"""Warehouse-wide settings, as data: each has a type, a default, a check and a description.

Read with `get`/`all_settings`; `put` validates, writes in a transaction and records the change
in the audit log with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kpi_core.model.access import acting
from kpi_core.model.errors import KpiError, NotFound
from kpi_core.store import audit
from kpi_core.store.warehouse import Warehouse


def _month(v: str) -> int:
    n = int(v)
    if not 1 <= n <= 12:
        raise ValueError("must be a month 1-12")
    return n


def _fraction(v: str) -> float:
    x = float(v)
    if not 0 <= x <= 10:
        raise ValueError("must be a fraction such as 0.9 (90 %)")
    return x


def _bands(v: str) -> tuple[tuple[str, float], ...]:
    """'S:110,A:100,B:90,C:75' — grade names with the lowest score that earns them."""
    out = []
    for part in v.split(","):
        name, sep, low = part.strip().partition(":")
        if not sep or not name.strip():
            raise ValueError(f"'{part.strip()}' is not NAME:MIN_SCORE")
        out.append((name.strip(), float(low)))
    if len({n for n, _ in out}) != len(out):
        raise ValueError("a grade is named twice")
    return tuple(sorted(out, key=lambda b: -b[1]))


@dataclass(frozen=True)
class Setting:
    parse: Callable[[str], object]
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    "fiscal_year_start": Setting(_month, "1", "first month of the fiscal year (1 = January); a fiscal year is "
                                              "named by the calendar year it ends in"),
    "default_green": Setting(_fraction, "1.0", "attainment from which a metric without its own thresholds is green"),
    "default_amber": Setting(_fraction, "0.9", "attainment from which a metric without its own thresholds is amber"),
    "grade_bands": Setting(_bands, "S:110,A:100,B:90,C:75", "scorecard grades: NAME:MIN_SCORE, best first; "
                                                             "below the last is D"),
    "lowest_grade": Setting(str, "D", "the grade below every band"),
}


def _spec(key: str) -> Setting:
    if key not in SETTINGS:
        raise NotFound(f"no setting '{key}' (settings: {', '.join(SETTINGS)})")
    return SETTINGS[key]


def raw(con, key: str) -> str:
    rows = con.execute("SELECT value FROM setting WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else _spec(key).default


def get(wh: Warehouse, key: str):
    """The setting's typed value."""
    with wh.connect() as con:
        return _spec(key).parse(raw(con, key))


def all_settings(wh: Warehouse) -> dict[str, str]:
    with wh.connect() as con:
        return {k: raw(con, k) for k in SETTINGS}


def put(wh: Warehouse, key: str, value: str, *, user: str = "admin", reason: str | None = None) -> object:
    """Validate and store a setting (admins only); the typed value. Thresholds are checked as a pair."""
    user = acting(user, "settings")
    spec = _spec(key)
    text = str(value).strip()
    try:
        typed = spec.parse(text)
    except ValueError as exc:
        raise KpiError(f"setting {key} = '{value}': {exc}") from None
    with wh.transaction() as con:
        before = raw(con, key)
        if key in ("default_green", "default_amber"):
            green = typed if key == "default_green" else float(raw(con, "default_green"))
            amber = typed if key == "default_amber" else float(raw(con, "default_amber"))
            if amber > green:
                raise KpiError(f"default_amber {amber:g} must not be above default_green {green:g}")
        con.execute("INSERT OR REPLACE INTO setting VALUES (?, ?)", [key, text])
        audit.record(con, user, "set", "setting", key, before=before, after=text, reason=reason)
    return typed
