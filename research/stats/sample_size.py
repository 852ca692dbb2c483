"""Rung 2: enough trades, and a backtest at least the Minimum Backtest Length for the trials run.

MinBTL (Bailey, Borwein, López de Prado & Zhu 2014, "Pseudo-mathematics and financial charlatanism"): the
years of data needed so that the best of N skill-less configurations is not expected to show an annualised
in-sample Sharpe of SR, MinBTL ~ (E[max_N] / SR)^2 with E[max_N] ~ (1 - g) Z^-1[1 - 1/N] + g Z^-1[1 - 1/(N e)].
The paper's example: with 5 years of data no more than 45 configurations should be tried for SR 1 (MinBTL(45,
1) ~ 5.0 years). Here SR is the chosen strategy's annualised Sharpe and the length is its count of daily
returns over periods_per_year.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from numpy.typing import ArrayLike

from research.stats._common import check_count, expected_max_normal, finite_array, finite_number, rounded, sharpe
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "sample_size"


def minimum_backtest_length(n_trials: int, annual_sharpe: float) -> float:
    """MinBTL in years for N trials and an annualised Sharpe; inf when the Sharpe is not positive."""
    n_trials = check_count(n_trials, "n_trials")
    annual_sharpe = finite_number(annual_sharpe, "annual_sharpe")
    if annual_sharpe <= 0:
        return math.inf
    return (expected_max_normal(n_trials) / annual_sharpe) ** 2


def check_sample_size(
    trades: Sequence[Mapping[str, Any]],
    daily_returns: ArrayLike,
    n_trials: int,
    thresholds: GauntletThresholds = DEFAULT_THRESHOLDS,
) -> RungVerdict:
    """Pass with at least min_trades trades and a backtest no shorter than MinBTL for N trials."""
    returns = finite_array(daily_returns, "daily_returns")
    n_trials = check_count(n_trials, "n_trials")
    n_trades = len(trades)
    limits = {"min_trades": thresholds.min_trades}
    if returns.size < 2:
        return not_run(RUNG, f"{returns.size} daily returns: no backtest length or Sharpe to judge")
    years = returns.size / thresholds.periods_per_year
    sr = sharpe(returns)
    annual = None if sr is None else sr * math.sqrt(thresholds.periods_per_year)
    min_btl = math.inf if annual is None else minimum_backtest_length(n_trials, annual)
    numbers = {
        "n_trades": n_trades,
        "years": rounded(years, 3),
        "annual_sharpe": rounded(annual),
        "n_trials": n_trials,
        "min_backtest_length_years": rounded(min_btl, 3),
        "expected_max_of_n": rounded(expected_max_normal(n_trials)),
    }
    problems = []
    if n_trades < thresholds.min_trades:
        problems.append(f"{n_trades} trades < {thresholds.min_trades}")
    if annual is None:
        problems.append("returns have no variance, MinBTL undefined")
    elif annual <= 0:
        problems.append(f"annual Sharpe {annual:.2f} ≤ 0, no backtest length is enough")
    elif years < min_btl:
        problems.append(f"{years:.1f} years < MinBTL {min_btl:.1f} for N = {n_trials} at Sharpe {annual:.2f}")
    if problems:
        return RungVerdict(RUNG, Verdict.FAIL, "; ".join(problems), numbers, limits)
    reason = (
        f"{n_trades} trades ≥ {thresholds.min_trades}; {years:.1f} years ≥ MinBTL {min_btl:.1f}"
        f" for N = {n_trials} at Sharpe {annual:.2f}"
    )
    return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
