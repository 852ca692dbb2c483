"""Judge a finished gauntlet: turn its jobs' results into the rungs' inputs and call research.stats for each.

Conventions the rungs share: the chosen point is the grid job whose params are the report's; the sweep matrix is
the grid jobs' daily returns over their common days; N for the deflated Sharpe counts every distinct (bar spec,
params) stored as a BacktestRun for the strategy + instrument, this gauntlet's grid included.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from research.models import GauntletJob, GauntletReport
from research.stats._common import column_sharpes
from research.stats.causality import check_lookahead, check_warmup_sensitivity
from research.stats.costs import check_cost_stress
from research.stats.deflated_sharpe import deflated_sharpe_ratio, trial_sharpe_variance
from research.stats.integrity import check_data_integrity
from research.stats.monte_carlo import monte_carlo_drawdown
from research.stats.pbo import probability_of_backtest_overfitting
from research.stats.sample_size import check_sample_size
from research.stats.spa import hansen_spa
from research.stats.stability import check_parameter_stability
from research.stats.thresholds import GauntletThresholds
from research.stats.walk_forward import judge_walk_forward, walk_forward_from_sweep, walk_forward_windows
from research.verdicts import RungVerdict

# Warm-up: decisions are compared from this many bars after the latest start, at the first instant every run is flat.
WARMUP_COMPARE_BARS = 250
WF_IN_SAMPLE_DAYS = 756  # three years of trading days ...
WF_OUT_SAMPLE_DAYS = 252  # ... then one out of sample


def judge(report: GauntletReport, jobs: list[GauntletJob]) -> list[RungVerdict]:
    """Every rung of the gauntlet, in order (data, causality, sample, costs, DSR, PBO, SPA, WF, stability, MC)."""
    limits = GauntletThresholds.from_mapping(report.thresholds)
    grid = [j for j in jobs if j.kind == "grid"]
    chosen = next((j for j in grid if _same_params(j.spec["params"], report.params)), None)
    if chosen is None:
        raise ValueError("no grid job has the chosen params")
    days, matrix = sweep_matrix(grid)
    chosen_returns = matrix[:, grid.index(chosen)]
    bars = load_bars(report)
    n_trials = count_trials(report.strategy, report.instrument_id)
    windows = walk_forward_windows(days, *_wf_lengths(len(days)))
    wf_results, _ = walk_forward_from_sweep(matrix, windows, params=[j.spec["params"] for j in grid])
    return [
        check_data_integrity(bars, bars.get("rounding"), thresholds=limits),
        check_lookahead(chosen.result["decisions"], _truncated(jobs)),
        _warmup(chosen, jobs, bars),
        check_sample_size(chosen.result["trades"], chosen_returns, n_trials, thresholds=limits),
        _cost_stress(chosen, jobs, limits),
        deflated_sharpe_ratio(chosen_returns, n_trials, _trial_variance(report, matrix), thresholds=limits),
        probability_of_backtest_overfitting(matrix, thresholds=limits),
        hansen_spa(matrix, buy_and_hold(days, bars), thresholds=limits),
        judge_walk_forward(wf_results, thresholds=limits),
        check_parameter_stability(
            [j.spec["params"] for j in grid], _sharpes(matrix), grid.index(chosen), thresholds=limits
        ),
        monte_carlo_drawdown(chosen_returns, thresholds=limits),
    ]


def _same_params(a: dict, b: dict) -> bool:
    return all(a.get(k) == v for k, v in b.items())


def sweep_matrix(grid: list[GauntletJob]) -> tuple[list[str], np.ndarray]:
    """The grid's daily returns as a T x N matrix over the days every run has (all ran over the same bars)."""
    common = sorted(set.intersection(*(set(j.result["days"]) for j in grid)))
    columns = []
    for job in grid:
        by_day = dict(zip(job.result["days"], job.result["returns"], strict=True))
        columns.append([by_day[d] for d in common])
    return common, np.array(columns, dtype=np.float64).T


def load_bars(report: GauntletReport) -> dict[str, Any]:
    """The report's bars as arrays for the data rung, with the catalog's rounding record."""
    from trading.services import prepare_backtest

    window = report.window or {}
    prepared = prepare_backtest(
        report.strategy, report.instrument_id, report.bar_spec, report.params, window.get("start"), window.get("end")
    )
    bars = prepared.bars
    rounding = (prepared.data_notes or {}).get("rounding") or {}
    return {
        "ts": np.fromiter((b.ts_init for b in bars), np.int64, len(bars)),
        "open": np.fromiter((b.open.as_double() for b in bars), np.float64, len(bars)),
        "high": np.fromiter((b.high.as_double() for b in bars), np.float64, len(bars)),
        "low": np.fromiter((b.low.as_double() for b in bars), np.float64, len(bars)),
        "close": np.fromiter((b.close.as_double() for b in bars), np.float64, len(bars)),
        "volume": np.fromiter((b.volume.as_double() for b in bars), np.float64, len(bars)),
        "rounding": {
            "prices_changed": float(rounding.get("prices_changed", 0)),
            "max_change": float(rounding.get("max_change", 0.0)),
        },
    }


