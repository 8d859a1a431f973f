"""The command line: `python -m kpi_core [--warehouse PATH] COMMAND`, thin over kpi_core.

Exit codes: 0 done; 1 input refused (nothing written); 2 usage error; 3 warehouse busy;
4 not found; 5 not allowed (role or org scope); 6 the disk is full (nothing written).

Without `--user` the CLI is the local admin (whoever can run it can open the warehouse file
anyway); with `--user NAME` it acts with that user's role and org units.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import sys
from datetime import date, datetime
from pathlib import Path

import click

from kpi_core.auth import users as users_mod
from kpi_core.demo.load import load_demo
from kpi_core.ingest.datasets import TYPE_NAMES, import_file
from kpi_core.ingest.error_report import write_error_workbook
from kpi_core.ingest.facts import import_facts
from kpi_core.ingest.org_file import import_org
from kpi_core.ingest.sources import import_db as pull
from kpi_core.model import access
from kpi_core.model.access import Actor, require
from kpi_core.model.errors import DiskFull, KpiError, ValidationFailed
from kpi_core.model.metric import smart_gaps
from kpi_core.model.periods import parse_period
from kpi_core.model.problems import ImportResult
from kpi_core.model.safe_export import neutralise
from kpi_core.model.text import is_invisible, visible
from kpi_core.query.api import Query, run
from kpi_core.query.scorecard import scorecard
from kpi_core.services.cascade import cascade, reconcile
from kpi_core.services.revert import revert
from kpi_core.store import audit as audit_mod
from kpi_core.store import batches as batches_mod
from kpi_core.store import boards as boards_mod
from kpi_core.store import closing, dictionary, org, phasing
from kpi_core.store import datasets as datasets_mod
from kpi_core.store import settings as settings_mod
from kpi_core.store.warehouse import Warehouse

FORMATS = click.Choice(["text", "json"])


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


def _emit(ctx: click.Context, data, text: str | None = None) -> None:
    if ctx.obj["format"] == "json":
        click.echo(dumps(data))
    else:
        echo(text if text is not None else data)


def _format_option(f):
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


def _wh(ctx: click.Context) -> Warehouse:
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


def _user(ctx: click.Context) -> Actor:
    """The acting user: --user's role and units, or the local admin."""
    obj = ctx.find_root().obj
    if "actor" not in obj:
        obj["actor"] = users_mod.actor(_wh(ctx), obj["user"]) if obj["user"] else Actor("admin", "admin")
    return obj["actor"]


# --- init ------------------------------------------------------------------------------------

@main.command()
@click.option("--demo", is_flag=True, help="Load the demo company (org, metrics, data, targets).")
@_format_option
@click.pass_context
def init(ctx, demo: bool) -> None:
    """Create the warehouse (and load the demo company)."""
    wh = _wh(ctx)
    summary = {"warehouse": str(wh.path), "schema_version": wh.schema_version()}
    if demo:

        held = batches_mod.list_batches(wh, limit=1)
        if held:  # never pile the demo onto real (or earlier demo) data; `make run` relies on this
            summary["demo"] = f"not loaded: the warehouse already holds data (latest batch {held[0]['id']})"
        else:
            summary["demo"] = load_demo(wh, progress=_progress_printer())
    _emit(ctx, summary, "\n".join(f"{k}: {v}" for k, v in summary.items()))


# --- org -------------------------------------------------------------------------------------

@main.group("org")
def org_group() -> None:
    """The org tree."""


@org_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet")
@click.option("--dry-run", is_flag=True)
@_format_option
@click.pass_context
def org_import(ctx, file: str, sheet: str | None, dry_run: bool) -> None:
    """Add or update org units from a code, name, parent file (Chinese headers too)."""
    result = import_org(_wh(ctx), file, sheet=sheet, user=_user(ctx), dry_run=dry_run)
    _finish_import(ctx, result, dry_run=dry_run)


