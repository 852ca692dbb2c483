"""Rung 9: Monte Carlo of the daily returns by block bootstrap: drawdown and loss over a horizon.

Losses cluster, so reshuffling days independently breaks the losing streaks up and understates drawdown; the
paths are drawn with arch's stationary (default) or circular block bootstrap, mean block mc_block_size (10
days), seeded with thresholds.seed. Each path is mc_horizon_days (252) long: the first days of one resample of
the whole series, or several independent resamples joined when the horizon is longer than the history (the
join is one more block boundary). Equity compounds from 1; the rung passes when the mc_drawdown_quantile
(95th) percentile of the paths' maximum drawdowns is within the risk budget mc_max_drawdown (25%) and the
share of paths ending below 1 is at most mc_max_loss_prob (5%).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from arch.bootstrap import CircularBlockBootstrap, IIDBootstrap, StationaryBootstrap
from numpy.typing import ArrayLike

from research.stats._common import FloatArray, check_count, finite_array, json_list, max_drawdowns, rounded
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "monte_carlo"
Method = Literal["stationary", "circular", "iid"]
MIN_DAYS = 60  # fewer days than this hold too few distinct blocks to resample
_HISTOGRAM_BINS = 25


def bootstrap_paths(
    returns: FloatArray, horizon: int, n_sims: int, block_size: int, method: Method = "stationary", seed: int = 0
) -> FloatArray:
    """n_sims x horizon resampled daily returns; "iid" is the day-by-day reshuffle, for comparison only."""
    horizon = check_count(horizon, "horizon")
    n_sims = check_count(n_sims, "n_sims")
    block_size = check_count(block_size, "block_size")
    if method == "stationary":
        bootstrap: IIDBootstrap = StationaryBootstrap(block_size, returns, seed=seed)
    elif method == "circular":
        bootstrap = CircularBlockBootstrap(block_size, returns, seed=seed)
    elif method == "iid":
        bootstrap = IIDBootstrap(returns, seed=seed)
    else:
        raise ValueError(f"method: must be stationary, circular or iid, got {method!r}")
    per_path = math.ceil(horizon / returns.size)
    # Keep only the days a path uses, so a long history does not hold n_sims full resamples in memory.
    keep = min(horizon, returns.size)
    draws = [data[0][0][:keep] for data in bootstrap.bootstrap(n_sims * per_path)]
    paths: FloatArray = np.asarray(draws, dtype=np.float64).reshape(n_sims, per_path * keep)
    return paths[:, :horizon]


def monte_carlo_drawdown(
    daily_returns: ArrayLike, method: Method = "stationary", thresholds: GauntletThresholds = DEFAULT_THRESHOLDS
) -> RungVerdict:
    """Pass when the bootstrapped 95th-percentile max drawdown and P(loss) over the horizon are within budget."""
    returns = finite_array(daily_returns, "daily_returns")
    if np.any(returns <= -1):
        raise ValueError("daily_returns: a return of -100% or worse leaves nothing to compound")
    q = thresholds.mc_drawdown_quantile
    limits = {
        "mc_max_drawdown": thresholds.mc_max_drawdown,
        "mc_drawdown_quantile": q,
        "mc_max_loss_prob": thresholds.mc_max_loss_prob,
        "mc_horizon_days": thresholds.mc_horizon_days,
        "mc_n_sims": thresholds.mc_n_sims,
        "mc_block_size": thresholds.mc_block_size,
        "seed": thresholds.seed,
        "method": method,
    }
    if returns.size < MIN_DAYS:
        return not_run(RUNG, f"{returns.size} daily returns, the bootstrap needs at least {MIN_DAYS}")
    paths = bootstrap_paths(
        returns, thresholds.mc_horizon_days, thresholds.mc_n_sims, thresholds.mc_block_size, method, thresholds.seed
    )
    drawdowns = max_drawdowns(paths)
    final = np.prod(1.0 + paths, axis=1) - 1.0
    dd_q = float(np.quantile(drawdowns, q))
    p_loss = float(np.mean(final < 0))
    counts, edges = np.histogram(drawdowns, bins=_HISTOGRAM_BINS, range=(0.0, max(float(drawdowns.max()), 1e-9)))
    numbers = {
        "drawdown_quantile": rounded(dd_q),
        "loss_probability": rounded(p_loss),
        "median_drawdown": rounded(float(np.median(drawdowns))),
        "final_return_percentiles": dict(
            zip(("p5", "p50", "p95"), json_list(np.quantile(final, [0.05, 0.5, 0.95])), strict=True)
        ),
        "drawdown_histogram": {"edges": json_list(edges), "counts": [int(c) for c in counts]},
        "n_days": int(returns.size),
    }
    pct = f"{q * 100:g}th-percentile drawdown"
    horizon = f"{thresholds.mc_horizon_days} days"
    problems = []
    if dd_q > thresholds.mc_max_drawdown:
        problems.append(f"{pct} {dd_q:.1%} > budget {thresholds.mc_max_drawdown:.0%}")
    if p_loss > thresholds.mc_max_loss_prob:
        problems.append(f"P(loss over {horizon}) {p_loss:.1%} > {thresholds.mc_max_loss_prob:.0%}")
    if problems:
        return RungVerdict(RUNG, Verdict.FAIL, "; ".join(problems), numbers, limits)
    reason = (
        f"{pct} {dd_q:.1%} ≤ budget {thresholds.mc_max_drawdown:.0%};"
        f" P(loss over {horizon}) {p_loss:.1%} ≤ {thresholds.mc_max_loss_prob:.0%}"
    )
    return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
