"""What a forecast shows (a board's forecast tile, a cockpit card's line): the period's value as it
builds up, the forecast path to the period end with its 80 % band, the target, and a caption
with the method, its accuracy, the projected attainment and status and the run rate needed."""

from __future__ import annotations

import altair as alt
import pandas as pd

from kpi_core.model import display as fmt
from kpi_core.model.messages import Msg, render
from kpi_core.model.metric import Metric
from kpi_core.present import charts
from kpi_core.query.forecast import Forecast

BAND = "#56B4E9"


def method_name(method: str | None, lang: str) -> str:
    return Msg(f"ui_fc_method_{method or 'none'}").render(lang)


def line(f: Forecast, m: Metric, lang: str = "zh") -> str:
    """One line for a cockpit card: the forecast, its interval, projected attainment, the run rate needed."""
    if f.reason is not None:
        return Msg("ui_fc_none", why=f.reason).render(lang)
    text = Msg("ui_fc_line", value=fmt.value(f.value, m.unit, lang), low=fmt.value(f.low, m.unit, lang),
               high=fmt.value(f.high, m.unit, lang), attainment=fmt.attainment(f.projected_attainment),
               status=Msg(f"ui_status_{f.projected_status}")).render(lang)
    if f.run_rate_needed is not None:
        text += Msg("ui_fc_needed", rate=fmt.value(f.run_rate_needed, m.unit, lang)).render(lang)
    return text


def caption(f: Forecast, m: Metric, lang: str = "zh") -> str:
    """The tile's caption: the line above, then how it was made and how accurate that has been."""
    if f.reason is not None:
        return line(f, m, lang)
    accuracy = Msg("ui_fc_accuracy", method=method_name(f.method, lang),
                   mase=fmt.DASH if f.mase is None else f"{f.mase:.2f}",
                   mape=fmt.DASH if f.mape is None else fmt.percent(f.mape)).render(lang)
    return f"{line(f, m, lang)} · {accuracy}"


COLUMNS = ["period", "value", "low", "high", "kind", "target", "value_text", "metric", "metric_unit", "lang"]


def frame(f: Forecast, m: Metric, lang: str = "zh") -> pd.DataFrame:
    """The path as rows (period, value, low, high, kind, the value's text), the target on each row,
    and what the chart needs to write the numbers: the metric, its unit and the language."""
    rows = [{"period": r["period"], "value": r["value"], "low": r["low"], "high": r["high"],
             "kind": Msg(f"ui_fc_kind_{r['kind']}").render(lang), "target": f.target,
             "value_text": fmt.value(r["value"], m.unit, lang), "metric": m.display_name(lang),
             "metric_unit": m.unit or "", "lang": lang} for r in f.path]
    return pd.DataFrame(rows, columns=COLUMNS)


def spec(f: Forecast, m: Metric, lang: str = "zh") -> dict | None:
    """The chart as a Vega-Lite dict: the value to date, the forecast to the period end in its band,
    the whole period's target as a dashed rule; None when there is nothing to draw."""
    built = chart(frame(f, m, lang), m.unit, lang)
    if built is None:
        return None
    with alt.utils.schemapi.debug_mode(False):
        return built.to_dict(validate=False)


def chart(df: pd.DataFrame, unit: str | None, lang: str = "zh") -> alt.LayerChart | None:
    """The chart of a frame() (a board tile draws it from its frame): None when it has no rows."""
    if df.empty:
        return None
    target = df["target"].dropna()
    words = {k: Msg(f"ui_fc_{k}").render(lang) for k in ("value", "target", "band")}
    x = alt.X("period:N", title=None, sort=None, axis=alt.Axis(labelAngle=0))
    y_axis = charts.value_axis(unit, lang, charts.titled(words["value"], unit, lang))
    base = alt.Chart(df).encode(x=x)
    band = base.transform_filter(alt.datum.low != None).mark_area(opacity=0.25, color=BAND).encode(  # noqa: E711
        y=alt.Y("low:Q", axis=y_axis, scale=alt.Scale(zero=False)), y2="high:Q")
    path = base.mark_line(point=True, strokeWidth=2).encode(
        y=alt.Y("value:Q", axis=y_axis, scale=alt.Scale(zero=False)),
        strokeDash=alt.StrokeDash("kind:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=[alt.Tooltip("period:N"), alt.Tooltip("value_text:N", title=words["value"])])
    layers = [band, path]
    if not target.empty:
        layers.append(alt.Chart(pd.DataFrame({"target": [float(target.iloc[0])]}))
                      .mark_rule(strokeDash=[5, 4], color="#333").encode(y="target:Q"))
    return alt.layer(*layers).properties(height=240)


def fields(f: Forecast, m: Metric, unit_name: str, lang: str = "zh") -> list[tuple[str, object, str | None]]:
    """The forecast's fields for a sheet: (label, value, Excel number format or None); numbers stay
    numbers, words are in `lang`, nothing is None where a text can say it."""
    def word(code: str) -> str:
        return Msg(f"ui_{code}").render(lang)

    notes = "; ".join(render(n, lang) for n in f.notes)
    rows: list[tuple[str, object, str | None]] = [
        (word("metric"), m.display_name(lang), None), (word("org_unit"), unit_name, None),
        (word("period"), f.period, None), (word("fc_f_method"), method_name(f.method, lang), None),
        (word("fc_f_value"), f.value, None), (word("fc_low"), f.low, None), (word("fc_high"), f.high, None),
        (word("fc_f_target"), f.target, None), (word("fc_f_to_date"), f.actual_to_date, None),
        (word("fc_f_done"), f.months_done, None), (word("fc_f_left"), f.months_left, None),
        (word("fc_f_attainment"), f.projected_attainment, "0.0%"),
        (word("fc_f_status"), Msg(f"ui_status_{f.projected_status}").render(lang), None),
        (word("fc_f_needed"), f.run_rate_needed, None), (word("fc_f_mase"), f.mase, "0.00"),
        (word("fc_f_mape"), f.mape, "0.0%"), (word("fc_f_notes"), notes, None)]
    if f.reason is not None:
        rows.append((word("fc_f_reason"), render(f.reason, lang), None))
    return rows
