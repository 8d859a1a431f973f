"""store.versions and Warehouse.transaction(narrow=True): which writes count as changing only
what they name."""

from __future__ import annotations

import pytest

from kpi_core.store import versions


def _read(wh) -> versions.Versions:
    with wh.read() as con:
        return versions.read(con)


def _write(wh, con) -> None:
    con.execute("UPDATE setting SET value = value WHERE key = 'fiscal_year_start'")


def broad(wh):
    with wh.transaction() as con:
        _write(wh, con)


def narrow(wh):
    with wh.transaction(narrow=True) as con:
        _write(wh, con)
        wh.touch(["actual:revenue", "dataset:orders"])


def narrow_naming_nothing(wh):
    with wh.transaction(narrow=True) as con:
        _write(wh, con)


def broad_inside_narrow(wh):
    with wh.transaction(narrow=True) as con:
        wh.touch(["actual:revenue"])
        with wh.transaction():
            _write(wh, con)


def narrow_inside_broad(wh):
    with wh.transaction():
        with wh.transaction(narrow=True) as con:
            _write(wh, con)
            wh.touch(["actual:revenue"])


def narrow_inside_narrow(wh):
    with wh.transaction(narrow=True):
        wh.touch(["actual:revenue"])
        with wh.transaction(narrow=True):
            wh.touch(["target:revenue"])


def no_bump(wh):
    with wh.transaction(bump=False) as con:
        _write(wh, con)
        wh.touch(["actual:revenue"])


def failed_narrow(wh):
    with pytest.raises(RuntimeError), wh.transaction(narrow=True) as con:
        _write(wh, con)
        wh.touch(["actual:revenue"])
        raise RuntimeError("refused")


def touch_outside_a_transaction(wh):
    wh.touch(["actual:revenue"])


# (write, data version moves, base moves, subjects marked with the new data version)
CASES = [
    (broad, 1, True, []),
    (narrow, 1, False, ["actual:revenue", "dataset:orders"]),
    (narrow_naming_nothing, 1, True, []),
    (broad_inside_narrow, 1, True, []),
    (narrow_inside_broad, 1, True, []),
    (narrow_inside_narrow, 1, False, ["actual:revenue", "target:revenue"]),
    (no_bump, 0, False, []),
    (failed_narrow, 0, False, []),
    (touch_outside_a_transaction, 0, False, []),
]


@pytest.mark.parametrize(("write", "moves", "base_moves", "subjects"), CASES, ids=[c[0].__name__ for c in CASES])
def test_what_a_write_marks(wh, write, moves, base_moves, subjects):
    before = _read(wh)
    write(wh)
    after = _read(wh)
    assert after.data == before.data + moves
    assert (after.base == after.data) if base_moves else (after.base == before.base)
    assert sorted(s for s, v in after.subjects.items() if v == after.data and moves) == subjects


def test_a_broad_write_makes_every_subject_as_old_as_the_base(wh):
    narrow(wh)
    assert _read(wh).of("actual:revenue") == _read(wh).data
    broad(wh)
    now = _read(wh)
    assert now.subjects == {} and now.of("actual:revenue") == now.base == now.data
    narrow(wh)
    narrow_inside_narrow(wh)
    now = _read(wh)
    assert (now.of("dataset:orders"), now.of("actual:revenue"), now.of("target:revenue")) == (
        now.data - 1, now.data, now.data)
    assert now.of("actual:headcount") == now.base == now.data - 2
