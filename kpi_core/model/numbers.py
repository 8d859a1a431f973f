"""Reading a number cell the way people type them: 1,234.5 · 12.3% · １２３ · (1,200) · 12万.

A cell is read as exactly the number its author sees, or refused saying why (SPEC §5): a
superscript, a digit of another script, a sign inside accounting brackets, an invisible
character, an infinity or a number past what can be stored exactly is an error, never a guess.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from kpi_core.model.messages import Msg
from kpi_core.model.text import visible

_MULTIPLIERS = {"万": 1e4, "亿": 1e8, "%": 0.01, "‰": 0.001}
_PERCENT = {"%", "‰"}
_CURRENCY = "¥$€£元"
# Placeholders people type for "nothing": refused with a hint rather than read as 0 or blank.
_NO_VALUE = {"-", "--", "—", "——", "/", "N/A", "NA", "#N/A", "NULL", "NONE", "无", "空", "暂无", "缺"}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:E[+-]?[0-9]+)?", re.ASCII)
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", re.ASCII)  # commas only between thousands
_SPACE_GROUPED = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?:\.[0-9]*)?", re.ASCII)  # 1 234 567
# NFKC turns these into what they look like: full-width forms (１２３, （）, ％, ￥), and spaces.
_WIDE = re.compile(r"[\uff01-\uff5e\uffe0-\uffe6\u3000\u00a0\u2000-\u200a\u202f\u205f]")
LIMIT = 1e18  # past this no KPI value is meant, and sums of such values could overflow to infinity
EXACT_DIGITS = 15  # what a double (and Excel) keeps of an integer exactly


@dataclass(frozen=True)
class Reading:
    """A number cell read: its value (None for an empty cell), and what its text said about it."""

    value: float | None
    percent: bool = False  # written as a share (12%, 5‰): only a metric measured in % takes one
    scaled: bool = False   # carries its own scale (%, ‰, 万, 亿): a 万元 header does not apply again


class ShownAsPercent(float):
    """A number cell whose format shows it as a percentage (0.12 shown as 12%)."""


def parse_number(value: object) -> float | None:
    """The number in a cell, None for an empty cell; ValueError with the reason otherwise."""
    return read_number(value).value


def read_number(value: object) -> Reading:
    """parse_number, keeping whether the cell was written as a percentage or with its own scale."""
    if value is None:
        return Reading(None)
    if isinstance(value, bool):
        raise ValueError(Msg("model_number_not_number", value=f"{value}"))
    if isinstance(value, int | float):
        v = float(value)
        if math.isnan(v):
            return Reading(None)
        shown = isinstance(value, ShownAsPercent)
        return Reading(_bounded(v, value), percent=shown, scaled=shown)
    if isinstance(value, datetime | date):
        raise ValueError(Msg("model_number_is_date", value=f"{value}"))
    return _parse_text(str(value))


def _bounded(v: float, shown: object) -> float:
    if math.isinf(v):
        raise ValueError(Msg("model_number_not_finite", value=visible(shown)))
    if abs(v) > LIMIT:
        raise ValueError(Msg("model_number_too_large", value=visible(shown)))
    return v + 0.0  # -0 is 0


def _odd_character(raw: str, cell: str) -> Msg | None:
    """Why a character of the cell (shown as `cell`) cannot be part of a number, or None.

    Full-width digits and signs are what they look like; a superscript (10²), a circled or
    fraction digit, a digit of another script or an invisible character is not, and NFKC would
    quietly turn some of them into plain digits."""
    for ch in raw:
        if ch.isascii() and (ch.isprintable() or ch in "\t\n\r"):
            continue
        if _WIDE.match(ch) or ch in "\u2212¥€£元万亿‰":
            continue
        name = unicodedata.name(ch, f"U+{ord(ch):04X}")
        shown = visible(ch)
        if unicodedata.category(ch) in ("Cf", "Cc", "Zl", "Zp") or shown != ch:
            return Msg("model_number_invisible_character", value=cell, char=shown, name=name)
        if unicodedata.normalize("NFKC", ch) != ch or unicodedata.category(ch) in ("Nd", "No", "Nl"):
            return Msg("model_number_not_plain_digit", value=cell, char=ch, name=name)
    return None


def _parse_text(raw: str) -> Reading:
    shown = visible(raw)
    odd = _odd_character(raw, shown)
    text = unicodedata.normalize("NFKC", raw).replace("\u2212", "-").upper().strip()
    if not text:
        return Reading(None)
    if odd:
        raise ValueError(odd)
    text = re.sub(r"\s+", " ", text)
    spaced = _badly_spaced(text)
    text = text.replace(" ", "")  # thousands, and spaces next to a sign, currency or unit: '- 5', '12 %'
    negative = False
    body = text.lstrip(_CURRENCY)
    if body.startswith("(") and body.endswith(")"):
        negative, text = True, body[1:-1]
        if text.lstrip(_CURRENCY)[:1] in ("+", "-"):
            # (−5) could be −5 or 5: accounting brackets already are the sign.
            raise ValueError(Msg("model_number_sign_in_brackets", value=shown))
    text = text.strip(_CURRENCY)
    if text[:1] in "+-" and text[1:2] in _CURRENCY:
        text = text[0] + text[2:]
    factor, suffix = 1.0, ""
    if text and text[-1] in _MULTIPLIERS:
        suffix, text = text[-1], text[:-1]
        factor = _MULTIPLIERS[suffix]
        if text and text[-1] in _MULTIPLIERS:
            raise ValueError(Msg("model_number_two_units", value=shown, units=f"{text[-1]}{suffix}"))
    if "," in text:
        # '1,5' may mean 1.5 (decimal comma) or 15: refuse rather than guess.
        if not _GROUPED.fullmatch(text):
            raise ValueError(Msg("model_number_bad_commas", value=shown))
        text = text.replace(",", "")
    if not _NUMBER.fullmatch(text):
        if (text + suffix) in _NO_VALUE or raw.strip().upper() in _NO_VALUE:
            raise ValueError(Msg("model_number_placeholder", value=shown))
        raise ValueError(Msg("model_number_not_number", value=shown))
    if spaced:
        raise ValueError(Msg("model_number_spaced", value=shown))
    digits = text.lstrip("+-").split("E")[0].split(".")[0].lstrip("0")
    if len(digits) > EXACT_DIGITS:
        raise ValueError(Msg("model_number_too_many_digits", value=shown, digits=len(digits), exact=EXACT_DIGITS))
    v = float(text)
    if factor != 1.0:
        # Round away binary noise from the scaling (12.3% -> 0.123, not 0.12300000000000001);
        # an unscaled number keeps every digit it was written with.
        v = float(f"{v * factor:.15g}")
    v = _bounded(-v if negative else v, raw)
    return Reading(v, percent=suffix in _PERCENT, scaled=bool(suffix))


def _badly_spaced(text: str) -> bool:
    """Spaces between digits that are not thousands separators: '12 34' is two numbers or a
    typo, not a number anyone can be sure of; '1 234 567' is one."""
    return any(" " in m[0] and not _SPACE_GROUPED.fullmatch(m[0]) for m in re.finditer(r"[0-9][0-9 .]*[0-9]", text))
