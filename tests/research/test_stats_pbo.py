"""Rung 5: PBO by CSCV: noise grids are overfit (~0.5), a grid with one real edge is not."""

from __future__ import annotations

import numpy as np
import pytest

from research.stats.pbo import cscv_logits, probability_of_backtest_overfitting
from research.verdicts import Verdict


def test_pure_noise_grids_fail_with_pbo_near_one_half():
    # One noise grid's PBO is itself noisy (0.14 to 0.91 over these seeds), so judge the family, not one draw.
    verdicts = [
        probability_of_backtest_overfitting(np.random.default_rng(seed).normal(0.0, 0.01, size=(480, 24)))
        for seed in range(8)
    ]
    assert 0.4 < np.mean([v.numbers["pbo"] for v in verdicts]) < 0.7
    assert sum(v.verdict == Verdict.FAIL for v in verdicts) >= 7
    assert verdicts[0].numbers["n_combinations"] == 12870
    assert sum(verdicts[0].numbers["logit_histogram"]["counts"]) == 12870


def test_grid_with_one_real_edge_passes():
    sweep = np.random.default_rng(6).normal(0.0, 0.01, size=(480, 24))
    sweep[:, 7] += 0.003  # a daily Sharpe of 0.3 against noise
    verdict = probability_of_backtest_overfitting(sweep)
    assert verdict.verdict == Verdict.PASS, verdict.reason
    assert verdict.numbers["pbo"] < 0.05
    assert verdict.reason.startswith("PBO 0.0") and "≤ 0.20" in verdict.reason


def test_anti_persistent_grid_is_rejected():
    # Every column nets exactly zero over the sample, so whatever wins in-sample loses out-of-sample.
    sweep = np.random.default_rng(7).normal(0.0, 0.01, size=(160, 6))
    sweep -= sweep.mean(axis=0)
    verdict = probability_of_backtest_overfitting(sweep)
    assert verdict.verdict == Verdict.FAIL and verdict.numbers["pbo"] > 0.9
    assert verdict.reason.startswith("PBO 1.00 > 0.50: reject")


def test_logits_are_symmetric_for_two_columns():
    sweep = np.random.default_rng(8).normal(0.0, 0.01, size=(64, 2))
    logits, _, _ = cscv_logits(sweep, 4)
    assert logits.size == 6 and set(np.round(logits, 6)) <= {round(np.log(0.5), 6), round(np.log(2.0), 6)}


def test_not_run_for_one_column_or_too_few_days():
    assert probability_of_backtest_overfitting(np.zeros((200, 1))).verdict == Verdict.NOT_RUN
    assert probability_of_backtest_overfitting(np.zeros((20, 5))).verdict == Verdict.NOT_RUN
    assert probability_of_backtest_overfitting(np.zeros((0, 5))).verdict == Verdict.NOT_RUN


def test_bad_inputs_are_one_line_errors():
    sweep = np.zeros((100, 4))
    sweep[1, 2] = np.nan
    with pytest.raises(ValueError, match="^sweep_returns: 1 non-finite"):
        probability_of_backtest_overfitting(sweep)
    with pytest.raises(ValueError, match="^sweep_returns: expected 2-D"):
        probability_of_backtest_overfitting(np.zeros(100))
    with pytest.raises(ValueError, match="^n_partitions: must be even"):
        probability_of_backtest_overfitting(np.zeros((100, 4)), n_partitions=5)
