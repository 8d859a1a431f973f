"""ETS (exponential smoothing) forecasts from statsmodels' Holt-Winters, chosen by AICc.

The models tried grow with the history: simple exponential smoothing (ETS A,N,N) from 4 points
and a damped additive trend (A,Ad,N) from 8; the one with the lowest AICc forecasts. No seasonal
ETS: its twelve seasonal states take a numerical optimiser about 0.4 s a fit (a backtest refits
it a dozen times per series), and last year's shape is already a candidate (forecast_methods).
statsmodels is imported on the first forecast, not with this module: its import takes about 2 s,
which every CLI command and page would otherwise pay (only kpi_core imports must be at module
level; this is a third-party one).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence

import numpy as np

MIN_POINTS = 4          # fewer: no ETS (a smoothing level cannot be estimated from 3 points)
TREND_POINTS = 8        # from here a damped trend is tried too


def _models(n: int) -> list[dict]:
    """The ETS variants worth fitting to `n` points."""
    return [{"trend": None}] + ([{"trend": "add", "damped_trend": True}] if n >= TREND_POINTS else [])


def ets(y: Sequence[float], h: int, season: int | None = 12) -> list[float] | None:
    """The next `h` values from the best-fitting ETS model; None when the history is too short
    or no model fits to finite values. (`season` is taken for the methods' common signature.)"""
    if len(y) < MIN_POINTS or h < 1:
        return None
    # A fit is a handful of numbers: OpenBLAS threads only contend for the CPUs (eight times slower on
    # a busy two-CPU machine, measured). Read when scipy's OpenBLAS loads, so set before the first import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # here: see the module's docstring

    data = np.asarray(y, dtype=float)
    if float(np.ptp(data)) == 0.0:  # a constant: every ETS model says the constant (and the optimiser warns)
        return [float(data[-1])] * h
    best: tuple[float, list[float]] | None = None
    for spec in _models(len(data)):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # convergence notes on short series: judged by the backtest instead
            try:
                fit = ExponentialSmoothing(data, initialization_method="estimated", **spec).fit(use_brute=False)
            except (ValueError, np.linalg.LinAlgError):
                continue
        path = [float(v) for v in fit.forecast(h)]
        score = float(fit.aicc)
        if not all(math.isfinite(v) for v in path):
            continue
        if not math.isfinite(score):
            score = math.inf
        if best is None or score < best[0]:
            best = (score, path)
    return None if best is None else best[1]
