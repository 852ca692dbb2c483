"""Rung 5: the Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado & Zhu (2015), "The probability of backtest overfitting": the T x N matrix of
daily returns (N parameter sets) is cut into S contiguous row blocks (np.array_split, so sizes differ by at
most one row when S does not divide T). For every choice of S/2 blocks as in-sample (the rest out-of-sample)
the in-sample best column by Sharpe is found, w is its out-of-sample rank / (N + 1) (ranks 1..N ascending,
ties averaged) and its logit l = ln(w / (1 - w)). PBO is the share of combinations with l <= 0: the in-sample
winner at or below the out-of-sample median.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
from numpy.typing import ArrayLike

from research.stats._common import FloatArray, check_count, finite_array, json_list, rounded
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "pbo"
_CHUNK = 2048  # combinations per matrix product, so memory stays at a few MB whatever N is
_HISTOGRAM_BINS = 20


def _sharpes(sums: FloatArray, squares: FloatArray, counts: FloatArray) -> FloatArray:
    # Per-period Sharpe of each column from block sums: mean / sample std, 0 where a column does not vary.
    mean = sums / counts[:, None]
    var = (squares - counts[:, None] * mean**2) / (counts[:, None] - 1)
    std = np.sqrt(np.clip(var, 0.0, None))
    out = np.zeros_like(mean)
    ok = std > 1e-12
    out[ok] = mean[ok] / std[ok]
    return out


def cscv_logits(sweep_returns: FloatArray, n_partitions: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per combination: the logit of the IS winner's OOS rank, its IS Sharpe and its OOS Sharpe."""
    n_cols = sweep_returns.shape[1]
    blocks = np.array_split(sweep_returns, n_partitions, axis=0)
    block_sums = np.stack([b.sum(axis=0) for b in blocks])
    block_squares = np.stack([(b**2).sum(axis=0) for b in blocks])
    block_counts = np.array([b.shape[0] for b in blocks], dtype=np.float64)
    totals = (block_sums.sum(axis=0), block_squares.sum(axis=0), block_counts.sum())
    logits, is_best, oos_best = [], [], []
    combos = combinations(range(n_partitions), n_partitions // 2)
    while chunk := [c for _, c in zip(range(_CHUNK), combos, strict=False)]:
        mask = np.zeros((len(chunk), n_partitions))
        mask[np.repeat(np.arange(len(chunk)), n_partitions // 2), np.concatenate(chunk)] = 1.0
        is_sums, is_squares, is_counts = mask @ block_sums, mask @ block_squares, mask @ block_counts
        is_sharpe = _sharpes(is_sums, is_squares, is_counts)
        oos_sharpe = _sharpes(totals[0] - is_sums, totals[1] - is_squares, totals[2] - is_counts)
        rows = np.arange(len(chunk))
        best = np.argmax(is_sharpe, axis=1)
        chosen_oos = oos_sharpe[rows, best]
        below = np.sum(oos_sharpe < chosen_oos[:, None], axis=1)
        ties = np.sum(oos_sharpe == chosen_oos[:, None], axis=1)
        omega = (below + (ties + 1) / 2) / (n_cols + 1)
        logits.append(np.log(omega / (1 - omega)))
        is_best.append(is_sharpe[rows, best])
        oos_best.append(chosen_oos)
    return np.concatenate(logits), np.concatenate(is_best), np.concatenate(oos_best)


def probability_of_backtest_overfitting(
    sweep_returns: ArrayLike,
    n_partitions: int | None = None,
    thresholds: GauntletThresholds = DEFAULT_THRESHOLDS,
) -> RungVerdict:
    """PBO by CSCV over a T x N sweep of daily returns (default S = thresholds.pbo_partitions, 16)."""
    matrix = finite_array(sweep_returns, "sweep_returns", ndim=2)
    partitions = check_count(thresholds.pbo_partitions if n_partitions is None else n_partitions, "n_partitions", 2)
    if partitions % 2:
        raise ValueError(f"n_partitions: must be even, got {partitions}")
    limits = {"max_pbo": thresholds.max_pbo, "reject_pbo": thresholds.reject_pbo, "n_partitions": partitions}
    n_days, n_cols = matrix.shape
    if n_cols < 2:
        return not_run(RUNG, f"PBO needs at least 2 parameter sets, got {n_cols}")
    if n_days < 2 * partitions:
        return not_run(RUNG, f"{n_days} days are too few for {partitions} partitions of at least 2 days")
    logits, is_best, oos_best = cscv_logits(matrix, partitions)
    pbo = float(np.mean(logits <= 0))
    counts, edges = np.histogram(logits, bins=_HISTOGRAM_BINS)
    # Degradation: how the IS winner's OOS Sharpe follows its IS Sharpe (slope < 1 is decay, < 0 reversal).
    slope = float(np.polyfit(is_best, oos_best, 1)[0]) if np.ptp(is_best) > 0 else None
    numbers = {
        "pbo": rounded(pbo),
        "n_combinations": comb(partitions, partitions // 2),
        "n_days": n_days,
        "n_parameter_sets": n_cols,
        "logit_median": rounded(float(np.median(logits))),
        "logit_histogram": {"edges": json_list(edges), "counts": [int(c) for c in counts]},
        "oos_loss_probability": rounded(float(np.mean(oos_best < 0))),
        "degradation_slope": rounded(slope),
    }
    head = f"PBO {pbo:.2f}"
    if pbo <= thresholds.max_pbo:
        reason = f"{head} ≤ {thresholds.max_pbo:.2f} over {numbers['n_combinations']} CSCV splits of {n_cols} sets"
        return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
    if pbo > thresholds.reject_pbo:
        reason = f"{head} > {thresholds.reject_pbo:.2f}: reject, the in-sample winner is more likely than not overfit"
    else:
        reason = f"{head} > {thresholds.max_pbo:.2f} over {numbers['n_combinations']} CSCV splits of {n_cols} sets"
    return RungVerdict(RUNG, Verdict.FAIL, reason, numbers, limits)
