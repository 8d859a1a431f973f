"""A board tile as a viewer sees it (cells, table, chart spec), kept per tile, place and language
until a write changes what its metrics are made of (`query.api.scope_of`), so every viewer of
the same place shares one build, and warm-on-write (`jobs.warm`) can build it before the first
viewer comes.

What a viewer may read is checked on every call: the place is resolved for them (a unit they may
not read becomes their own, as `tiles.place_of` does), and the unit is checked before anything
kept is handed out. A tile's numbers for one place are the same for every viewer who may read it.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.board import Board, Tile
from kpi_core.model.metric import Metric
from kpi_core.model.org import OrgTree
from kpi_core.present import tiles
from kpi_core.present.i18n import t
from kpi_core.query.api import latest_month, scope_of, stamp
from kpi_core.query.cache import Cache
from kpi_core.store.warehouse import Warehouse

View = tuple[tiles.TileData, pd.DataFrame, dict | None]
VIEWS: Cache[View] = Cache("a board tile's cells, table and chart spec per place and language", 1024)
LANGUAGES = ("zh", "en")


def labels(lang: str) -> dict[str, str]:
    """The words a tile's chart uses for its fields, in `lang`."""
    return {k: t(k if k != "unit" else "org_unit", lang)
            for k in ("unit", "metric", "period", "actual", "target", "attainment")}


def tile_key(board: Board, tile: Tile) -> str:
    """The tile's own definition. The board's filters count through the place the tile resolves
    to, so a board opened with its default filters written out shares the entry of the stored one,
    and adding, moving or retitling another tile leaves this tile's entry kept."""
    mine = next(d for d in board.definition()["tiles"] if d["id"] == tile.id)
    return json.dumps(mine, ensure_ascii=False, sort_keys=True)


def view(wh: Warehouse, board: Board, tile: Tile, tree: OrgTree, metrics: dict[str, Metric], today: dt.date,
         lang: str, *, cross: dict | None = None, actor: Actor | None = None, version: int | None = None) -> View:
    """The tile's cells, its table with display texts and its chart spec (None for an empty one).

    The objects returned are shared by every caller: read them, do not change them."""
    version = wh.data_version() if version is None else version
    place = tiles.place_of(board, tile, tree, today, cross, actor, latest_month(wh, today))
    if actor is not None:
        access.check(actor, tree, "read", place.org)
    # Kept until a write changes what the tile's metrics are made of; a scorecard tile's metrics
    # are known only once its scorecard is read, so it is kept per data version.
    scoped = tile.metrics and tile.type != "scorecard"
    key = (scope_of(wh, tile.metrics) if scoped else stamp(wh, version), tile_key(board, tile), place, lang, today)
    # The place is settled: the build asks for exactly it, whoever asks first.
    settled = {"org": place.org, "period": place.period}
    return VIEWS.get(key, lambda: _build(wh, board, tile, tree, metrics, today, lang, settled))


def _build(wh: Warehouse, board: Board, tile: Tile, tree: OrgTree, metrics: dict[str, Metric], today: dt.date,
           lang: str, cross: dict) -> View:
    data = tiles.tile_data(wh, board, tile, tree, today, cross)
    df = tiles.frame(data, metrics, tree, lang)
    if tile.type == "ranking" and not df.empty:
        df = tiles.ranking(df, tile)
    spec = tiles.spec(tile, df, labels(lang), lang) if not df.empty else None
    return data, df, spec
