"""Self-service KPI boards in the warehouse: storage per owner with sharing, and boards as code (YAML);
the model and who may see or change a board are kpi_core/model/board.py.

A board has a title, filters (org unit, period, grain) and tiles. A tile has a type, its metrics,
an optional scope/grain/org override, and a place on a 12-column grid (row, order, width,
height). Boards are stored in the warehouse as versions (every save is kept, with who and why),
shared as private, with an org unit's subtree, or with everyone.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from kpi_core.model import access, yamldoc
from kpi_core.model.access import Actor, as_actor, require
from kpi_core.model.board import Board, can_edit, can_see, no_unit, parse, share_choices
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree
from kpi_core.model.periods import parse_period
from kpi_core.store import audit, dictionary
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse, now


def _why(exc: Exception) -> object:
    """An exception's message, its code kept when it is a Msg."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Msg) else str(exc)


def check_references(wh: Warehouse, board: Board, prefix: str = "") -> list[Msg]:
    """Metrics, org units and periods the board names must exist."""
    metrics = dictionary.current(wh)
    with wh.read() as con:
        tree = load_tree(con)
    problems = []
    for where, code in (("filters.org", board.filters.org), ("share_org", board.share_org)):
        if code and code not in tree:
            problems.append(Msg("store_field_problem", where=f"{prefix}{where}", problem=no_unit(tree, code)))
    if board.filters.period:
        try:
            parse_period(board.filters.period)
        except ValueError as exc:
            problems.append(Msg("store_field_problem", where=f"{prefix}filters.period", problem=_why(exc)))
    for i, tile in enumerate(board.tiles):
        for j, code in enumerate(tile.metrics):
            if code not in metrics:
                problems.append(Msg("store_board_no_metric", where=f"{prefix}tiles[{i}].metrics[{j}]", metric=code))
        if tile.org and tile.org not in tree:
            problems.append(Msg("store_field_problem", where=f"{prefix}tiles[{i}].org",
                                problem=no_unit(tree, tile.org)))
    return problems


# --- storage -----------------------------------------------------------------------------------

def _check_may_save(con, board: Board, actor: Actor) -> None:
    """Owners edit their own boards, admins any; sharing reaches no further than the author does."""
    require(actor, "boards")
    rows = con.execute("SELECT definition, deleted FROM board_version WHERE code = ? ORDER BY version DESC "
                       "LIMIT 1", [board.code]).fetchall()
    if rows and not rows[0][1]:
        current = Board.model_validate(json.loads(rows[0][0]))
        if not can_edit(current, actor):
            raise AccessDenied(Msg("store_board_not_yours", who=actor.describe(), board=board.code,
                                   owner=current.owner))
    if board.owner != actor.name and not actor.is_admin:
        raise AccessDenied(Msg("store_board_owned_by", who=actor.describe(), owner=board.owner))
    if board.share not in share_choices(actor):
        raise AccessDenied(Msg("store_board_share_everyone", who=actor.describe()))
    if board.share == "org" and board.share_org:
        access.check(actor, load_tree(con), "boards", board.share_org)


def save(wh: Warehouse, board: Board, *, user: str | Actor = "admin", reason: str | None = None) -> int:
    """Store a new version of the board (checked first); its version number."""
    actor = as_actor(user)
    problems = check_references(wh, board)
    if problems:
        raise ValidationFailed(Msg("store_board_problems", n=len(problems), board=board.code), problems)
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
    with wh.read() as con:
        rows = con.execute("SELECT definition, deleted FROM board_version WHERE code = ? ORDER BY version DESC "
                           "LIMIT 1", [code]).fetchall()
    if not rows or rows[0][1]:
        raise NotFound(Msg("store_no_board", board=code))
    return Board.model_validate(json.loads(rows[0][0]))


