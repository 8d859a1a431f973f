"""Warm-on-write: right after an import, the places the pages open on are worked out once, so the
first viewer finds their numbers kept (`query.cache`, keyed on the data version) instead of
waiting for the engine.

The places are data: the company and its children at the latest month (where the cockpit opens
and where an executive's first drill goes), and every board's tiles at the board's own filters,
in each UI language (a tile's table and chart spec too, `present.tile_view`). Values are kept
per unit set and period, not per viewer, so one warming serves every viewer of a place; what
each viewer may read is still checked when they open it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from kpi_core.model.access import Actor
from kpi_core.present import cockpit, tile_view
from kpi_core.query.api import context, latest_month
from kpi_core.store import boards
from kpi_core.store.warehouse import Warehouse

log = logging.getLogger(__name__)

COCKPIT_DEPTH = 1    # the company (depth 0) and its divisions
BOARD_LIMIT = 20     # boards warmed per import, in the order the board list shows them
SKIPPED_TILES = ("text", "forecast")  # no numbers / made ahead by query.forecast.warm
WARMER = Actor("warm-on-write", "admin", ())


@dataclass(frozen=True)
class Warmed:
    """What one warming did: cockpit places and board tiles worked out, and how long it took."""

    version: int
    places: int = 0
    tiles: int = 0
    seconds: float = 0.0
    stale: bool = False  # new data came in meanwhile: the next run warms that

    def summary(self) -> str:
        more = ", stopped: newer data" if self.stale else ""
        return f"warmed {self.places} cockpit places and {self.tiles} tiles in {self.seconds:.1f} s{more}"


def cockpit_places(tree, period: str) -> list[tuple[str, str]]:
    """(unit, period) of the cockpits warmed: the root and the units down to COCKPIT_DEPTH."""
    return [(code, period) for code, unit in tree.units.items() if unit.depth <= COCKPIT_DEPTH]


def warm(wh: Warehouse, today: dt.date) -> Warmed:
    """Work out the default places of the cockpit and the boards at the current data version.

    A place that fails is logged and skipped (warming saves time; it never stands in the way)."""
    t0 = time.perf_counter()
    version = wh.data_version()
    tree, metrics = context(wh)  # the org tree and dictionary the queries keep for this data version
    period = latest_month(wh, today)
    if tree.root is None or period is None:
        return Warmed(version)
    places = n_tiles = 0
    for unit, p in cockpit_places(tree, period):
        if wh.data_version() != version:
            return Warmed(version, places, n_tiles, time.perf_counter() - t0, stale=True)
        try:
            with wh.connect():  # one connection per place, let go between places for other writers
                cockpit.build(wh, tree, unit, p, today=today, actor=WARMER)
            places += 1
        except Exception:  # noqa: BLE001 - one place's trouble leaves the others to warm
            log.warning("warming the cockpit of %s at %s failed", unit, p, exc_info=True)
    for board in boards.all_boards(wh)[:BOARD_LIMIT]:
        for tile in board.tiles:
            if tile.type in SKIPPED_TILES:
                continue
            if wh.data_version() != version:
                return Warmed(version, places, n_tiles, time.perf_counter() - t0, stale=True)
            try:
                with wh.connect():
                    for lang in tile_view.LANGUAGES:
                        tile_view.view(wh, board, tile, tree, metrics, today, lang, version=version)
                n_tiles += 1
            except Exception:  # noqa: BLE001
                log.warning("warming tile %s of board %s failed", tile.id, board.code, exc_info=True)
    return Warmed(version, places, n_tiles, time.perf_counter() - t0)
