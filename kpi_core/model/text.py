"""User-written text: codes folded once for comparison, and shown with invisible characters escaped.

SPEC §5: codes are compared after Unicode NFKC folding, trimming and removing invisible
characters, and a code that would collide with another after that folding, or that differs from
it only by letter case, is refused when it is created. Messages show invisible or control
characters escaped (`\\u200b`), never raw, so a cell cannot hide a difference or drive the
terminal that prints it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Letters that render as nothing yet are not format characters: Hangul fillers, the braille
# blank, the combining grapheme joiner, Mongolian vowel separator, the variation selectors.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e") | frozenset(
    chr(c) for c in range(0xFE00, 0xFE10))
# Categories that show nothing or act on the text around them: controls, format characters
# (zero-width space and joiners, bidi overrides, the BOM), line/paragraph separators,
# private use, surrogates and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


@lru_cache(maxsize=65536)
def is_invisible(ch: str) -> bool:
    """A character a reader cannot see (tab and newline included)."""
    return ch in _BLANK_LETTERS or unicodedata.category(ch) in _HIDDEN_CATEGORIES


def is_control(ch: str) -> bool:
    """A C0/C1 control character (tab, newline, ESC, DEL, U+009B …)."""
    return unicodedata.category(ch) == "Cc"


def fold(text: object) -> str:
    """A code as it is compared and stored: NFKC (full width → ASCII), invisible characters
    removed, surrounding spaces trimmed. Letter case is kept (see key)."""
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)  # a code typed as 1001 comes back from Excel as 1001.0
    raw = unicodedata.normalize("NFKC", str(text))
    return "".join(ch for ch in raw if not _drop(ch)).strip()


def _drop(ch: str) -> bool:
    # Spaces and tabs are kept for strip() to trim; everything else invisible goes.
    return is_invisible(ch) and ch not in " \t\n\r"


def key(text: object) -> str:
    """The identity of a code: its folded form without letter case (D1-T1 ≡ ｄ１－ｔ１ ≡ D1\u200b-T1)."""
    return fold(text).casefold()


def visible(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every invisible or control character written as an escape (`\\u200b`,
    `\\x1b`), so a message shows exactly what a cell holds and cannot drive a terminal."""
    s = "" if text is None else str(text)
    if s.isascii() and s.isprintable():
        return s
    return "".join(_escape(ch) if is_invisible(ch) and not (keep_newlines and ch == "\n") else ch for ch in s)


def _escape(ch: str) -> str:
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    return f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def collisions(new: Iterable[str], existing: Iterable[str]) -> dict[str, str]:
    """{new code: the code it collides with} for each new code that equals another code, new
    or existing, under `key` without being the same text (an update of a code keeps its text)."""
    seen: dict[str, str] = {}
    for code in existing:
        seen.setdefault(key(code), code)
    out: dict[str, str] = {}
    for code in new:
        k = key(code)
        other = seen.get(k)
        if other is not None and other != code:
            out[code] = other
        else:
            seen[k] = code
    return out
