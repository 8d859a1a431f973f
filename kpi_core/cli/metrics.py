"""kpi metrics: the metric dictionary as YAML (apply, export) and its listing."""

from __future__ import annotations

from pathlib import Path

import click

from kpi_core.cli.app import actor_of, echo, emit, format_option, main, warehouse_of
from kpi_core.model.errors import KpiError, ValidationFailed
from kpi_core.model.messages import LANGS, render
from kpi_core.model.metric import smart_gaps
from kpi_core.store import dictionary


@main.group("metrics")
def metrics_group() -> None:
    """The metric dictionary (指标中心)."""


@metrics_group.command("apply")
@click.argument("path", type=click.Path(exists=True))
@click.option("--reason", help="Why the definitions change (kept with the new versions).")
@click.option("--dry-run", is_flag=True)
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True,
              help="Language of the problems a refused definition is told with (zh: 中文).")
@format_option
@click.pass_context
def metrics_apply(ctx, path: str, reason: str | None, dry_run: bool, lang: str) -> None:
    """Create or update definitions from a YAML file or directory (versioned)."""
    try:
        r = dictionary.apply(warehouse_of(ctx), path, reason=reason, user=actor_of(ctx), dry_run=dry_run)
    except KpiError as exc:
        raise in_language(exc, lang) from None
    text = (f"{'would create' if dry_run else 'created'} {len(r.created)}, "
            f"{'would update' if dry_run else 'updated'} {len(r.updated)}, unchanged {len(r.unchanged)}")
    for what, codes in (("created", r.created), ("updated", r.updated)):
        if codes:
            text += f"\n  {what}: {', '.join(codes)}"
    emit(ctx, r.as_dict(), text)


@metrics_group.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write DIR/metrics.yaml.")
@click.pass_context
def metrics_export(ctx, out_dir: str | None) -> None:
    """The dictionary as YAML (applies back to the same definitions)."""
    text = dictionary.export(warehouse_of(ctx), out_dir)
    if out_dir:
        echo(f"wrote {Path(out_dir) / 'metrics.yaml'}")
    else:
        click.echo(text, nl=False)


@metrics_group.command("list")
@format_option
@click.pass_context
def metrics_list(ctx) -> None:
    """Every metric: code, name, source, direction and SMART gaps."""
    rows = [{"code": m.code, "name": m.name, "source": m.source_type, "direction": m.direction,
             "perspective": m.perspective, "unit": m.unit, "smart_gaps": smart_gaps(m)}
            for m in dictionary.current(warehouse_of(ctx)).values()]
    lines = [f"{r['code']:<28} {r['source']:<8} {r['direction']:<17} {r['name']}"
             + (f"  [SMART: {' '.join(g[0] for g in r['smart_gaps'])}]" if r["smart_gaps"] else "")
             for r in rows]
    emit(ctx, rows, "\n".join(lines) or "(no metrics)")


@metrics_group.command("show")
@click.argument("code")
@format_option
@click.pass_context
def metrics_show(ctx, code: str) -> None:
    """One metric: its definition, SMART gaps and version history."""
    wh = warehouse_of(ctx)
    m = dictionary.get(wh, code)
    data = {"definition": m.definition(), "smart_gaps": smart_gaps(m),
            "versions": dictionary.history(wh, code)}
    text = dictionary.to_yaml([m]) + "SMART gaps:\n" + (
        "\n".join(f"  {g}" for g in data["smart_gaps"]) or "  none") + "\nversions:\n" + "\n".join(
        f"  v{v['version']}  {v['at'][:19]}  {v['user']}  {v['reason'] or ''}" for v in data["versions"])
    emit(ctx, data, text)


def in_language(exc: KpiError, lang: str) -> KpiError:
    """The refusal with its message and each problem in `lang` (English: as it is)."""
    if lang == "en":
        return exc
    text = render(exc.args[0] if exc.args else str(exc), lang)
    if isinstance(exc, ValidationFailed):
        return type(exc)(text, [render(p, lang) for p in exc.problems])
    return type(exc)(text)
