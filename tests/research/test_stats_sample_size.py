"""Rung 2: trade count and the Minimum Backtest Length, checked against the paper's example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from research.stats.sample_size import check_sample_size, minimum_backtest_length
from research.verdicts import Verdict

TRADES = [{"entry_ts": i, "exit_ts": i + 1, "pnl": 1.0} for i in range(150)]


def test_min_btl_reproduces_the_papers_example():
    # "Pseudo-mathematics and financial charlatanism": 5 years of data allow no more than 45 trials at SR 1.
    assert minimum_backtest_length(45, 1.0) == pytest.approx(5.0, abs=0.01)
    assert minimum_backtest_length(46, 1.0) > 5.0
    # And it stays below the paper's upper bound 2 ln N / SR^2.
    assert minimum_backtest_length(1000, 1.0) < 2 * math.log(1000)
    assert minimum_backtest_length(1, 1.0) == 0.0
    assert minimum_backtest_length(10, 0.0) == math.inf


def _returns(years: float, annual_sharpe: float, seed: int = 3) -> np.ndarray:
    n = int(years * 252)
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)  # exact Sharpe, so the test is about the rule, not the noise
    return 0.01 * z + 0.01 * annual_sharpe / math.sqrt(252)


def test_long_backtest_with_enough_trades_passes():
    verdict = check_sample_size(TRADES, _returns(8, 1.5), n_trials=45)
    assert verdict.verdict == Verdict.PASS, verdict.reason
    assert verdict.numbers["annual_sharpe"] == pytest.approx(1.5)
    assert "150 trades ≥ 100" in verdict.reason and "MinBTL" in verdict.reason


def test_too_few_trades_fails():
    verdict = check_sample_size(TRADES[:40], _returns(8, 1.5), n_trials=1)
    assert verdict.verdict == Verdict.FAIL and verdict.reason == "40 trades < 100"


def test_backtest_shorter_than_min_btl_fails():
    verdict = check_sample_size(TRADES, _returns(3, 1.0), n_trials=45)
    assert verdict.verdict == Verdict.FAIL
    assert "3.0 years < MinBTL 5.0 for N = 45" in verdict.reason


def test_losing_strategy_fails_and_empty_is_not_run():
    assert check_sample_size(TRADES, _returns(5, -0.5), n_trials=5).verdict == Verdict.FAIL
    assert check_sample_size([], [], n_trials=5).verdict == Verdict.NOT_RUN
    assert check_sample_size(TRADES, [0.01], n_trials=5).verdict == Verdict.NOT_RUN


def test_non_finite_returns_are_an_error():
    with pytest.raises(ValueError, match="^daily_returns: 1 non-finite"):
        check_sample_size(TRADES, [0.01, float("inf")], n_trials=5)