@org_group.command("list")
@_format_option
@click.pass_context
def org_list(ctx) -> None:
    """The tree, indented: the part of it the user may read (an employee: their unit and team)."""
    t = org.tree(_wh(ctx))
    codes = access.visible_units(_user(ctx), t, t.subtree(t.root)) if t.root else []
    rows = [{"code": u.code, "name": u.name, "parent": u.parent, "depth": u.depth} for u in (t.units[c] for c in codes)]
    _emit(ctx, rows, "\n".join(f"{'  ' * r['depth']}{r['code']}  {r['name']}" for r in rows) or "(no org units)")


# --- metrics ---------------------------------------------------------------------------------

@main.group("metrics")
def metrics_group() -> None:
    """The metric dictionary (指标中心)."""


@metrics_group.command("apply")
@click.argument("path", type=click.Path(exists=True))
@click.option("--reason", help="Why the definitions change (kept with the new versions).")
@click.option("--dry-run", is_flag=True)
@_format_option
@click.pass_context
def metrics_apply(ctx, path: str, reason: str | None, dry_run: bool) -> None:
    """Create or update definitions from a YAML file or directory (versioned)."""
    r = dictionary.apply(_wh(ctx), path, reason=reason, user=_user(ctx), dry_run=dry_run)
    text = (f"{'would create' if dry_run else 'created'} {len(r.created)}, "
            f"{'would update' if dry_run else 'updated'} {len(r.updated)}, unchanged {len(r.unchanged)}")
    for what, codes in (("created", r.created), ("updated", r.updated)):
        if codes:
            text += f"\n  {what}: {', '.join(codes)}"
    _emit(ctx, r.as_dict(), text)


@metrics_group.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write DIR/metrics.yaml.")
@click.pass_context
def metrics_export(ctx, out_dir: str | None) -> None:
    """The dictionary as YAML (applies back to the same definitions)."""
    text = dictionary.export(_wh(ctx), out_dir)
    if out_dir:
        echo(f"wrote {Path(out_dir) / 'metrics.yaml'}")
    else:
        click.echo(text, nl=False)


@metrics_group.command("list")
@_format_option
@click.pass_context
def metrics_list(ctx) -> None:
    """Every metric: code, name, source, direction and SMART gaps."""
    rows = [{"code": m.code, "name": m.name, "source": m.source_type, "direction": m.direction,
             "perspective": m.perspective, "unit": m.unit, "smart_gaps": smart_gaps(m)}
            for m in dictionary.current(_wh(ctx)).values()]
    lines = [f"{r['code']:<28} {r['source']:<8} {r['direction']:<17} {r['name']}"
             + (f"  [SMART: {' '.join(g[0] for g in r['smart_gaps'])}]" if r["smart_gaps"] else "")
             for r in rows]
    _emit(ctx, rows, "\n".join(lines) or "(no metrics)")


@metrics_group.command("show")
@click.argument("code")
@_format_option
@click.pass_context
def metrics_show(ctx, code: str) -> None:
    """One metric: its definition, SMART gaps and version history."""
    wh = _wh(ctx)
    m = dictionary.get(wh, code)
    data = {"definition": m.definition(), "smart_gaps": smart_gaps(m),
            "versions": dictionary.history(wh, code)}
    text = dictionary.to_yaml([m]) + "SMART gaps:\n" + (
        "\n".join(f"  {g}" for g in data["smart_gaps"]) or "  none") + "\nversions:\n" + "\n".join(
        f"  v{v['version']}  {v['at'][:19]}  {v['user']}  {v['reason'] or ''}" for v in data["versions"])
    _emit(ctx, data, text)


# --- import ----------------------------------------------------------------------------------

@main.group("import")
def import_group() -> None:
    """Load actuals, targets and datasets."""


def _progress_printer():
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


