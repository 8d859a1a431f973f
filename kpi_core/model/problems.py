"""What an import reports: every problem as row, column, value, message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from kpi_core.model.messages import Msg
from kpi_core.model.text import visible


@dataclass(frozen=True)
class Problem:
    """One refused cell or row; `row` is the row number the spreadsheet shows (CSV: line)."""

    row: int | None
    column: str
    value: str
    message: str

    def __post_init__(self) -> None:
        # What a cell holds is shown as written, invisible and control characters escaped
        # (SPEC §5): a message never hides a difference or sends a terminal an escape code.
        for name in ("column", "value"):
            object.__setattr__(self, name, visible(getattr(self, name)))
        m = self.message
        if isinstance(m, Msg):  # the code stays; the text it quotes is escaped
            object.__setattr__(self, "message", Msg(m.code, **{k: visible(v) if type(v) is str else v
                                                              for k, v in m.params.items()}))
        else:
            object.__setattr__(self, "message", visible(m))

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        col = f", column '{self.column}'" if self.column else ""
        val = f", value '{self.value}'" if self.value != "" else ""
        return f"{where}{col}{val}: {self.message}"


@dataclass
class ImportResult:
    """The outcome of one import, in the shape `--format json` prints."""

    batch: int | None = None
    rows: int = 0
    loaded: int = 0
    rejected: int = 0
    errors: list[Problem] = field(default_factory=list)
    changes: dict = field(default_factory=dict)  # what the load changes (new/changed/unchanged facts)
    sheet: str | None = None  # the sheet that was read
    other_sheets: list[str] = field(default_factory=list)  # visible sheets with data that were not read
    facts: object = None  # the valid facts (a pyarrow Table: metric, org, period, value, source_row)

    @property
    def ok(self) -> bool:
        return self.batch is not None

    def as_dict(self) -> dict:
        out = {"batch": self.batch, "rows": self.rows, "loaded": self.loaded,
               "rejected": self.rejected, "errors": [asdict(e) for e in self.errors]}
        if self.other_sheets:
            out["sheet"], out["other_sheets"] = self.sheet, self.other_sheets
        return out
