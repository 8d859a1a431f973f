"""Reading a number cell the way people type them: 1,234.5 · 12.3% · １２３ · (1,200) · 12万."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime

_MULTIPLIERS = {"万": 1e4, "亿": 1e8, "%": 0.01, "‰": 0.001}
_CURRENCY = "¥$€£元"
# Placeholders people type for "nothing": refused with a hint rather than read as 0 or blank.
_NO_VALUE = {"-", "--", "—", "——", "/", "N/A", "NA", "#N/A", "NULL", "NONE", "无", "空", "暂无", "缺"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(E[+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # 1,234,567.5: commas only between thousands


def parse_number(value: object) -> float | None:
    """The number in a cell, None for an empty cell; ValueError with the reason otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    if isinstance(value, int | float):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            raise ValueError(f"'{value}' is not a finite number")
        return v
    if isinstance(value, datetime | date):
        raise ValueError(f"'{value}' is a date, not a number")
    return _parse_text(str(value))


def _parse_text(raw: str) -> float | None:
    text = unicodedata.normalize("NFKC", raw).replace("\u2212", "-")
    text = re.sub(r"[\s\u00a0]+", "", text).upper()
    if not text:
        return None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = text.strip(_CURRENCY)
    if text[:1] in "+-" and text[1:2] in _CURRENCY:
        text = text[0] + text[2:]
    factor = 1.0
    while text and text[-1] in _MULTIPLIERS:
        factor *= _MULTIPLIERS[text[-1]]
        text = text[:-1]
    if "," in text:
        # '1,5' may mean 1.5 (decimal comma) or 15: refuse rather than guess.
        if not _GROUPED.match(text):
            raise ValueError(f"'{raw}' is not a number (commas may only separate thousands, as in 1,234.5)")
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        if text in _NO_VALUE:
            raise ValueError(f"'{raw}' is not a number; leave the cell empty when there is no value")
        raise ValueError(f"'{raw}' is not a number")
    v = float(text)
    if factor != 1.0:
        # Round away binary noise from the scaling (12.3% -> 0.123, not 0.12300000000000001);
        # an unscaled number keeps every digit it was written with.
        v = float(f"{v * factor:.15g}")
    return -v if negative else v