def _finish_import(ctx, result: ImportResult, *, dry_run: bool = False, errors_out: str | None = None,
                   sheet: str | None = None,
                   source: str | None = None) -> None:
    data = result.as_dict()
    if result.changes:
        data["changes"] = result.changes
    if errors_out and result.errors and source:
        write_error_workbook(source, result.errors, errors_out, sheet=sheet or result.sheet)
    if ctx.find_root().obj["format"] == "json":
        _emit(ctx, data)
    else:
        if result.batch is not None:
            echo(f"batch {result.batch}: loaded {result.loaded:,} from {result.rows:,} rows"
                       + (f", rejected {result.rejected:,}" if result.rejected else ""))
        elif dry_run and not result.errors:
            echo(f"dry run: {result.loaded:,} facts would load; nothing written")
        if result.changes:
            c = result.changes
            echo(f"changes: {c['new']:,} new, {c['changed']:,} changed, {c['unchanged']:,} unchanged")
    if result.errors:
        verb = "rejected" if result.batch is None and not dry_run else "problems"
        echo(f"{verb}: {len(result.errors)} problem(s)"
                   + ("; nothing was written" if result.batch is None else ""), err=True)
        for p in result.errors[:200]:
            echo(f"  {p}", err=True)
        if len(result.errors) > 200:
            echo(f"  … and {len(result.errors) - 200} more (use --format json or --errors-out)", err=True)
    if result.batch is None and not (dry_run and not result.errors):
        ctx.exit(1)


def _facts_command(kind: str):
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--sheet", help="Sheet name (default: the first with data).")
    @click.option("--year", type=int, help="Year for headers such as 1月 or Q1.")
    @click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
    @click.option("--partial", is_flag=True, help="Load the good facts and reject the bad ones.")
    @click.option("--errors-out", type=click.Path(dir_okay=False),
                  help="Write the problems to this .xlsx (the file with its bad cells marked).")
    @click.option("--reason", help="Why (kept with the batch); needed to change a closed period.")
    @_format_option
    @click.pass_context
    def command(ctx, file, sheet, year, dry_run, partial, errors_out, reason):
        result = import_facts(_wh(ctx), kind, file, sheet=sheet, year=year, dry_run=dry_run,
                              partial=partial, user=_user(ctx), progress=_progress_printer(), reason=reason)
        _finish_import(ctx, result, dry_run=dry_run, errors_out=errors_out, source=file, sheet=sheet)

    command.__doc__ = f"Import {kind} (long or wide; Excel or CSV)."
    return command


import_group.command("actuals")(_facts_command("actuals"))
import_group.command("targets")(_facts_command("targets"))


