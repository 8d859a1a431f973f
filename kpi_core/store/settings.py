"""Warehouse-wide settings, as data: each has a type, a default, a check and a description.

Read with `get`/`all_settings`; `put` (one) and `put_many` (several, together) validate, write
in a transaction and record each change in the audit log with its reason, which is required.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kpi_core.model import reasons, review
from kpi_core.model.access import acting
from kpi_core.model.errors import KpiError, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.store import audit
from kpi_core.store.warehouse import Warehouse


def _month(v: str) -> int:
    n = int(v)
    if not 1 <= n <= 12:
        raise ValueError(Msg("store_not_a_month"))
    return n


def _fraction(v: str) -> float:
    x = float(v)
    if not 0 <= x <= 10:
        raise ValueError(Msg("store_not_a_fraction"))
    return x


def _bands(v: str) -> tuple[tuple[str, float], ...]:
    """'S:110,A:100,B:90,C:75' — grade names with the lowest score that earns them."""
    out = []
    for part in v.split(","):
        name, sep, low = part.strip().partition(":")
        if not sep or not name.strip():
            raise ValueError(Msg("store_not_a_band", part=part.strip()))
        out.append((name.strip(), float(low)))
    if len({n for n, _ in out}) != len(out):
        raise ValueError(Msg("store_grade_twice"))
    return tuple(sorted(out, key=lambda b: -b[1]))


def _min_raters(v: str) -> int:
    n = int(v)
    if n < review.MIN_ANONYMOUS:
        raise ValueError(Msg("review_min_raters", n=n, floor=review.MIN_ANONYMOUS))
    return n


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
    # Review cycles (SPEC §10): a cycle keeps these as they were when it was opened.
    "review_competencies": Setting(review.parse_competencies, review.competencies_text(review.DEFAULT_COMPETENCIES),
                                   "competencies rated in a review: CODE=中文名/English name, ..."),
    "review_points": Setting(review.parse_pairs_numeric, "1:60,2:75,3:90,4:100,5:110",
                             "the rating scale: RATING:POINTS on the KPI score's scale, lowest first"),
    "review_weights": Setting(review.parse_pairs, "kpi:70,ratings:30", "overall result: kpi:W,ratings:W"),
    "review_rater_weights": Setting(review.parse_pairs, "manager:60,peer:20,report:10,self:10",
                                    "the ratings' part: each kind of rater's weight"),
    "review_min_raters": Setting(_min_raters, "3", "fewest peer or report raters whose average is shown (3 or more)"),
    "review_incentives": Setting(review.parse_pairs, "S:1.5,A:1.2,B:1.0,C:0.8,D:0.5",
                                 "incentive coefficient of each final grade, for payroll: GRADE:COEFFICIENT"),
    "review_guideline": Setting(review.parse_guideline, "S<=10,A<=20,C+D>=10",
                                "calibration guideline: GRADES<=PERCENT or GRADES>=PERCENT, grades joined by +"),
}


def _spec(key: str) -> Setting:
    if key not in SETTINGS:
        raise NotFound(Msg("store_no_setting", key=key, keys=list(SETTINGS)))
    return SETTINGS[key]


def raw(con, key: str) -> str:
    rows = con.execute("SELECT value FROM setting WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else _spec(key).default


def get(wh: Warehouse, key: str):
    """The setting's typed value."""
    with wh.read() as con:
        return _spec(key).parse(raw(con, key))


def all_settings(wh: Warehouse) -> dict[str, str]:
    with wh.read() as con:
        return {k: raw(con, k) for k in SETTINGS}


THRESHOLDS = ("default_green", "default_amber")


def _typed(key: str, value: object) -> tuple[str, object]:
    """(the text stored, the typed value) of a setting, or KpiError saying what is wrong."""
    spec = _spec(key)
    text = str(value).strip()
    try:
        return text, spec.parse(text)
    except (ValueError, ValidationFailed) as exc:  # ours say why as a Msg; Python's own (int('x')) in its words
        why = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Msg) else str(exc)
        raise KpiError(Msg("store_bad_setting", key=key, value=f"{value}", why=why)) from None


def check_thresholds(green: float, amber: float) -> None:
    """The default thresholds as a pair: amber may not be above green."""
    if float(amber) > float(green):
        raise KpiError(Msg("store_thresholds_order", amber=f"{float(amber):g}", green=f"{float(green):g}"))


def put(wh: Warehouse, key: str, value: str, *, user: str = "admin", reason: str | None = None) -> object:
    """Validate and store a setting (admins only, with a reason); the typed value. Thresholds are
    checked as a pair."""
    return _write(wh, {key: value}, user=user, reason=reason, unchanged_too=True)[key]


def put_many(wh: Warehouse, values: dict[str, str], *, user: str = "admin",
             reason: str | None = None) -> dict[str, object]:
    """Validate every setting given and store those whose value differs from the stored one, together,
    in one transaction (admins only, with a reason); {key: typed value} of those changed.

    The thresholds are checked as the pair they will be once all are stored, so raising (or
    lowering) both at once never depends on the order in which they are written."""
    return _write(wh, values, user=user, reason=reason, unchanged_too=False)


def _write(wh: Warehouse, values: dict[str, str], *, user: str, reason: str | None,
           unchanged_too: bool) -> dict[str, object]:
    user = acting(user, "settings")
    typed = {key: _typed(key, value) for key, value in values.items()}
    with wh.transaction() as con:
        before = {key: raw(con, key) for key in typed}
        if any(key in THRESHOLDS for key in typed):
            pair = {k: typed[k][1] if k in typed else float(raw(con, k)) for k in THRESHOLDS}
            check_thresholds(pair["default_green"], pair["default_amber"])
        reason = reasons.required_reason(reason, reasons.SETTINGS)
        written = {}
        for key, (text, value) in typed.items():
            if not unchanged_too and _typed(key, before[key])[1] == value:
                continue
            con.execute("INSERT OR REPLACE INTO setting VALUES (?, ?)", [key, text])
            audit.record(con, user, "set", "setting", key, before=before[key], after=text, reason=reason)
            written[key] = value
    return written
