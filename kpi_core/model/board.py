"""A board and its tiles: the model, its checks, and who may see or change it; no I/O."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.model.org import OrgTree
from kpi_core.model.text import visible as shown

TileType = Literal["kpi_card", "trend", "bar_by_org", "bullet", "heatmap", "gauge", "ranking", "table", "text"]


TILE_TYPES: tuple[str, ...] = TileType.__args__  # type: ignore[attr-defined]


Share = Literal["private", "org", "everyone"]


Scope = Literal["self", "children", "subtree"]


Grain = Literal["month", "quarter", "year"]


# How many metrics a tile type takes: (at least, at most).
METRIC_COUNT = {"kpi_card": (1, 1), "trend": (1, 4), "bar_by_org": (1, 3), "bullet": (1, 8), "heatmap": (1, 40),
                "gauge": (1, 1), "ranking": (1, 1), "table": (1, 40), "text": (0, 0)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TilePlace(_Strict):
    row: int = Field(default=0, ge=0, le=99)
    order: int = Field(default=0, ge=0, le=99)
    width: int = Field(default=6, ge=1, le=12)   # of 12 grid columns
    height: int = Field(default=1, ge=1, le=4)   # in rows of about 320 px


class Tile(_Strict):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:8], pattern=r"^[A-Za-z0-9_-]{1,32}$")
    type: TileType
    title: str | None = Field(default=None, max_length=120)
    metrics: list[str] = []
    org: str | None = None            # the tile's own unit instead of the board's
    scope: Scope | None = None        # default by type: bar/heatmap/ranking → children, others → self
    grain: Grain | None = None        # the tile's own grain instead of the board's
    periods: int = Field(default=12, ge=1, le=60)  # trend: how many periods back
    top: int = Field(default=5, ge=1, le=50)       # ranking: top/bottom N
    ascending: bool = False                        # ranking: bottom N instead of top N
    text: str | None = Field(default=None, max_length=4000)  # text note (shown as text, never HTML)
    place: TilePlace = TilePlace()

    @model_validator(mode="after")
    def _metric_count(self) -> Tile:
        lo, hi = METRIC_COUNT[self.type]
        if not lo <= len(self.metrics) <= hi:
            want = "no metrics" if hi == 0 else (f"{lo} metric" if lo == hi else f"{lo} to {hi} metrics")
            raise ValueError(f"a {self.type} tile takes {want}, not {len(self.metrics)}")
        if self.type == "text" and not (self.text or "").strip():
            raise ValueError("a text tile needs its text")
        return self

    def effective_scope(self) -> Scope:
        return self.scope or ("children" if self.type in ("bar_by_org", "heatmap", "ranking") else "self")


class Filters(_Strict):
    org: str | None = None            # None: the top of the tree
    period: str | None = None         # None: the last full month (or the grain's period containing it)
    grain: Grain = "month"


class Board(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = Field(min_length=1, max_length=120)
    owner: str = "admin"
    share: Share = "private"
    share_org: str | None = None      # for share: org — the unit whose subtree may see it
    refresh_seconds: int | None = Field(default=None, ge=10, le=86400)
    filters: Filters = Filters()
    tiles: list[Tile] = []

    @model_validator(mode="after")
    def _shape(self) -> Board:
        if self.share == "org" and not self.share_org:
            raise ValueError("share: org needs share_org (the unit whose subtree sees the board)")
        ids = [t.id for t in self.tiles]
        if len(set(ids)) != len(ids):
            raise ValueError("two tiles have the same id")
        return self

    def ordered_tiles(self) -> list[Tile]:
        return sorted(self.tiles, key=lambda t: (t.place.row, t.place.order))

    def definition(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True, exclude={"tiles"}) | {
            "tiles": [t.model_dump(mode="json", exclude_defaults=True) | {"id": t.id, "type": t.type}
                      for t in self.ordered_tiles()]}


def _messages(prefix: str, err: ValidationError) -> list[str]:
    """Each problem with the path of the bad field, as boards[0].tiles[2].metrics."""
    out = []
    for e in err.errors():
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]
                                if not str(p).startswith(("function-", "literal[")))
        msg = e["msg"].replace("Value error, ", "")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(f"{path}: {msg}")
    return list(dict.fromkeys(out))


def no_unit(tree: OrgTree, code: str) -> str:
    """Why a code names no unit, with the code it differs from only by width or case, if one."""
    near = tree.find(code)
    hint = f" (did you mean '{near[0]}'? codes are written exactly in a board)" if len(near) == 1 else ""
    return f"no org unit '{shown(code)}'{hint}"


def parse(raw: dict, prefix: str = "") -> Board:
    try:
        return Board.model_validate(raw)
    except ValidationError as err:
        raise ValidationFailed(f"{len(err.errors())} problem(s) in the board", _messages(prefix, err)) from None


def can_see(board: Board, actor: Actor, tree: OrgTree) -> bool:
    """The owner, admins, everyone for shared boards; for a board shared with a unit, its members
    (the unit's subtree) and those who may read the unit."""
    if actor.is_admin or board.owner == actor.name or board.share == "everyone":
        return True
    if board.share == "org" and board.share_org in tree:
        member = any(o in tree and board.share_org in tree.unit(o).path for o in actor.orgs)
        return member or access.can(actor, tree, "read", board.share_org)
    return False


def can_edit(board: Board, actor: Actor) -> bool:
    return actor.is_admin or (board.owner == actor.name and actor.reach("boards") is not None)


def new_tile(kind: str, metrics: list[str], **kw) -> Tile:
    if kind not in TILE_TYPES:
        raise KpiError(f"no tile type '{kind}' (types: {', '.join(TILE_TYPES)})")
    return Tile(type=kind, metrics=metrics, **kw)
