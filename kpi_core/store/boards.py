"""Self-service KPI boards: the model, storage per owner with sharing, and boards as code (YAML).

A board has a title, filters (org unit, period, grain) and tiles. A tile has a type, its metrics,
an optional scope/grain/org override, and a place on a 12-column grid (row, order, width,
height). Boards are stored in the warehouse as versions (every save is kept, with who and why),
shared as private, with an org unit's subtree, or with everyone.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kpi_core.model import access, yamldoc
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.errors import AccessDenied, KpiError, NotFound, ValidationFailed
from kpi_core.model.periods import parse_period
from kpi_core.model.text import visible as shown
from kpi_core.store import audit, dictionary
from kpi_core.store.org import OrgTree, load_tree
from kpi_core.store.warehouse import Warehouse, now

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


def check_references(wh: Warehouse, board: Board, prefix: str = "") -> list[str]:
    """Metrics, org units and periods the board names must exist."""
    metrics = dictionary.current(wh)
    with wh.connect() as con:
        tree = load_tree(con)
    problems = []
    for where, code in (("filters.org", board.filters.org), ("share_org", board.share_org)):
        if code and code not in tree:
            problems.append(f"{prefix}{where}: {_no_unit(tree, code)}")
    if board.filters.period:
        try:
            parse_period(board.filters.period)
        except ValueError as exc:
            problems.append(f"{prefix}filters.period: {exc}")
    for i, tile in enumerate(board.tiles):
        for j, code in enumerate(tile.metrics):
            if code not in metrics:
                problems.append(f"{prefix}tiles[{i}].metrics[{j}]: no metric '{code}'")
        if tile.org and tile.org not in tree:
            problems.append(f"{prefix}tiles[{i}].org: {_no_unit(tree, tile.org)}")
    return problems


def _no_unit(tree: OrgTree, code: str) -> str:
    """Why a code names no unit, with the code it differs from only by width or case, if one."""
    near = tree.find(code)
    hint = f" (did you mean '{near[0]}'? codes are written exactly in a board)" if len(near) == 1 else ""
    return f"no org unit '{shown(code)}'{hint}"


def parse(raw: dict, prefix: str = "") -> Board:
    try:
        return Board.model_validate(raw)
    except ValidationError as err:
        raise ValidationFailed(f"{len(err.errors())} problem(s) in the board", _messages(prefix, err)) from None


# --- storage -----------------------------------------------------------------------------------

def _check_may_save(con, board: Board, actor: Actor) -> None:
    """Owners edit their own boards, admins any; sharing reaches no further than the author does."""
    require(actor, "boards")
    rows = con.execute("SELECT definition, deleted FROM board_version WHERE code = ? ORDER BY version DESC "
                       "LIMIT 1", [board.code]).fetchall()
    if rows and not rows[0][1]:
        current = Board.model_validate(json.loads(rows[0][0]))
        if not can_edit(current, actor):
            raise AccessDenied(f"{actor.describe()} may not change board '{board.code}': it belongs to "
                               f"{current.owner}")
    if board.owner != actor.name and not actor.is_admin:
        raise AccessDenied(f"{actor.describe()} may not save a board owned by {board.owner}")
    if board.share == "everyone" and actor.reach("boards") != "all":
        raise AccessDenied(f"{actor.describe()} may share boards with their own units, not with everyone")
    if board.share == "org" and board.share_org:
        access.check(actor, load_tree(con), "boards", board.share_org)


def save(wh: Warehouse, board: Board, *, user: str | Actor = "admin", reason: str | None = None) -> int:
    """Store a new version of the board (checked first); its version number."""
    actor = as_actor(user)
    problems = check_references(wh, board)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in board '{board.code}'; nothing was saved", problems)
    with wh.transaction(bump=False) as con:
        _check_may_save(con, board, actor)
        prev = con.execute("SELECT max(version), arg_max(definition, version) FROM board_version WHERE code = ?",
                           [board.code]).fetchall()[0]
        version = (prev[0] or 0) + 1
        definition = json.dumps(board.definition(), ensure_ascii=False, sort_keys=True)
        if prev[1] is not None and json.loads(prev[1]) == json.loads(definition):
            return int(prev[0])  # unchanged: no new version
        con.execute("INSERT INTO board_version VALUES (?, ?, ?, ?, ?, ?, FALSE)",
                    [board.code, version, definition, actor.name, now(), reason])
        audit.record(con, actor.name, "save", "board", board.code,
                     before=json.loads(prev[1]) if prev[1] else None, after=board.definition(), reason=reason)
    return version


def get(wh: Warehouse, code: str) -> Board:
    with wh.connect() as con:
        rows = con.execute("SELECT definition, deleted FROM board_version WHERE code = ? ORDER BY version DESC "
                           "LIMIT 1", [code]).fetchall()
    if not rows or rows[0][1]:
        raise NotFound(f"no board '{code}'")
    return Board.model_validate(json.loads(rows[0][0]))


def delete(wh: Warehouse, code: str, *, user: str | Actor = "admin", reason: str | None = None) -> None:
    actor = as_actor(user)
    user = actor.name
    board = get(wh, code)
    if not can_edit(board, actor):
        raise AccessDenied(f"{actor.describe()} may not delete board '{code}': it belongs to {board.owner}")
    with wh.transaction(bump=False) as con:
        version = con.execute("SELECT max(version) FROM board_version WHERE code = ?", [code]).fetchall()[0][0]
        con.execute("INSERT INTO board_version VALUES (?, ?, ?, ?, ?, ?, TRUE)",
                    [code, version + 1, json.dumps(board.definition(), ensure_ascii=False), user, now(), reason])
        audit.record(con, user, "delete", "board", code, before=board.definition(), reason=reason)


def all_boards(wh: Warehouse) -> list[Board]:
    with wh.connect() as con:
        rows = con.execute("SELECT arg_max(definition, version), arg_max(deleted, version) FROM board_version "
                           "GROUP BY code ORDER BY code").fetchall()
    return [Board.model_validate(json.loads(d)) for d, deleted in rows if not deleted]


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


def open_for(wh: Warehouse, code: str, user: str | Actor = "admin") -> Board:
    """The board, if the user may see it; NotFound otherwise (the same answer as a missing board,
    so a link does not tell an outsider that the board exists)."""
    actor = as_actor(user)
    board = get(wh, code)
    with wh.connect() as con:
        tree = load_tree(con)
    if not can_see(board, actor, tree):
        raise NotFound(f"no board '{code}'")
    return board


def visible(wh: Warehouse, user: str | Actor = "admin") -> list[Board]:
    """The boards the user may open."""
    actor = as_actor(user)
    with wh.connect() as con:
        tree = load_tree(con)
    return [b for b in all_boards(wh) if can_see(b, actor, tree)]


# --- boards as code --------------------------------------------------------------------------------

def to_yaml(boards: list[Board]) -> str:
    return yaml.safe_dump({"boards": [b.definition() for b in boards]}, allow_unicode=True, sort_keys=False,
                          width=100)


def export(wh: Warehouse, out: str | Path | None = None, *, user: str | Actor = "admin") -> str:
    """The boards the user may open, as YAML."""
    text = to_yaml(visible(wh, user))
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text


def load_yaml(text: str, source: str = "boards") -> list[Board]:
    """Boards from YAML text; every problem named with the path of the bad field."""
    boards, problems = [], []
    for i, raw in enumerate(yamldoc.items(text, "boards", source)):
        if not isinstance(raw, dict):
            problems.append(f"boards[{i}]: not a mapping")
            continue
        try:
            boards.append(parse(raw, f"boards[{i}]."))
        except ValidationFailed as exc:
            problems.extend(p.replace(f"boards[{i}]..", f"boards[{i}].") for p in exc.problems)
    codes = [b.code for b in boards]
    problems += [f"boards: '{c}' is defined twice" for c in sorted({c for c in codes if codes.count(c) > 1})]
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in {source}; nothing was applied", problems)
    return boards


def apply(wh: Warehouse, text: str, *, source: str = "boards", user: str | Actor = "admin",
          reason: str | None = None) -> dict[str, int]:
    """Create or update every board in the YAML; all checked before any is saved, saved together."""
    boards = load_yaml(text, source)
    problems = [p for i, b in enumerate(boards) for p in check_references(wh, b, f"boards[{i}].")]
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in {source}; nothing was applied", problems)
    with wh.transaction(bump=False):
        return {b.code: save(wh, b, user=user, reason=reason) for b in boards}


def new_tile(kind: str, metrics: list[str], **kw) -> Tile:
    if kind not in TILE_TYPES:
        raise KpiError(f"no tile type '{kind}' (types: {', '.join(TILE_TYPES)})")
    return Tile(type=kind, metrics=metrics, **kw)
