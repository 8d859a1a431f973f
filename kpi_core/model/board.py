"""A board and its tiles: the model, its checks, and who may see or change it; no I/O."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.errors import KpiError, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree
from kpi_core.model.text import visible as shown
from kpi_core.model.validation import field_problem

TileType = Literal["kpi_card", "trend", "bar_by_org", "bullet", "heatmap", "gauge", "ranking", "table", "text",
                   "scorecard", "forecast"]


TILE_TYPES: tuple[str, ...] = TileType.__args__  # type: ignore[attr-defined]


Share = Literal["private", "org", "everyone"]


Scope = Literal["self", "children", "subtree"]


Grain = Literal["month", "quarter", "year"]


# How many metrics a tile type takes: (at least, at most).
METRIC_COUNT = {"kpi_card": (1, 1), "trend": (1, 4), "bar_by_org": (1, 3), "bullet": (1, 8), "heatmap": (1, 40),
                "gauge": (1, 1), "ranking": (1, 1), "table": (1, 40), "text": (0, 0),
                "scorecard": (0, 0),  # the unit's own scorecard: its metrics come from it
                "forecast": (1, 1)}   # one metric's period-end forecast (SPEC §9) at the tile's unit


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
            n = len(self.metrics)
            if hi == 0:
                raise ValueError(Msg("model_tile_takes_no_metrics", type=self.type, count=n))
            if lo == hi:
                raise ValueError(Msg("model_tile_takes_metric", type=self.type, lo=lo, count=n))
            raise ValueError(Msg("model_tile_takes_metrics", type=self.type, lo=lo, hi=hi, count=n))
        if self.type == "text" and not (self.text or "").strip():
            raise ValueError(Msg("model_text_tile_needs_text"))
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
            raise ValueError(Msg("model_board_share_org_needs_unit"))
        ids = [t.id for t in self.tiles]
        if len(set(ids)) != len(ids):
            raise ValueError(Msg("model_board_tile_ids_repeat"))
        return self

    def ordered_tiles(self) -> list[Tile]:
        return sorted(self.tiles, key=lambda t: (t.place.row, t.place.order))

    def definition(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True, exclude={"tiles"}) | {
            "tiles": [t.model_dump(mode="json", exclude_defaults=True) | {"id": t.id, "type": t.type}
                      for t in self.ordered_tiles()]}


def _problems(prefix: str, err: ValidationError) -> list[tuple[str, str]]:
    """Each problem as (the path of the bad field, as boards[0].tiles[2].metrics; what is wrong)."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for e in err.errors():
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]
                                if not str(p).startswith(("function-", "literal[")))
        problem = field_problem(e)
        out.setdefault((path, str(problem)), (path, problem))
    return list(out.values())


def _messages(prefix: str, err: ValidationError) -> list[str]:
    """Each problem with the path of the bad field, as boards[0].tiles[2].metrics."""
    return [Msg("model_field_problem", path=path, problem=problem) for path, problem in _problems(prefix, err)]


def no_unit(tree: OrgTree, code: str) -> str:
    """Why a code names no unit, with the code it differs from only by width or case, if one."""
    near = tree.find(code)
    if len(near) == 1:
        return Msg("model_no_org_unit_did_you_mean", unit=shown(code), near=near[0])
    return Msg("model_no_org_unit", unit=shown(code))


def parse(raw: dict, prefix: str = "") -> Board:
    try:
        return Board.model_validate(raw)
    except ValidationError as err:
        raise ValidationFailed(Msg("model_board_problems", count=len(err.errors())), _messages(prefix, err)) from None


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


def share_choices(actor: Actor) -> tuple[str, ...]:
    """How the actor may share a board: with everyone only when their reach is the whole tree."""
    return ("private", "org", "everyone") if actor.reach("boards") == "all" else ("private", "org")


# --- layout: tiles on a 12-column grid, each a pure function from board to board ------------------

GRID = 12                                     # grid columns in a row
WIDTHS: tuple[int, ...] = tuple(range(1, GRID + 1))
_WIDE = ("heatmap", "table", "text")          # tile types that want a whole row


def default_width(kind: str) -> int:
    """A new tile's width: a whole row for heat maps, tables and text, half a row for the rest."""
    return GRID if kind in _WIDE else GRID // 2


def new_tile(kind: str, metrics: list[str], **kw) -> Tile:
    """A tile of `kind` (its type's default width unless `place` is given); ValidationFailed
    naming each problem (a gauge takes one metric, a text tile needs its text, …)."""
    if kind not in TILE_TYPES:
        raise KpiError(Msg("model_no_tile_type", kind=kind, types=", ".join(TILE_TYPES)))
    kw.setdefault("place", {"width": default_width(kind)})
    try:
        return Tile(type=kind, metrics=metrics, **kw)
    except ValidationError as err:
        problems = [Msg("model_field_problem", path=path.lstrip("."), problem=problem) if path.lstrip(".") else problem
                    for path, problem in _problems("", err)]
        summary = problems[-1]
        for p in reversed(problems[:-1]):
            summary = Msg("model_problem_and_more", first=p, rest=summary)
        raise ValidationFailed(summary, problems) from None


