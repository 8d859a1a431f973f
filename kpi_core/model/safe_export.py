"""Cells for exported spreadsheets: text a spreadsheet app would run as a formula is made plain text.

The OWASP CSV-injection rule: a text cell starting with =, +, -, @, tab or carriage return gets a
leading apostrophe, so Excel, LibreOffice and Numbers show it as text instead of evaluating it
(`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`, `@SUM(…)`). Every Excel or CSV export that writes text
a user typed (names, titles, uploaded cells) passes it through `neutralise`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Text that is just a signed number (-5, +1.5, -2e3) cannot run anything; it stays as written so
# that a CSV's negative numbers do not turn into text. '-2+3' is no plain number and is escaped.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: object) -> object:
    """The value, with a leading ' when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value[:1] in TRIGGERS and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_row(values: Iterable[object]) -> list[object]:
    """Each value of a row through `neutralise`."""
    return [neutralise(v) for v in values]