def _parse_types(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        col, sep, t = v.rpartition("=")
        if not sep or not col:
            raise click.BadParameter(f"'{v}' should be COLUMN=TYPE", param_hint="--type")
        out[col.strip()] = t.strip().lower()
    return out


@import_group.command("dataset")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet")
@click.option("--mode", type=click.Choice(["replace", "append"]), default="replace")
@click.option("--type", "types", multiple=True, help="Override a column type: 'COLUMN=date' "
              f"(types: {', '.join(TYPE_NAMES)}).")
@_format_option
@click.pass_context
def import_dataset(ctx, name, file, sheet, mode, types) -> None:
    """Load a file as dataset NAME (column names kept as written)."""
    result = import_file(_wh(ctx), name, file, sheet=sheet, mode=mode,
                                      types=_parse_types(types), user=_user(ctx))
    _finish_import(ctx, result)


@import_group.command("db")
@click.argument("name")
@click.option("--url", required=True, help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
@click.option("--table", help="Table (schema.table allowed).")
@click.option("--query", help="A SELECT run on the source database.")
@click.option("--mode", type=click.Choice(["replace", "append"]), default="replace")
@_format_option
@click.pass_context
def import_db(ctx, name, url, table, query, mode) -> None:
    """Pull a table or query from a source database as dataset NAME."""
    result = pull(_wh(ctx), name, url, table=table, query=query, mode=mode, user=_user(ctx))
    _finish_import(ctx, result)


# --- query -----------------------------------------------------------------------------------

QUERY_COLUMNS = ["metric", "org", "period", "actual", "target", "attainment", "status"]


@main.command()
@click.option("--metric", "metrics", multiple=True, required=True, help="Metric code (repeat for more).")
@click.option("--org", help="Org unit code (default: the top of the tree).")
@click.option("--children", is_flag=True, help="The unit's direct children instead of the unit itself.")
@click.option("--grain", type=click.Choice(["month", "quarter", "year"]), required=True)
@click.option("--from", "first", help="First period, e.g. 2025-01, 2025-Q1, 2025.")
@click.option("--to", "last", help="Last period.")
@click.option("--ytd", is_flag=True, help="Year-to-date values for each period.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "text"]), default=None,
              help="csv (default) or json.")
@click.pass_context
def query(ctx, metrics, org, children, grain, first, last, ytd, fmt) -> None:
    """One row per metric × org unit × period: actual, target, attainment, status."""
    fmt = fmt or ("json" if ctx.find_root().obj["format"] == "json" else "csv")
    result = run(_wh(ctx), Query(tuple(metrics), org, "children" if children else "self", grain, first, last, ytd),
                 actor=_user(ctx))
    rows = [{k: getattr(c, k) for k in QUERY_COLUMNS} for c in result.cells]
    if fmt == "json":
        click.echo(dumps(rows))
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(QUERY_COLUMNS)
    for r in rows:
        writer.writerow(["" if r[k] is None else (repr(r[k]) if isinstance(r[k], float) else neutralise(r[k]))
                         for k in QUERY_COLUMNS])
    click.echo(out.getvalue(), nl=False)


# --- batches, datasets -----------------------------------------------------------------------

@main.group("batches")
def batches_group() -> None:
    """Import batches: list and revert."""


@batches_group.command("list")
@click.option("--limit", default=50, show_default=True)
@_format_option
@click.pass_context
def batches_list(ctx, limit: int) -> None:
    """Newest batches first."""
    rows = batches_mod.list_batches(_wh(ctx), limit, user=_user(ctx))
    lines = [f"{b['id']:>5}  {b['created_at']:%Y-%m-%d %H:%M}  {b['kind']:<8} {b['status']:<8} "
             f"{b['rows_loaded']:>10,}  {b['user_name']:<10} {b['dataset'] or '':<20} {b['source']}" for b in rows]
    _emit(ctx, rows, "\n".join(lines) or "(no batches)")


@batches_group.command("revert")
@click.argument("batch_id", type=int)
@click.option("--reason")
@_format_option
@click.pass_context
def batches_revert(ctx, batch_id: int, reason: str | None) -> None:
    """Revert a batch: the values it replaced become current again."""
    b = revert(_wh(ctx), batch_id, user=_user(ctx), reason=reason)
    _emit(ctx, {"batch": batch_id, "status": b["status"]}, f"batch {batch_id} reverted")


@main.group("datasets")
def datasets_group() -> None:
    """Imported datasets."""


@datasets_group.command("list")
@_format_option
@click.pass_context
def datasets_list(ctx) -> None:
    rows = datasets_mod.list_datasets(_wh(ctx))
    _emit(ctx, rows, "\n".join(f"{r['name']:<24} {r['rows']:>10,} rows  "
                               + ", ".join(f"{c['name']}:{c['type']}" for c in r["columns"])
                               for r in rows) or "(no datasets)")


# --- settings, phasing, targets, scorecards ---------------------------------------------------

@main.group("settings")
def settings_group() -> None:
    """Warehouse settings: fiscal year start, default thresholds, grade bands."""


@settings_group.command("list")
@_format_option
@click.pass_context
def settings_list(ctx) -> None:

    values = settings_mod.all_settings(_wh(ctx))
    _emit(ctx, values, "\n".join(f"{k:<20} {v:<24} {settings_mod.SETTINGS[k].help}" for k, v in values.items()))


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--reason")
@_format_option
@click.pass_context
def settings_set(ctx, key: str, value: str, reason: str | None) -> None:

    settings_mod.put(_wh(ctx), key, value, user=_user(ctx), reason=reason)
    _emit(ctx, {key: value}, f"{key} = {value}")


@main.group("phasing")
def phasing_group() -> None:
    """Named phasing profiles: how yearly targets spread over the months."""


@phasing_group.command("set")
@click.argument("name")
@click.argument("weights")
@click.option("--reason")
@_format_option
@click.pass_context
def phasing_set(ctx, name: str, weights: str, reason: str | None) -> None:
    """WEIGHTS: 12 numbers, comma-separated, from the fiscal year's first month."""
    phasing.set_profile(_wh(ctx), name, [w.strip() for w in weights.split(",")], user=_user(ctx), reason=reason)
    _emit(ctx, {"profile": name}, f"phasing profile {name} saved")


@phasing_group.command("list")
@_format_option
@click.pass_context
def phasing_list(ctx) -> None:

    with _wh(ctx).connect() as con:
        got = phasing.profiles(con)
    _emit(ctx, got, "\n".join(f"{k:<20} " + ", ".join(f"{w:g}" for w in v) for k, v in got.items())
          or "(no profiles; built in: even, last_year)")


@main.group("targets")
def targets_group() -> None:
    """Cascade a unit's target to its children; reconcile parent and children."""


@targets_group.command("cascade")
@click.option("--metric", required=True)
@click.option("--org", required=True)
@click.option("--year", type=int, required=True)
@click.option("--method", type=click.Choice(["equal", "last_year", "headcount", "weights"]), default="equal",
              show_default=True)
@click.option("--uplift", type=float, default=1.0, show_default=True, help="e.g. 1.05 for +5 %.")
@click.option("--weight", "weights", multiple=True, help="CHILD=W, for --method weights.")
@click.option("--total", type=float, help="Split this total instead of the unit's own target.")
@click.option("--dry-run", is_flag=True)
@click.option("--reason")
@_format_option
@click.pass_context
def targets_cascade(ctx, metric, org, year, method, uplift, weights, total, dry_run, reason) -> None:
    """Split the unit's yearly target over its direct children."""
    w = {}
    for item in weights:
        child, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"'{item}' is not CHILD=W", param_hint="--weight")
        try:
            w[child.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"weight '{value}' of {child} is not a number", param_hint="--weight") from None
    splits, result = cascade(_wh(ctx), metric, org, year, method, uplift=uplift, weights=w or None, total=total,
                             dry_run=dry_run, user=_user(ctx), reason=reason)
    rows = [{"org": s.child, "share": s.share, "target": s.target} for s in splits]
    _emit(ctx, {"batch": result.batch if result else None, "splits": rows},
          "\n".join(f"{r['org']:<16} {r['share']:>7.1%} {r['target']:>16,.2f}" for r in rows)
          + ("\n(dry run: nothing written)" if dry_run else f"\nbatch {result.batch}"))


@targets_group.command("reconcile")
@click.option("--metric", required=True)
@click.option("--org", required=True)
@click.option("--period", required=True, help="e.g. 2026, 2026-Q1 or 2026-03.")
@_format_option
@click.pass_context
def targets_reconcile(ctx, metric, org, period) -> None:
    """The unit's target against the sum of its children's."""
    r = reconcile(_wh(ctx), metric, org, period, parse_period(period).grain, actor=_user(ctx))
    data = {"parent": r.parent, "children": r.children, "children_total": r.children_total, "gap": r.gap}
    lines = [f"{org:<16} {_fmt(r.parent)}"] + [f"  {c:<14} {_fmt(v)}" for c, v in r.children.items()]
    lines.append(f"  {'children':<14} {_fmt(r.children_total)}   gap {_fmt(r.gap)}")
    _emit(ctx, data, "\n".join(lines))


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"


@main.command("scorecard")
@click.option("--org", required=True)
@click.option("--period", required=True)
@click.option("--weight", "weights", multiple=True, required=True, help="METRIC=W (repeat).")
@click.option("--perspective-weight", "pweights", multiple=True, help="PERSPECTIVE=W (repeat).")
@_format_option
@click.pass_context
def scorecard_cmd(ctx, org, period, weights, pweights) -> None:
    """A weighted scorecard: each metric's score, the perspectives' scores, the total and grade."""
    def pairs(items, what):
        out = {}
        for item in items:
            k, sep, v = item.partition("=")
            try:
                out[k.strip()] = float(v) if sep else float("nan")
            except ValueError:
                out[k.strip()] = float("nan")
            if not sep or out[k.strip()] != out[k.strip()]:
                raise click.BadParameter(f"'{item}' is not NAME=NUMBER", param_hint=what)
        return out

    card = scorecard(_wh(ctx), org, period, parse_period(period).grain, pairs(weights, "--weight"),
                     perspective_weights=pairs(pweights, "--perspective-weight") or None, actor=_user(ctx))
    data = {"org": card.org, "period": card.period, "items": card.items, "perspectives": card.perspectives,
            "score": card.score, "grade": card.grade}
    lines = [f"{i['metric']:<24} w={i['weight']:<5g} {_fmt(i['score']):>8}  {i['status']}" for i in card.items]
    lines += [f"[{p}] {_fmt(s)}" for p, s in card.perspectives.items()]
    lines.append(f"score {_fmt(card.score)}  grade {card.grade or '-'}")
    _emit(ctx, data, "\n".join(lines))


# --- boards ------------------------------------------------------------------------------------

@main.group("boards")
def boards_group() -> None:
    """KPI boards as code: export them to YAML, apply YAML back, list them."""


@boards_group.command("list")
@_format_option
@click.pass_context
def boards_list(ctx) -> None:

    rows = [{"code": b.code, "title": b.title, "owner": b.owner, "share": b.share, "tiles": len(b.tiles)}
            for b in boards_mod.visible(_wh(ctx), _user(ctx))]
    _emit(ctx, rows, "\n".join(f"{r['code']:<24} {r['tiles']:>3} tiles  {r['share']:<9} {r['owner']:<12} {r['title']}"
                               for r in rows) or "(no boards)")


@boards_group.command("export")
@click.option("--out", help="Write to this file instead of stdout.")
@click.pass_context
def boards_export(ctx, out: str | None) -> None:

    text = boards_mod.export(_wh(ctx), out, user=_user(ctx))
    if out:
        echo(f"boards written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@boards_group.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason")
@_format_option
@click.pass_context
def boards_apply(ctx, path: str, reason: str | None) -> None:
    """Create or update the boards in a YAML file; all checked first, nothing saved on a problem."""
    from pathlib import Path


    saved = boards_mod.apply(_wh(ctx), Path(path).read_text(encoding="utf-8"), source=Path(path).name,
                             user=_user(ctx), reason=reason)
    _emit(ctx, saved, "\n".join(f"{code}: version {v}" for code, v in saved.items()))


# --- users, closed periods, audit -----------------------------------------------------------------

@main.group("users")
def users_group() -> None:
    """Local users, their roles and org units (admins only)."""


def _read_password(password_stdin: bool, name: str) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask for the password: pipe it with --password-stdin")
    return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


def _user_row(u) -> dict:
    return {"name": u.name, "role": u.role, "orgs": list(u.orgs), "email": u.email, "active": u.active,
            "password": u.has_password}


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "executive", "manager", "team_lead", "employee"]), required=True)
@click.option("--org", "orgs", multiple=True, help="An org unit the user belongs to (repeat for more).")
@click.option("--email", help="Their identity at the company's OIDC provider, for single sign-on.")
@click.option("--display-name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of asking.")
@click.option("--no-password", is_flag=True, help="No local password (single sign-on only).")
@_format_option
@click.pass_context
def users_add(ctx, name, role, orgs, email, display_name, password_stdin, no_password) -> None:
    """Add a user; asks for their password (there is no default one)."""
    require(_user(ctx), "users")
    password = None if no_password else _read_password(password_stdin, name)
    u = users_mod.add(_wh(ctx), name, role, orgs=orgs, password=password, email=email, display_name=display_name,
                      by=_user(ctx))
    _emit(ctx, _user_row(u), f"user {u.name} added ({u.role}{' of ' + ', '.join(u.orgs) if u.orgs else ''})")


