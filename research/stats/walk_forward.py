"""Rung 7: walk-forward: rolling in-sample/out-of-sample windows, their efficiency and OOS consistency.

Walk-forward efficiency (Pardo) = mean OOS annualised performance / mean IS annualised performance of the
IS-best parameters, a ratio of means rather than a mean of ratios so one window with a near-zero IS figure
cannot swamp it. It must reach min_wf_efficiency (0.5) and at least min_wf_positive_frac (70%) of the OOS
windows must be positive. With IS performance <= 0 the optimiser found nothing, which fails.

walk_forward_from_sweep re-optimises over the sweep itself: in each window it picks the column with the best
IS figure and reads that column's OOS figure from the same T x N matrix. This needs no extra backtests and is
exact when the sweep grid is the re-optimisation space and the strategy's state does not carry across the
window boundary (each column is one continuous run, so indicators are already warm at the OOS start).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from research.stats._common import FloatArray, check_count, column_sharpes, finite_array, finite_number, rounded
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "walk_forward"
Metric = Literal["sharpe", "return"]


@dataclass(frozen=True)
class WalkForwardWindow:
    """One window as half-open row ranges [start, stop) of the daily series, with date labels when given."""

    index: int
    is_start: int
    is_stop: int
    oos_start: int
    oos_stop: int
    labels: tuple[str, str, str, str] | None = None  # first/last IS date, first/last OOS date

    def as_dict(self) -> dict[str, Any]:
        """The window as a JSON-ready dict."""
        data: dict[str, Any] = {
            "index": self.index,
            "is": [self.is_start, self.is_stop],
            "oos": [self.oos_start, self.oos_stop],
        }
        if self.labels:
            data["is_dates"], data["oos_dates"] = list(self.labels[:2]), list(self.labels[2:])
        return data


@dataclass(frozen=True)
class WindowResult:
    """One window's IS-best parameters' annualised IS performance and the same parameters' OOS performance."""

    is_performance: float
    oos_performance: float
    params: Mapping[str, Any] | None = None
    window: WalkForwardWindow | None = None


def walk_forward_windows(
    bars: int | Sequence[Any], in_sample: int, out_sample: int, step: int | None = None
) -> list[WalkForwardWindow]:
    """Rolling windows of in_sample then out_sample rows, moved by step (default out_sample); full OOS only."""
    n = check_count(bars, "n_bars", 0) if isinstance(bars, int) else len(bars)
    in_sample = check_count(in_sample, "in_sample")
    out_sample = check_count(out_sample, "out_sample")
    step = out_sample if step is None else check_count(step, "step")
    windows: list[WalkForwardWindow] = []
    start = 0
    # A partial last OOS window is dropped: a few days annualised would weigh as much as a full window.
    while start + in_sample + out_sample <= n:
        oos = start + in_sample
        labels = None
        if not isinstance(bars, int):
            labels = (str(bars[start]), str(bars[oos - 1]), str(bars[oos]), str(bars[oos + out_sample - 1]))
        windows.append(WalkForwardWindow(len(windows), start, oos, oos, oos + out_sample, labels))
        start += step
    return windows


def annualised(returns: FloatArray, metric: Metric, periods_per_year: int) -> FloatArray:
    """Each column's annualised Sharpe, or annualised arithmetic mean return."""
    if metric == "sharpe":
        result: FloatArray = column_sharpes(returns) * math.sqrt(periods_per_year)
        return result
    mean: FloatArray = returns.mean(axis=0) * periods_per_year
    return mean


def walk_forward_from_sweep(
    sweep_returns: ArrayLike,
    windows: Sequence[WalkForwardWindow],
    params: Sequence[Mapping[str, Any]] | None = None,
    metric: Metric = "sharpe",
    periods_per_year: int = 252,
) -> tuple[list[WindowResult], FloatArray]:
    """Per window, the IS-best sweep column's IS and OOS figures, and the stitched OOS daily returns."""
    matrix = finite_array(sweep_returns, "sweep_returns", ndim=2)
    if params is not None and len(params) != matrix.shape[1]:
        raise ValueError(f"params: {len(params)} parameter sets, the sweep has {matrix.shape[1]} columns")
    results, pieces = [], []
    for window in windows:
        if window.oos_stop > matrix.shape[0]:
            raise ValueError(f"windows: window {window.index} ends at row {window.oos_stop} > {matrix.shape[0]}")
        is_perf = annualised(matrix[window.is_start : window.is_stop], metric, periods_per_year)
        best = int(np.argmax(is_perf))
        oos_rows = matrix[window.oos_start : window.oos_stop, best : best + 1]
        oos_perf = float(annualised(oos_rows, metric, periods_per_year)[0])
        chosen = None if params is None else params[best]
        results.append(WindowResult(float(is_perf[best]), oos_perf, chosen, window))
        pieces.append(oos_rows[:, 0])
    return results, (np.concatenate(pieces) if pieces else np.zeros(0))


def judge_walk_forward(
    results: Sequence[WindowResult | Mapping[str, Any]], thresholds: GauntletThresholds = DEFAULT_THRESHOLDS
) -> RungVerdict:
    """Pass when WFE (mean OOS / mean IS) >= min_wf_efficiency and enough OOS windows are positive."""
    rows = [
        r if isinstance(r, WindowResult) else WindowResult(r["is_performance"], r["oos_performance"]) for r in results
    ]
    limits = {
        "min_wf_efficiency": thresholds.min_wf_efficiency,
        "min_wf_positive_frac": thresholds.min_wf_positive_frac,
    }
    if not rows:
        return not_run(RUNG, "no walk-forward windows")
    is_perf = np.array([finite_number(r.is_performance, "is_performance") for r in rows])
    oos_perf = np.array([finite_number(r.oos_performance, "oos_performance") for r in rows])
    mean_is, mean_oos = float(is_perf.mean()), float(oos_perf.mean())
    positive = float(np.mean(oos_perf > 0))
    wfe = mean_oos / mean_is if mean_is > 0 else None
    numbers = {
        "n_windows": len(rows),
        "wf_efficiency": rounded(wfe),
        "mean_is": rounded(mean_is),
        "mean_oos": rounded(mean_oos),
        "oos_positive_frac": rounded(positive),
        "windows": [
            {
                "is": rounded(r.is_performance),
                "oos": rounded(r.oos_performance),
                "params": None if r.params is None else dict(r.params),
                "window": None if r.window is None else r.window.as_dict(),
            }
            for r in rows
        ],
    }
    share = f"{positive:.0%} of {len(rows)} OOS windows positive"
    if wfe is None:
        reason = f"in-sample performance {mean_is:.2f} ≤ 0: optimisation found no edge; {share}"
        return RungVerdict(RUNG, Verdict.FAIL, reason, numbers, limits)
    problems = []
    if wfe < thresholds.min_wf_efficiency:
        problems.append(f"WFE {wfe:.2f} < {thresholds.min_wf_efficiency:g}")
    if positive < thresholds.min_wf_positive_frac:
        problems.append(f"{share} < {thresholds.min_wf_positive_frac:.0%}")
    if problems:
        return RungVerdict(RUNG, Verdict.FAIL, "; ".join(problems), numbers, limits)
    reason = f"WFE {wfe:.2f} ≥ {thresholds.min_wf_efficiency:g}; {share} ≥ {thresholds.min_wf_positive_frac:.0%}"
    return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
