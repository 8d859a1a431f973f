"""Dataset names: what a name may be, and the tables and views a name becomes."""

from __future__ import annotations

import hashlib
import re

from sqlglot import exp

from kpi_core.model.errors import KpiError
from kpi_core.model.messages import Msg
from kpi_core.model.text import fold, visible

_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .-]{0,62}$")


def slug(name: str) -> str:
    """A safe table-name stem for a dataset name (Chinese names get a hash suffix)."""
    ascii_part = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if ascii_part == name.lower() and ascii_part:
        return ascii_part
    return f"{ascii_part or 'ds'}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def view_name(name: str) -> str:
    return f"ds_{slug(name)}"


def check_name(name: str) -> str:
    """The dataset's name as stored (folded as codes are: ｓａｌｅｓ is sales); KpiError if it is
    not one."""
    folded = fold(name)
    if not _NAME.fullmatch(folded):  # fullmatch: "$" alone lets a trailing newline in
        raise KpiError(Msg("model_dataset_name_invalid", name=visible(name)))
    return folded


def quoted(name: str) -> exp.Identifier:
    """A table, view or column name as a quoted SQL identifier (any characters, no injection)."""
    return exp.to_identifier(name, quoted=True)