@users_group.command("list")
@_format_option
@click.pass_context
def users_list(ctx) -> None:
    require(_user(ctx), "users")
    rows = [_user_row(u) for u in users_mod.list_users(_wh(ctx))]
    _emit(ctx, rows, "\n".join(f"{r['name']:<16} {r['role']:<10} {'active' if r['active'] else 'disabled':<9} "
                               f"{','.join(r['orgs']):<24} {r['email'] or ''}" for r in rows) or "(no users)")


@users_group.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "executive", "manager", "team_lead", "employee"]))
@click.option("--org", "orgs", multiple=True, help="Replace the user's org units (repeat for more).")
@click.option("--email")
@click.option("--disable", "active", flag_value=False, default=None, help="Refuse their sign-ins from now on.")
@click.option("--enable", "active", flag_value=True)
@click.option("--reason")
@_format_option
@click.pass_context
def users_set(ctx, name, role, orgs, email, active, reason) -> None:
    """Change a user's role, org units, email, or whether they may sign in."""
    u = users_mod.update(_wh(ctx), name, role=role, orgs=list(orgs) if orgs else None, active=active, email=email,
                         by=_user(ctx), reason=reason)
    _emit(ctx, _user_row(u), f"user {u.name}: {u.role}, {', '.join(u.orgs) or 'no units'}, "
                             f"{'active' if u.active else 'disabled'}")


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@click.pass_context
def users_passwd(ctx, name, password_stdin) -> None:
    """Set a user's password (an admin for anyone; a user for themselves)."""
    users_mod.set_password(_wh(ctx), name, _read_password(password_stdin, name), by=_user(ctx))
    echo(f"password of {name} set")


