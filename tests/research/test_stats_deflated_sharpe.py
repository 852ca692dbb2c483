"""Rung 4: the Deflated Sharpe Ratio reproduces the paper's example and fails a skill-less best-of-N."""

from __future__ import annotations

import math

import numpy as np
import pytest

from research.stats.deflated_sharpe import (
    deflated_sharpe_from_stats,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    trial_sharpe_variance,
)
from research.verdicts import Verdict


def test_reproduces_bailey_lopez_de_prado_numeric_example():
    # The paper: 5 years of daily returns (T = 1250), annualised SR 2.5, N = 100 trials with annualised
    # V[SR_n] = 0.5, skewness -3, kurtosis 10 -> SR0 ~ 0.1132 per day (1.7894 annualised), DSR ~ 0.9004.
    sr = 2.5 / math.sqrt(250)
    variance = 0.5 / 250
    sr0 = expected_max_sharpe(100, variance)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)
    assert sr0 * math.sqrt(250) == pytest.approx(1.7894, abs=1e-4)
    assert deflated_sharpe_from_stats(sr, 1250, -3.0, 10.0, 100, variance) == pytest.approx(0.9004, abs=1e-4)


def test_one_trial_is_the_probabilistic_sharpe_against_zero():
    assert expected_max_sharpe(1, 0.3) == 0.0
    assert deflated_sharpe_from_stats(0.0, 500, 0.0, 3.0, 1, 0.0) == pytest.approx(0.5)


def test_strong_strategy_with_few_trials_passes():
    rng = np.random.default_rng(1)
    returns = rng.normal(0.002, 0.01, 1000)  # ~3.2 annualised Sharpe
    verdict = deflated_sharpe_ratio(returns, n_trials=10, trial_sharpe_variance=0.002)
    assert verdict.verdict == Verdict.PASS
    assert verdict.reason.startswith("DSR ") and "≥ 0.95 with N = 10 trials" in verdict.reason
    assert verdict.numbers["dsr"] >= 0.95 and verdict.thresholds == {"min_dsr": 0.95}


def test_best_of_many_random_strategies_fails():
    rng = np.random.default_rng(2)
    sweep = rng.normal(0.0, 0.01, size=(500, 200))  # 200 skill-less parameter sets
    best = sweep[:, int(np.argmax(sweep.mean(axis=0) / sweep.std(axis=0, ddof=1)))]
    verdict = deflated_sharpe_ratio(best, n_trials=200, trial_sharpe_variance=trial_sharpe_variance(sweep))
    assert verdict.verdict == Verdict.FAIL
    assert verdict.numbers["sharpe"] > 0  # it looked good before deflation
    assert "< 0.95 with N = 200 trials" in verdict.reason


def test_too_few_or_constant_returns_are_not_run():
    assert deflated_sharpe_ratio([], 5, 0.01).verdict == Verdict.NOT_RUN
    assert deflated_sharpe_ratio(np.full(100, 0.001), 5, 0.01).verdict == Verdict.NOT_RUN


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_returns_are_a_one_line_error(bad):
    returns = np.full(100, 0.001)
    returns[3] = bad
    with pytest.raises(ValueError, match=r"^returns: 1 non-finite value"):
        deflated_sharpe_ratio(returns, 5, 0.01)


def test_bad_trial_inputs_are_errors():
    with pytest.raises(ValueError, match="n_trials"):
        deflated_sharpe_ratio(np.zeros(100), 0, 0.01)
    with pytest.raises(ValueError, match="trial_sharpe_variance"):
        deflated_sharpe_ratio(np.zeros(100), 5, -1.0)
