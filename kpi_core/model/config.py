"""Settings as data: where the warehouse lives, import limits, lock waits."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
SQL_DIR = PROJECT_ROOT / "sql"
MB = 1024 * 1024


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Limits:
    """What an import accepts before it is refused unread."""

    max_file_bytes: int = 200 * MB
    max_rows: int = 5_000_000
    # Unzipped size of an xlsx is checked before parsing, against zip bombs.
    max_unzipped_bytes: int = 2048 * MB
    # The grid a sheet's cells span (first to last row × column): readers build it whole, at
    # 32 bytes a cell, so two cells at A1 and XFD1048576 would ask for 550 GB.
    max_cells: int = 50_000_000

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from KPI_MAX_FILE_MB, KPI_MAX_ROWS, KPI_MAX_UNZIPPED_MB and KPI_MAX_CELLS."""
        return cls(
            max_file_bytes=int(_env_float("KPI_MAX_FILE_MB", 200) * MB),
            max_rows=int(_env_float("KPI_MAX_ROWS", 5_000_000)),
            max_unzipped_bytes=int(_env_float("KPI_MAX_UNZIPPED_MB", 2048) * MB),
            max_cells=int(_env_float("KPI_MAX_CELLS", 50_000_000)),
        )


def warehouse_path() -> Path:
    """The warehouse file: $KPI_WAREHOUSE or data/warehouse.duckdb."""
    return Path(os.environ.get("KPI_WAREHOUSE") or DEFAULT_WAREHOUSE)


def lock_timeout() -> float:
    """Seconds a connection waits for another process's lock on the warehouse file."""
    return _env_float("KPI_LOCK_TIMEOUT", 60.0)


def session_hours() -> float:
    """How long a browser stays signed in to the app: $KPI_SESSION_HOURS, default 12."""
    return _env_float("KPI_SESSION_HOURS", 12.0)


def max_query_cells() -> int:
    """The most metric × unit × period cells one query may ask for: $KPI_MAX_CELLS_QUERY, default
    250,000 (a year of months for 20 metrics over 1,000 units). A bigger request is refused at
    once with its count, never after exhausting memory."""
    return int(_env_float("KPI_MAX_CELLS_QUERY", 250_000))


def today() -> dt.date:
    """The product's today: $KPI_TODAY pins it (demos, tests), else the calendar's."""
    pinned = os.environ.get("KPI_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def jobs_enabled() -> bool:
    """Whether the app starts the scheduler: $KPI_JOBS (default on; `off` for a process that must
    not run jobs, such as a test's app or a second read-only server)."""
    return os.environ.get("KPI_JOBS", "on").lower() not in ("off", "0", "false", "no")


CJK_FONTS = (  # (file, face in a collection): Debian's fonts-noto-cjk, Simplified Chinese face first
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
)


def cjk_font() -> tuple[Path, int] | None:
    """The font PDFs write Chinese with: $KPI_CJK_FONT (a .ttf/.otf, or FILE.ttc:FACE), else Noto
    Sans CJK where Debian installs it; None when there is none (a PDF is then refused in words)."""
    wanted = os.environ.get("KPI_CJK_FONT")
    if wanted:
        file, _, face = wanted.rpartition(":") if wanted.rsplit(":", 1)[-1].isdigit() else (wanted, "", "0")
        return (Path(file), int(face)) if Path(file).exists() else None
    for file, face in CJK_FONTS:
        if Path(file).exists():
            return Path(file), face
    return None