@users_group.command("unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx, name) -> None:
    """Lift a lock-out after repeated failed sign-ins."""
    users_mod.unlock(_wh(ctx), name, by=_user(ctx))
    echo(f"{name} unlocked")


@main.group("periods")
def periods_group() -> None:
    """Closed periods: changing their actuals or targets needs the admin role and a reason."""


@periods_group.command("close")
@click.argument("period")
@click.option("--reason")
@_format_option
@click.pass_context
def periods_close(ctx, period, reason) -> None:
    label = closing.close(_wh(ctx), period, by=_user(ctx), reason=reason)
    _emit(ctx, {"closed": label}, f"{label} closed")


@periods_group.command("reopen")
@click.argument("period")
@click.option("--reason")
@click.pass_context
def periods_reopen(ctx, period, reason) -> None:
    closing.reopen(_wh(ctx), period, by=_user(ctx), reason=reason)
    echo(f"{period} reopened")


@periods_group.command("list")
@_format_option
@click.pass_context
def periods_list(ctx) -> None:
    rows = closing.list_closed(_wh(ctx))
    _emit(ctx, rows, "\n".join(f"{r['period']:<10} {r['closed_by']:<12} {r['closed_at']:%Y-%m-%d %H:%M}  "
                               f"{r['reason'] or ''}" for r in rows) or "(no closed periods)")


@main.group("audit")
def audit_group() -> None:
    """The change log: who, when, what, before, after, why (admins only)."""


def _audit_filters(f):
    for opt in reversed([
        click.option("--who", "who", help="User name."),
        click.option("--action", help="e.g. import, revert, save, login, login_failed."),
        click.option("--object", "object_type", help="e.g. metric, board, batch, user, period."),
        click.option("--key", "object_key", help="The object's code or id."),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (YYYY-MM-DD)."),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="To this day, inclusive."),
        click.option("--text", help="Words anywhere in before, after or reason."),
        click.option("--limit", default=1000, show_default=True),
    ]):
        f = opt(f)
    return f


def _audit_rows(ctx, who, action, object_type, object_key, since, until, text, limit) -> list[dict]:
    q = audit_mod.Search(who, action, object_type, object_key, since.date() if since else None,
                         until.date() if until else None, text)
    return audit_mod.search(_wh(ctx), q, limit=limit, user=_user(ctx))


@audit_group.command("list")
@_audit_filters
@_format_option
@click.pass_context
def audit_list(ctx, **kw) -> None:
    """Newest entries first."""
    rows = _audit_rows(ctx, **kw)
    _emit(ctx, rows, "\n".join(f"{r['id']:>6}  {r['happened_at']:%Y-%m-%d %H:%M:%S}  {r['user_name']:<12} "
                               f"{r['action']:<12} {r['object_type']:<10} {r['object_key'] or '':<16} "
                               f"{r['reason'] or ''}" for r in rows) or "(no entries)")


@audit_group.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="A .xlsx or .csv file.")
@_audit_filters
@click.pass_context
def audit_export(ctx, out, **kw) -> None:
    """Write the matching entries to an Excel or CSV file."""
    rows = _audit_rows(ctx, **kw)
    data = audit_mod.to_csv(rows) if out.lower().endswith(".csv") else audit_mod.to_xlsx(rows)
    Path(out).write_bytes(data)
    echo(f"{len(rows)} entries written to {out}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