def _tile(board: Board, tile_id: str) -> Tile:
    for tile in board.tiles:
        if tile.id == tile_id:
            return tile
    raise NotFound(Msg("model_no_tile", tile=shown(tile_id), board=board.code))


def _order(board: Board) -> list[str]:
    return [tl.id for tl in board.ordered_tiles()]


def relaid(board: Board, order: list[str]) -> Board:
    """The board's tiles placed in `order` (every tile id once): each keeps its width; a row takes
    tiles while they fit in 12 columns, then the next row starts."""
    ids = [tl.id for tl in board.tiles]
    if sorted(order) != sorted(ids):
        missing, extra = set(ids) - set(order), set(order) - set(ids)
        if missing:
            raise ValidationFailed(Msg("model_new_order_leaves_out", board=board.code,
                                       tiles=shown(", ".join(sorted(missing)))))
        if extra:
            raise ValidationFailed(Msg("model_new_order_names_unknown", board=board.code,
                                       tiles=shown(", ".join(sorted(extra)))))
        raise ValidationFailed(Msg("model_new_order_names_twice", board=board.code))
    by_id = {tl.id: tl for tl in board.tiles}
    placed, row, used = [], 0, 0
    for i, tid in enumerate(order):
        tile = by_id[tid]
        if used and used + tile.place.width > GRID:
            row, used = row + 1, 0
        placed.append(tile.model_dump(mode="json") | {"place": {**tile.place.model_dump(), "row": row, "order": i}})
        used += tile.place.width
    return parse(board.model_dump(mode="json") | {"tiles": placed})


def add_tile(board: Board, tile: Tile) -> Board:
    """The tile added after the others."""
    if tile.id in {tl.id for tl in board.tiles}:
        raise ValidationFailed(Msg("model_board_has_tile", board=board.code, tile=shown(tile.id)))
    return relaid(board.model_copy(update={"tiles": [*board.tiles, tile]}), [*_order(board), tile.id])


def move_tile(board: Board, tile_id: str, step: int) -> Board:
    """The tile `step` places later (earlier when negative) in reading order, kept on the board."""
    order = _order(board)
    i = order.index(_tile(board, tile_id).id)
    order.insert(max(0, min(len(order) - 1, i + step)), order.pop(i))
    return relaid(board, order)


def resize_tile(board: Board, tile_id: str, width: int) -> Board:
    """The tile `width` grid columns wide (1-12); the rows re-flow."""
    if isinstance(width, bool) or width not in WIDTHS:
        raise ValidationFailed(Msg("model_tile_width", lo=WIDTHS[0], hi=WIDTHS[-1], width=shown(width)))
    tile = _tile(board, tile_id)
    wider = tile.model_copy(update={"place": tile.place.model_copy(update={"width": int(width)})})
    tiles = [wider if tl.id == tile_id else tl for tl in board.tiles]
    return relaid(board.model_copy(update={"tiles": tiles}), _order(board))


def duplicate_tile(board: Board, tile_id: str) -> Board:
    """A copy of the tile, with its own id, right after it."""
    src = _tile(board, tile_id)
    taken = {tl.id for tl in board.tiles}
    copy = Tile.model_validate(src.model_dump(exclude={"id"}))
    while copy.id in taken:  # eight hex digits: practically never
        copy = Tile.model_validate(src.model_dump(exclude={"id"}))
    order = _order(board)
    order.insert(order.index(tile_id) + 1, copy.id)
    return relaid(board.model_copy(update={"tiles": [*board.tiles, copy]}), order)


def delete_tile(board: Board, tile_id: str) -> Board:
    """The board without the tile; the others close up."""
    _tile(board, tile_id)
    kept = board.model_copy(update={"tiles": [tl for tl in board.tiles if tl.id != tile_id]})
    return relaid(kept, _order(kept))


def distinct_titles(boards: list[Board]) -> dict[str, str]:
    """Each board's title for a list, told apart where titles repeat: the owner's name is added,
    and the code where the owner is the same too."""
    seen = Counter(b.title for b in boards)
    owned = Counter((b.title, b.owner) for b in boards)
    out = {}
    for b in boards:
        label = b.title
        if seen[b.title] > 1:
            label += f" · {b.owner}"
            if owned[(b.title, b.owner)] > 1:
                label += f" · {b.code}"
        out[b.code] = label
    return out
