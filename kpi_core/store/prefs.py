"""Per-user preferences, such as the UI language, remembered across sessions."""

from __future__ import annotations

from kpi_core.store.warehouse import Warehouse

KEYS = {"lang": ("zh", "en")}


def get(wh: Warehouse, user: str, key: str) -> str | None:
    with wh.connect() as con:
        rows = con.execute("SELECT value FROM user_pref WHERE user_name = ? AND key = ?", [user, key]).fetchall()
    return rows[0][0] if rows else None


def put(wh: Warehouse, user: str, key: str, value: str) -> None:
    """Store a preference; values outside the known ones are refused."""
    allowed = KEYS.get(key)
    if allowed is None or value not in allowed:
        raise ValueError(f"preference {key}={value!r} is not one of {allowed}")
    with wh.transaction(bump=False) as con:
        con.execute("INSERT OR REPLACE INTO user_pref VALUES (?, ?, ?)", [user, key, value])
