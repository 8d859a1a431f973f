"""Numbers as people read them, per unit and language: ¥1.23亿 / ¥12.3M, 35.2%, 12.5 天.

Anything that is not a finite number shows as an em dash, so `None`, `NaN` and `inf` never
reach the screen.
"""

from __future__ import annotations

import math

DASH = "—"
_CURRENCY = {"CNY": "¥", "RMB": "¥", "元": "¥", "¥": "¥", "USD": "$", "$": "$", "EUR": "€", "€": "€"}
_SUFFIX = {  # unit -> (zh, en) words after the number
    "days": ("天", "days"), "day": ("天", "days"), "天": ("天", "days"),
    "hours": ("小时", "h"), "hour": ("小时", "h"), "小时": ("小时", "h"),
    "times": ("次", "×"), "次": ("次", "×"),
}
_PERCENT = {"%", "percent", "pct", "百分比"}
# Things counted: shown without decimals (a phased target of 896.33 people is 896).
_COUNTS = {"count", "people", "pcs", "人", "个", "件", "单", "家", "台", "项", "起"}


def finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _grouped(v: float, digits: int) -> str:
    return f"{v:,.{digits}f}"


def compact(v: float, lang: str = "zh") -> str:
    """A large number shortened: 1.23亿, 45.6万 (zh) or 1.23B, 45.6M, 7.8K (en)."""
    a = abs(v)
    if lang == "zh":
        for size, word in ((1e8, "亿"), (1e4, "万")):
            if a >= size:
                return f"{v / size:,.2f}{word}" if a < size * 100 else f"{v / size:,.1f}{word}"
    else:
        for size, word in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if a >= size:
                return f"{v / size:,.2f}{word}" if a < size * 100 else f"{v / size:,.1f}{word}"
    return _grouped(v, 0 if v == int(v) else 2)


def value(v: object, unit: str | None = None, lang: str = "zh") -> str:
    """A metric value in its unit."""
    if not finite(v):
        return DASH
    x = float(v)  # type: ignore[arg-type]
    u = (unit or "").strip()
    if u in _PERCENT:
        return f"{x * 100:,.1f}%"
    if u in _CURRENCY:
        sign = "-" if x < 0 else ""
        return f"{sign}{_CURRENCY[u]}{compact(abs(x), lang)}"
    if u in _SUFFIX:
        word = _SUFFIX[u][0 if lang == "zh" else 1]
        return f"{_grouped(x, 1)} {word}"
    if u == "score":
        return _grouped(x, 2)
    if u in _COUNTS:
        x = float(round(x))
        return compact(x, lang) if abs(x) >= (1e3 if lang == "en" else 1e4) else _grouped(x, 0)
    return compact(x, lang)


def percent(a: object, digits: int = 1) -> str:
    """A share (1.0 = 100 %)."""
    return f"{_unsigned_zero(float(a) * 100, digits)}%" if finite(a) else DASH  # type: ignore[arg-type]


def attainment(a: object, digits: int = 1) -> str:
    """An attainment as shown to people (SPEC §3): below 0 is shown as 0 % (the exact figure is in
    the status rule that explains the cell; the score is 0 there anyway)."""
    return percent(max(float(a), 0.0), digits) if finite(a) else DASH  # type: ignore[arg-type]


def _unsigned_zero(v: float, digits: int, sign: bool = False) -> str:
    """`v` with `digits` decimals, grouped; a value that rounds to zero is 0.0, never -0.0."""
    if round(v, digits) == 0:
        v = 0.0
    return f"{v:+,.{digits}f}" if sign and v != 0 else f"{v:,.{digits}f}"


def change(now: object, before: object, unit: str | None = None) -> str:
    """Change from `before` to `now`: points for percentages, else a relative change."""
    if not finite(now) or not finite(before):
        return DASH
    n, b = float(now), float(before)  # type: ignore[arg-type]
    if (unit or "").strip() in _PERCENT:
        return f"{_unsigned_zero((n - b) * 100, 1, sign=True)} pt"
    if b == 0:
        return DASH
    return f"{_unsigned_zero((n - b) / abs(b) * 100, 1, sign=True)}%"


def score(s: object) -> str:
    return f"{float(s):,.1f}" if finite(s) else DASH  # type: ignore[arg-type]


def is_count(unit: str | None) -> bool:
    """Whether a unit counts things (shown and typed without decimals)."""
    return (unit or "").strip() in _COUNTS


# --- chart axes: the numbers along a value axis, as a Vega-Lite label rule and the same rule here ---

_AXIS_STEPS = {"zh": ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")), "en": ((1e9, "B"), (1e6, "M"), (1e3, "K"))}
_MONEY_WORDS = {"¥": ("元", "CNY"), "$": ("美元", "USD"), "€": ("欧元", "EUR")}
_WORDS = {"days": ("天", "days"), "hours": ("小时", "hours"), "times": ("次", "times")}


def is_percent(unit: str | None) -> bool:
    """Whether a metric's values are fractions shown as percentages (0.985 is 98.5%)."""
    return (unit or "").strip() in _PERCENT


def is_money(unit: str | None) -> bool:
    """Whether a metric's values are an amount of money (any currency: they share one axis)."""
    return (unit or "").strip() in _CURRENCY


def axis_labels(unit: str | None, lang: str = "zh") -> dict:
    """Vega-Lite axis properties that write a value axis's numbers as the viewer reads them: 35%
    for a percentage (never a 0–1 axis); 3,000万, 1.5亿 in Chinese; 30K, 150M, 2B in English. Never
    d3's SI suffixes (`~s` writes 'G' for billions and 'm' for thousandths). `axis_number` is the
    same rule in Python."""
    if is_percent(unit):  # not the axis's `format`: Vega would round it to the tick step (98.5% as 99%)
        return {"labelExpr": "format(datum.value, '~%')"}
    expr = "format(datum.value, ',~g')"
    for size, word in reversed(_AXIS_STEPS["zh" if lang == "zh" else "en"]):
        expr = f"abs(datum.value) >= {size:.0f} ? format(datum.value / {size:.0f}, ',~g') + '{word}' : {expr}"
    return {"labelExpr": expr}


def _d3(text: str) -> str:
    """d3-format writes a minus as '−' (U+2212)."""
    return text.replace("-", "\u2212")


def axis_number(v: float, unit: str | None = None, lang: str = "zh") -> str:
    """What `axis_labels` puts at a tick of value `v` (for tests and for reading the rule)."""
    if is_percent(unit):  # '~%': six decimals, trailing zeros dropped
        return _d3(f"{v * 100:.6f}".rstrip("0").rstrip(".")) + "%"
    for size, word in _AXIS_STEPS["zh" if lang == "zh" else "en"]:
        if abs(v) >= size:
            return _d3(f"{v / size:,.6g}") + word
    return _d3(f"{v:,.6g}")  # ',~g': six significant digits, trailing zeros dropped


def unit_word(unit: str | None, lang: str = "zh") -> str:
    """The unit as an axis title says it: 元 / CNY, %, 天 / days; '' for a plain count or score."""
    u = (unit or "").strip()
    i = 0 if lang == "zh" else 1
    if u in _CURRENCY:
        return _MONEY_WORDS.get(_CURRENCY[u], ("", ""))[i]
    if u in _PERCENT:
        return "%"
    if u in _SUFFIX:
        return _WORDS[{"天": "days", "day": "days", "hour": "hours", "小时": "hours", "次": "times"}.get(u, u)][i]
    if u in ("count", "score", "pcs", "people", ""):
        return ""
    return u
