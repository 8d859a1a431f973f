"""The command line's frame: the root group, output (text or strict JSON), errors as exit codes, NAME=VALUE options."""

from __future__ import annotations

import errno
import json
import math
import sys
from collections.abc import Callable
from datetime import date, datetime

import click

from kpi_core.auth import users as users_mod
from kpi_core.model.access import Actor
from kpi_core.model.errors import DiskFull, KpiError, ValidationFailed
from kpi_core.model.text import is_invisible, visible
from kpi_core.store.warehouse import Warehouse

FORMATS = click.Choice(["text", "json"])


def number(text: str) -> float:
    """A finite number as typed on the command line."""
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def key_values(items: tuple[str, ...], option: str, form: str,
               value: Callable[[str], object] = str) -> dict[str, object]:
    """Repeated NAME=VALUE options as a dict. The name ends at the last '=' (a column name may hold
    one); a missing '=', an empty name, a repeated name or a value `value` refuses is an error
    naming the option and the item."""
    out: dict[str, object] = {}
    for item in items:
        name, sep, raw = item.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"'{item}' should be {form}", param_hint=option)
        if name in out:
            raise click.BadParameter(f"'{name}' is given twice", param_hint=option)
        try:
            out[name] = value(raw.strip())
        except ValueError:
            raise click.BadParameter(f"'{raw.strip()}' in '{item}' is not a valid {form.split('=')[1].lower()}",
                                     param_hint=option) from None
    return out


def _json_default(v):
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def dumps(data) -> str:
    """JSON for scripts: strict (a NaN is an error, not invalid JSON), with every invisible or
    control character written as a \\u escape, so the text is safe on a terminal and reads back
    to the same value."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default, allow_nan=False)
    if text.isascii() and "\x7f" not in text:
        return text
    return "".join(_json_escape(ch) if ch != "\n" and is_invisible(ch) else ch for ch in text)


def _json_escape(ch: str) -> str:
    n = ord(ch)
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000  # a UTF-16 surrogate pair, as JSON writes characters past the BMP
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


def echo(text: object = "", **kw) -> None:
    """Print text a person reads: invisible and control characters shown escaped (\\u200b,
    \\x1b), so a name or cell cannot hide itself or drive the terminal."""
    click.echo(visible(text, keep_newlines=True), **kw)


def emit(ctx: click.Context, data, text: str | None = None) -> None:
    if ctx.obj["format"] == "json":
        click.echo(dumps(data))
    else:
        echo(text if text is not None else data)


def format_option(f):
    """--format on a command as well as before it."""

    def set_format(ctx, _param, value):
        if value:
            ctx.find_root().obj["format"] = value
        return value

    return click.option("--format", "fmt", type=FORMATS, expose_value=False, callback=set_format,
                        is_eager=True, help="Output format (text or json).")(f)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ValidationFailed as exc:
            echo(f"error: {exc}", err=True)
            for p in exc.problems:
                echo(f"  - {p}", err=True)
            ctx.exit(exc.exit_code)
        except KpiError as exc:
            echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # writing an output file (--errors-out, --out) on a full disk
            if exc.errno != errno.ENOSPC:
                raise
            echo(f"error: the disk is full: {exc.filename or 'a file'} could not be written", err=True)
            ctx.exit(DiskFull.exit_code)


def warehouse_of(ctx: click.Context) -> Warehouse:
    obj = ctx.find_root().obj
    if "wh" not in obj:
        wh = Warehouse(obj["warehouse"], on_wait=lambda m: click.echo(m, err=True))
        wh.migrate()
        obj["wh"] = wh
    return obj["wh"]


@click.group(cls=_Group)
@click.option("--warehouse", type=click.Path(dir_okay=False), envvar="KPI_WAREHOUSE",
              help="Warehouse file (default data/warehouse.duckdb, or $KPI_WAREHOUSE).")
@click.option("--format", "fmt", type=FORMATS, default="text", help="Output format.")
@click.option("--user", help="Act as this user, with their role and org units (default: the local admin).")
@click.pass_context
def main(ctx: click.Context, warehouse: str | None, fmt: str, user: str | None) -> None:
    """KPI Cockpit (绩效驾驶舱) command line."""
    ctx.obj = {"warehouse": warehouse, "format": fmt, "user": user}


def actor_of(ctx: click.Context) -> Actor:
    """The acting user: --user's role and units, or the local admin."""
    obj = ctx.find_root().obj
    if "actor" not in obj:
        obj["actor"] = users_mod.actor(warehouse_of(ctx), obj["user"]) if obj["user"] else Actor("admin", "admin")
    return obj["actor"]


def progress_printer():
    if not sys.stderr.isatty():
        return None
    state = {"stage": None}

    def show(stage: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        click.echo(f"\r{stage:<9} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
                   err=True, nl=False)
        if done >= total:
            click.echo("", err=True)
        state["stage"] = stage

    return show


def number_text(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"
