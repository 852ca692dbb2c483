"""Rung 4: the Deflated Sharpe Ratio (Bailey & López de Prado 2014).

DSR = Z[(SR - SR0) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)], with SR the per-period (non-annualised)
Sharpe of the chosen returns, g3 their skewness, g4 their (non-excess) kurtosis, T the number of returns, and
SR0 = sqrt(V[SR_n]) E[max_N] the Sharpe the best of N skill-less trials is expected to reach. V[SR_n] is the
variance of the N trials' per-period Sharpes, in the same units as SR. Moments are the plain sample moments
(the biased estimators, as scipy's defaults), as in the paper.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from research.stats._common import (
    STANDARD_NORMAL,
    check_count,
    column_sharpes,
    expected_max_normal,
    finite_array,
    finite_number,
    moments,
    rounded,
    sharpe,
)
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "deflated_sharpe"
MIN_OBSERVATIONS = 30  # below this the skewness and kurtosis, hence the DSR, are noise


def expected_max_sharpe(n_trials: int, trial_sharpe_variance: float) -> float:
    """SR0: the per-period Sharpe the best of N skill-less trials is expected to reach."""
    return math.sqrt(trial_sharpe_variance) * expected_max_normal(n_trials)


def deflated_sharpe_from_stats(
    sharpe_ratio: float, n_obs: int, skewness: float, kurt: float, n_trials: int, trial_sharpe_variance: float
) -> float:
    """The DSR from the statistics (per-period Sharpe, T, skewness, non-excess kurtosis, N, V[SR_n])."""
    sr0 = expected_max_sharpe(n_trials, trial_sharpe_variance)
    denominator = 1.0 - skewness * sharpe_ratio + (kurt - 1.0) / 4.0 * sharpe_ratio**2
    if denominator <= 0:
        raise ValueError(f"Sharpe variance estimate is not positive ({denominator:.3g})")
    return float(STANDARD_NORMAL.cdf((sharpe_ratio - sr0) * math.sqrt(n_obs - 1) / math.sqrt(denominator)))


def trial_sharpe_variance(sweep_returns: ArrayLike) -> float:
    """V[SR_n]: the variance (ddof 1) of the per-period Sharpes of a T x N sweep's columns."""
    matrix = finite_array(sweep_returns, "sweep_returns", ndim=2)
    if matrix.shape[1] < 2 or matrix.shape[0] < 2:
        raise ValueError(f"sweep_returns: need at least 2 days and 2 trials, got shape {matrix.shape}")
    return float(np.var(column_sharpes(matrix), ddof=1))


def deflated_sharpe_ratio(
    returns: ArrayLike,
    n_trials: int,
    trial_sharpe_variance: float,
    thresholds: GauntletThresholds = DEFAULT_THRESHOLDS,
) -> RungVerdict:
    """Judge the chosen strategy's daily returns by their DSR given N trials and the trials' Sharpe variance."""
    series = finite_array(returns, "returns")
    n_trials = check_count(n_trials, "n_trials")
    variance = finite_number(trial_sharpe_variance, "trial_sharpe_variance")
    if variance < 0:
        raise ValueError(f"trial_sharpe_variance: must be >= 0, got {variance}")
    limits = {"min_dsr": thresholds.min_dsr}
    if series.size < MIN_OBSERVATIONS:
        return not_run(RUNG, f"{series.size} returns, DSR needs at least {MIN_OBSERVATIONS}")
    sr = sharpe(series)
    if sr is None:
        return not_run(RUNG, "returns have zero variance, no Sharpe ratio to deflate")
    g3, g4 = moments(series)
    sr0 = expected_max_sharpe(n_trials, variance)
    numbers = {
        "dsr": None,
        "sharpe": rounded(sr),
        "sharpe_annualised": rounded(sr * math.sqrt(thresholds.periods_per_year)),
        "expected_max_sharpe": rounded(sr0),
        "n_obs": int(series.size),
        "skewness": rounded(g3),
        "kurtosis": rounded(g4),
        "n_trials": n_trials,
        "trial_sharpe_variance": rounded(variance, 10),
    }
    try:
        dsr = deflated_sharpe_from_stats(sr, series.size, g3, g4, n_trials, variance)
    except ValueError as exc:
        return RungVerdict(RUNG, Verdict.NOT_RUN, f"DSR undefined: {exc}", numbers, limits)
    numbers["dsr"] = rounded(dsr)
    passed = dsr >= thresholds.min_dsr
    sign = "≥" if passed else "<"
    reason = f"DSR {dsr:.2f} {sign} {thresholds.min_dsr:.2f} with N = {n_trials} trials"
    reason += f" (Sharpe {sr:.3f}/day vs expected max {sr0:.3f})"
    return RungVerdict(RUNG, Verdict.PASS if passed else Verdict.FAIL, reason, numbers, limits)