def delete(wh: Warehouse, code: str, *, user: str | Actor = "admin", reason: str | None = None) -> None:
    actor = as_actor(user)
    user = actor.name
    board = get(wh, code)
    if not can_edit(board, actor):
        raise AccessDenied(Msg("store_board_delete_not_yours", who=actor.describe(), board=code, owner=board.owner))
    with wh.transaction(bump=False) as con:
        version = con.execute("SELECT max(version) FROM board_version WHERE code = ?", [code]).fetchall()[0][0]
        con.execute("INSERT INTO board_version VALUES (?, ?, ?, ?, ?, ?, TRUE)",
                    [code, version + 1, json.dumps(board.definition(), ensure_ascii=False), user, now(), reason])
        audit.record(con, user, "delete", "board", code, before=board.definition(), reason=reason)


def _tree(wh: Warehouse) -> OrgTree:
    with wh.read() as con:
        return load_tree(con)


def all_boards(wh: Warehouse) -> list[Board]:
    with wh.read() as con:
        rows = con.execute("SELECT arg_max(definition, version), arg_max(deleted, version) FROM board_version "
                           "GROUP BY code ORDER BY code").fetchall()
    return [Board.model_validate(json.loads(d)) for d, deleted in rows if not deleted]


def open_for(wh: Warehouse, code: str, user: str | Actor = "admin", *, tree: OrgTree | None = None) -> Board:
    """The board, if the user may see it; NotFound otherwise (the same answer as a missing board,
    so a link does not tell an outsider that the board exists). `tree`: the caller's org tree,
    if it has one at hand (pages keep it per data version), else it is read."""
    actor = as_actor(user)
    board = get(wh, code)
    tree = tree if tree is not None else _tree(wh)
    if not can_see(board, actor, tree):
        raise NotFound(Msg("store_no_board", board=code))
    return board


def visible(wh: Warehouse, user: str | Actor = "admin", *, tree: OrgTree | None = None) -> list[Board]:
    """The boards the user may open (`tree` as in open_for)."""
    actor = as_actor(user)
    tree = tree if tree is not None else _tree(wh)
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


def _path_fixed(problem: object, i: int) -> object:
    """A board's problem with its field path as boards[i].x (not boards[i]..x), its code kept."""
    def fix(text: str) -> str:
        return text.replace(f"boards[{i}]..", f"boards[{i}].")

    if isinstance(problem, Msg):
        return Msg(problem.code, **{k: fix(v) if type(v) is str else v for k, v in problem.params.items()})
    return fix(str(problem))


def load_yaml(text: str, source: str = "boards") -> list[Board]:
    """Boards from YAML text; every problem named with the path of the bad field."""
    boards, problems = [], []
    for i, raw in enumerate(yamldoc.items(text, "boards", source)):
        if not isinstance(raw, dict):
            problems.append(Msg("store_not_a_mapping", where=f"boards[{i}]"))
            continue
        try:
            boards.append(parse(raw, f"boards[{i}]."))
        except ValidationFailed as exc:
            problems.extend(_path_fixed(p, i) for p in exc.problems)
    codes = [b.code for b in boards]
    problems += [Msg("store_defined_twice", where="boards", name=c)
                 for c in sorted({c for c in codes if codes.count(c) > 1})]
    if problems:
        raise ValidationFailed(Msg("store_boards_problems", n=len(problems), source=source), problems)
    return boards


def apply(wh: Warehouse, text: str, *, source: str = "boards", user: str | Actor = "admin",
          reason: str | None = None) -> dict[str, int]:
    """Create or update every board in the YAML; all checked before any is saved, saved together."""
    boards = load_yaml(text, source)
    problems = [p for i, b in enumerate(boards) for p in check_references(wh, b, f"boards[{i}].")]
    if problems:
        raise ValidationFailed(Msg("store_boards_problems", n=len(problems), source=source), problems)
    with wh.transaction(bump=False):
        return {b.code: save(wh, b, user=user, reason=reason) for b in boards}