def count_trials(strategy: str, instrument_id: str) -> int:
    """Distinct (bar spec, params) among every stored backtest of the strategy on the instrument: the trials."""
    from trading.models import BacktestRun
    from trading.strategies.params import params_key

    seen = {
        (bar_spec, params_key(params))
        for bar_spec, params in BacktestRun.objects.filter(strategy=strategy, instrument_id=instrument_id).values_list(
            "bar_spec", "params"
        )
    }
    return max(len(seen), 1)


def _trial_variance(report: GauntletReport, matrix: np.ndarray) -> float:
    """Variance of the per-day Sharpe across every stored trial (annualised Sharpes / sqrt(252)), or the grid's."""
    from trading.models import BacktestRun

    sharpes = {}
    for bar_spec, params, sharpe in BacktestRun.objects.filter(
        strategy=report.strategy, instrument_id=report.instrument_id, sharpe__isnull=False
    ).values_list("bar_spec", "params", "sharpe"):
        sharpes[(bar_spec, str(sorted(params.items())))] = sharpe / math.sqrt(252)
    if len(sharpes) >= 2:
        return float(np.var(list(sharpes.values()), ddof=1))
    return trial_sharpe_variance(matrix)


def _sharpes(matrix: np.ndarray) -> list[float]:
    """Each grid point's annualised Sharpe (the stability rung compares ratios; its reason shows these)."""
    return [float(x) for x in column_sharpes(matrix) * math.sqrt(252)]


def buy_and_hold(days: list[str], bars: dict[str, Any]) -> np.ndarray:
    """Daily close-to-close returns of holding the instrument, on the sweep's days (0 on the first)."""
    stamps = bars["ts"].astype("datetime64[ns]").astype("datetime64[D]").astype(str)
    last_close: dict[str, float] = {}
    for day, close in zip(stamps, bars["close"], strict=True):
        last_close[str(day)] = float(close)
    closes = np.array([last_close[d] for d in days])
    returns = np.zeros(len(days))
    returns[1:] = closes[1:] / closes[:-1] - 1.0
    return returns


def _truncated(jobs: list[GauntletJob]) -> dict[int, list]:
    return {j.result["data_end_ns"]: j.result["decisions"] for j in jobs if j.kind == "truncated"}


def _warmup(chosen: GauntletJob, jobs: list[GauntletJob], bars: dict[str, Any]) -> RungVerdict:
    """Runs started later must decide as the full run does once every run has warmed up and is flat."""
    later = [j for j in jobs if j.kind == "warmup"]
    latest = max((j.spec["start_bar"] for j in later), default=0)
    # Keyed by the bars each run saw before the latest start: the full run has the longest warm-up.
    runs = {latest: chosen.result["decisions"]}
    runs.update({latest - j.spec["start_bar"]: j.result["decisions"] for j in later})
    ts = bars["ts"]
    start = min(latest + WARMUP_COMPARE_BARS, len(ts) - 1)
    compare_from = next((int(t) for t in ts[start:] if all(_flat_at(d, int(t)) for d in runs.values())), int(ts[-1]))
    return check_warmup_sensitivity(compare_from, decisions=runs)


def _flat_at(decisions: list[dict], ts: int) -> bool:
    position = 0.0
    for d in decisions:
        if d["ts"] < ts:
            position += d["quantity"] if str(d["side"]).upper() == "BUY" else -d["quantity"]
    return abs(position) < 1e-9


def _cost_stress(chosen: GauntletJob, jobs: list[GauntletJob], limits: GauntletThresholds) -> RungVerdict:
    costs = [j for j in jobs if j.kind == "cost"]
    stressed = next(j for j in costs if j.label.startswith("commissions"))
    ladder = [
        {
            "slippage": j.spec["costs"]["slippage_prob"],
            "sharpe": j.result["metrics"].get("sharpe") or 0.0,
            "total_return": j.result["metrics"]["total_return"],
        }
        for j in costs
        if j.label.startswith("slippage")
    ]
    return check_cost_stress(
        gross_pnl=chosen.result["gross_pnl"],
        modelled_cost=chosen.result["commission"],
        sharpe_1x=chosen.result["metrics"].get("sharpe") or 0.0,
        sharpe_3x=stressed.result["metrics"].get("sharpe") or 0.0,
        slippage_ladder=ladder,
        n_trades=len(chosen.result["trades"]),
        thresholds=limits,
    )


def _wf_lengths(days: int) -> tuple[int, int]:
    if days >= WF_IN_SAMPLE_DAYS + 3 * WF_OUT_SAMPLE_DAYS:
        return WF_IN_SAMPLE_DAYS, WF_OUT_SAMPLE_DAYS
    return max(days * 3 // 5, 2), max(days // 5, 1)
