"""kpi forecast: a metric's period-end forecast at one org unit, with its accuracy (SPEC §9)."""

from __future__ import annotations

import click

from kpi_core.cli.app import actor_of, emit, format_option, main, number_text, warehouse_of
from kpi_core.query.forecast import Forecast, forecast


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def text(f: Forecast) -> str:
    """One readable block: the forecast, its interval, what it means for the target, its accuracy."""
    head = f"{f.metric} @ {f.org}, {f.period}"
    if f.reason:
        return f"{head}: no forecast: {f.reason}"
    lines = [head,
             f"  forecast        {number_text(f.value)}  (80 % interval {number_text(f.low)} .. {number_text(f.high)})",
             f"  actual to date  {number_text(f.actual_to_date)}  ({f.months_done} done, {f.months_left} left)",
             f"  target          {number_text(f.target)}",
             f"  projected       {_pct(f.projected_attainment)} of target, {f.projected_status}",
             f"  run rate needed {number_text(f.run_rate_needed)} per period left",
             f"  method          {f.method}  (MASE {number_text(f.mase)}, MAPE {_pct(f.mape)})"]
    lines += [f"    backtest {k:<15} MASE {number_text(s['mase']):>8}  MAPE {_pct(s['mape']):>7}  "
              f"({s['origins']} origins)" for k, s in f.backtest.items()]
    lines += [f"    component {k:<14} {v['method']}: {number_text(v['value'])}" for k, v in f.components.items()]
    lines += [f"  note: {n}" for n in f.notes]
    return "\n".join(lines)


@main.command("forecast")
@click.option("--metric", required=True, help="Metric code.")
@click.option("--org", required=True, help="Org unit code.")
@click.option("--period", required=True, help="A period in progress: 2026-11, 2026-Q4 or 2026.")
@format_option
@click.pass_context
def forecast_cmd(ctx, metric: str, org: str, period: str) -> None:
    """The period-end forecast with an 80 % interval, its backtest accuracy, and what it means for the target."""
    f = forecast(warehouse_of(ctx), metric, org, period, actor=actor_of(ctx))
    emit(ctx, f.as_dict(), text(f))
