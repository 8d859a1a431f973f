"""Datasets loaded from files and Arrow tables: one batch per load, checked, typed, then made live."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from kpi_core.ingest.files import FileRefused, check_file
from kpi_core.ingest.read import decode_text, read_grid, refuse_unseen
from kpi_core.ingest.sheets import MAX_COLUMNS, PEEK_ROWS, first_text_row
from kpi_core.model.access import acting
from kpi_core.model.config import Limits
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.names import check_name, quoted, slug
from kpi_core.model.problems import ImportResult, Problem
from kpi_core.model.text import collisions
from kpi_core.store import batches, versions
from kpi_core.store.datasets import refresh_view
from kpi_core.store.partials import refresh_dataset
from kpi_core.store.warehouse import Warehouse

Mode = Literal["replace", "append"]


TYPE_NAMES = {"text": "VARCHAR", "number": "DOUBLE", "integer": "BIGINT", "date": "DATE",
              "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}


def _check_columns(names: list[str]) -> list[Problem]:
    problems, seen = [], {}
    for i, n in enumerate(names, 1):
        if not n:
            problems.append(Problem(None, f"column {i}", "", Msg("ingest_column_no_header")))
        elif n.lower() in seen:
            problems.append(Problem(None, n, n, Msg("ingest_duplicate_column", column=seen[n.lower()])))
        else:
            seen[n.lower()] = i
    return problems


def import_file(wh: Warehouse, name: str, path: str | Path, *, sheet: str | None = None,
                mode: Mode = "replace", types: dict[str, str] | None = None, user: str = "admin",
                limits: Limits | None = None) -> ImportResult:
    """Load a sheet or CSV as dataset `name`; column names kept as written (trimmed). Admins only."""
    user = acting(user, "datasets")
    name = check_name(name)
    limits = limits or Limits.from_env()
    path = Path(path)
    kind = check_file(path, limits)
    if kind == "csv":
        source, header_at = _csv_relation_source(path)
        try:
            return load_batch(wh, name, mode, types or {}, user, path.name, batches.sha256_of(path),
                         csv_source=(source, header_at), limits=limits, first_row=header_at + 2)
        finally:
            if source != str(path):
                Path(source).unlink(missing_ok=True)
    grid = read_grid(path, sheet=sheet, limits=limits, exact_numbers=False)
    refuse_unseen(grid)
    names = [h.strip() for h in grid.header]
    problems = _check_columns(names)
    if problems:
        return ImportResult(rows=grid.n_rows, errors=problems)
    table = normalise_types(pa.table(dict(zip(names, grid.columns, strict=True))))
    return load_batch(wh, name, mode, types or {}, user, path.name, batches.sha256_of(path),
                 arrow=table, limits=limits, rows=grid.rows)


def _csv_relation_source(path: Path) -> tuple[str, int]:
    """A UTF-8 file DuckDB can read, and the line of the header (title rows skipped)."""
    raw = path.read_bytes()
    text = decode_text(raw, path.name)
    lines = list(csv.reader(io.StringIO(text[:65536], newline="")))[:PEEK_ROWS]
    header_at = first_text_row(lines) or 0
    if max((len(line) for line in lines), default=0) > MAX_COLUMNS:  # DuckDB would take minutes
        raise FileRefused(Msg("ingest_csv_line_over_columns", name=path.name, limit=f"{MAX_COLUMNS:,}"))
    if raw.startswith(b"\xef\xbb\xbf") or not _is_utf8(raw):
        tmp = Path(tempfile.mkstemp(suffix=".csv")[1])
        tmp.write_text(text, encoding="utf-8")
        return str(tmp), header_at
    return str(path), header_at


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def normalise_types(table: pa.Table) -> pa.Table:
    """Excel datetimes that are all midnight become dates; others plain microsecond timestamps."""
    cols = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            us = pc.cast(col, pa.timestamp("us"))
            midnight = pc.equal(pc.cast(pc.cast(us, pa.date32()), pa.timestamp("us")), us)
            col = pc.cast(us, pa.date32()) if pc.all(midnight).as_py() is not False else us
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _batch_table(name: str, bid: int) -> str:
    return f"ds_{slug(name)}__b{bid}"


def load_batch(wh: Warehouse, name: str, mode: Mode, types: dict[str, str], user: str, source: str,
          sha: str | None, *, arrow: pa.Table | None = None, csv_source: tuple[str, int] | None = None,
          record_batches: Callable[[], Iterator[pa.RecordBatch]] | None = None,
          limits: Limits, first_row: int = 1, rows: pa.Array | None = None) -> ImportResult:
    """Load one batch of a dataset. A row a problem names is `first_row` + its position, or
    `rows`[position] (the spreadsheet's own row numbers)."""
    if mode not in ("replace", "append"):
        raise KpiError(Msg("ingest_bad_mode", mode=mode))
    bad_types = {c: t for c, t in types.items() if t not in TYPE_NAMES}
    if bad_types:
        raise KpiError(Msg("ingest_unknown_types", types=str(bad_types), names=", ".join(TYPE_NAMES)))
    with wh.transaction(narrow=True) as con:  # changes only this dataset's rows, view and partials
        wh.touch([versions.dataset(name)])
        if con.execute("SELECT 1 FROM linked_dataset WHERE name = ?", [name]).fetchall():
            raise KpiError(Msg("ingest_dataset_is_linked", name=name))
        clash = collisions([name], [n for (n,) in con.execute("SELECT name FROM dataset").fetchall()])
        if clash:
            raise KpiError(Msg("ingest_dataset_name_clash", name=name, other=clash[name]))
        bid = batches.create(con, kind="dataset", dataset=name, mode=mode, source=source, sha256=sha,
                             user=user, rows_in=0, rows_loaded=0, rows_rejected=0)
        table = _batch_table(name, bid)
        tq = exp.to_identifier(table, quoted=True).sql("duckdb")
        if arrow is not None:
            con.register("_incoming", arrow)
            con.execute(f"CREATE TABLE {tq} AS SELECT * FROM _incoming")
            con.unregister("_incoming")
        elif csv_source is not None:
            try:
                con.execute(f"CREATE TABLE {tq} AS SELECT * FROM read_csv(?, header = true, skip = ?)",
                            [csv_source[0], csv_source[1]])
            except duckdb.InvalidInputException as exc:  # DuckDB's CSV errors quote whole lines
                raise KpiError(Msg("ingest_csv_unreadable", source=source,
                                   detail=str(exc).splitlines()[0][:300])) from exc
        else:
            first = True
            for rb in record_batches():  # type: ignore[misc]
                con.register("_incoming", rb)
                if first:
                    con.execute(f"CREATE TABLE {tq} AS SELECT * FROM _incoming")
                    first = False
                else:
                    con.execute(f"INSERT INTO {tq} SELECT * FROM _incoming")
                con.unregister("_incoming")
            if first:
                raise KpiError(Msg("ingest_no_columns", source=source))
        cols = [r[0] for r in con.execute(f"DESCRIBE {tq}").fetchall()]
        problems = _check_columns([c.strip() for c in cols])
        if problems:
            raise ValidationFailed(Msg("ingest_bad_column_names", source=source), problems)
        _rename_trimmed(con, tq, cols)
        _apply_types(con, tq, types)
        problems = _inexact_values(con, tq, lambda i: int(rows[i].as_py()) if rows is not None else first_row + i)
        if problems:
            raise ValidationFailed(Msg("ingest_inexact_values", source=source, count=len(problems)), problems)
        [(n,)] = con.execute(f"SELECT count(*) FROM {tq}").fetchall()
        if n == 0:
            raise KpiError(Msg("ingest_no_data_rows", source=source))
        if n > limits.max_rows:
            raise KpiError(Msg("ingest_dataset_too_many_rows", source=source, rows=f"{n:,}",
                               limit=f"{limits.max_rows:,}"))
        con.execute("UPDATE batch SET rows_in = ?, rows_loaded = ? WHERE id = ?", [n, n, bid])
        con.execute("INSERT INTO dataset_batch VALUES (?, ?, ?)", [bid, name, table])
        refresh_view(con, name, check_append=(mode == "append"))

        refresh_dataset(con, name)  # the metrics on this dataset add this batch's partials
    return ImportResult(batch=bid, rows=n, loaded=n, rejected=0)


_DATE_LIKE = r"^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"


def _inexact_values(con, tq: str, row_of: Callable[[int], int], most: int = 20) -> list[Problem]:
    """What a dataset batch holds that is not the value its author sees (SPEC §5): an infinity
    or NaN in a number column (written as inf, or 1e999), and a date that is not on the
    calendar (2026-02-30) in a column of dates, which turns the column into text."""
    problems: list[Problem] = []
    # rowid counts from the table's first row (from a large base while the transaction is open)
    [(base,)] = con.execute(f"SELECT coalesce(min(rowid), 0) FROM {tq}").fetchall()
    for col, kind in [(r[0], r[1]) for r in con.execute(f"DESCRIBE {tq}").fetchall()]:
        c = quoted(col).sql("duckdb")
        if kind in ("DOUBLE", "FLOAT", "REAL"):
            sql = (f"SELECT rowid, CAST({c} AS VARCHAR) FROM {tq} WHERE {c} IS NOT NULL AND NOT isfinite({c}) "
                   f"ORDER BY rowid LIMIT {most}")
            problems += [Problem(row_of(i - base), col, v, Msg("ingest_not_finite", value=v))
                         for i, v in con.execute(sql).fetchall()]
        elif kind == "VARCHAR":
            sql = (f"SELECT rowid, {c} FROM {tq} WHERE regexp_matches({c}, ?) AND TRY_CAST(trim({c}) AS DATE) IS NULL "
                   f"AND EXISTS (SELECT 1 FROM {tq} WHERE TRY_CAST(trim({c}) AS DATE) IS NOT NULL) "
                   f"ORDER BY rowid LIMIT {most}")
            problems += [Problem(row_of(i - base), col, v, Msg("ingest_not_calendar_day", value=v))
                         for i, v in con.execute(sql, [_DATE_LIKE]).fetchall()]
    return problems


def _rename_trimmed(con, tq: str, cols: list[str]) -> None:
    for c in cols:
        if c != c.strip():
            con.execute(f"ALTER TABLE {tq} RENAME COLUMN {quoted(c).sql('duckdb')} TO "
                        f"{quoted(c.strip()).sql('duckdb')}")


def _apply_types(con, tq: str, types: dict[str, str]) -> None:
    cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE {tq}").fetchall()}
    for col, t in types.items():
        if col not in cols:
            raise KpiError(Msg("ingest_type_unknown_column", column=col, columns=", ".join(cols)))
        target = TYPE_NAMES[t]
        c = quoted(col).sql("duckdb")
        sql = f"SELECT {c} FROM {tq} WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {target}) IS NULL LIMIT 1"
        bad = next(iter(con.execute(sql).fetchall()), None)
        if bad is not None:
            raise KpiError(Msg("ingest_type_cannot_cast", column=col, type=t, value=str(bad[0])))
        con.execute(f"ALTER TABLE {tq} ALTER COLUMN {c} SET DATA TYPE {target} USING TRY_CAST({c} AS {target})")


def import_arrow(wh: Warehouse, name: str, table: pa.Table, *, source: str, mode: Mode = "replace",
                 user: str = "admin") -> ImportResult:
    """Load an in-memory Arrow table as a dataset batch (the demo, tests)."""
    user = acting(user, "datasets")
    name = check_name(name)
    return load_batch(wh, name, mode, {}, user, source, None, arrow=table, limits=Limits.from_env())
