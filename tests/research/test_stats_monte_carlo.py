"""Rung 9: block-bootstrap Monte Carlo of daily returns: drawdown budget, loss probability, clustering."""

from __future__ import annotations

import numpy as np
import pytest

from research.stats.monte_carlo import bootstrap_paths, monte_carlo_drawdown
from research.stats.thresholds import GauntletThresholds
from research.verdicts import Verdict

FAST = GauntletThresholds.from_mapping({"mc_n_sims": 400})


def test_steady_strategy_passes_with_histogram():
    returns = np.random.default_rng(30).normal(0.0015, 0.006, 750)
    verdict = monte_carlo_drawdown(returns, thresholds=FAST)
    assert verdict.verdict == Verdict.PASS, verdict.reason
    assert verdict.reason.startswith("95th-percentile drawdown ") and "≤ budget 25%" in verdict.reason
    histogram = verdict.numbers["drawdown_histogram"]
    assert sum(histogram["counts"]) == 400 and len(histogram["edges"]) == 26


def test_volatile_strategy_fails_on_drawdown_and_loss():
    returns = np.random.default_rng(31).normal(0.0002, 0.025, 750)
    verdict = monte_carlo_drawdown(returns, thresholds=FAST)
    assert verdict.verdict == Verdict.FAIL
    assert "> budget 25%" in verdict.reason and "P(loss over 252 days)" in verdict.reason


def test_clustered_losses_give_deeper_drawdowns_with_blocks_than_iid():
    # Alternating 20-day regimes: a losing streak is 20 days long, which a day-by-day reshuffle breaks up.
    rng = np.random.default_rng(32)
    drift = np.tile(np.repeat([0.004, -0.0035], 20), 25)
    returns = drift + rng.normal(0.0, 0.002, drift.size)
    settings = {"mc_n_sims": 400, "mc_block_size": 20}
    blocks = monte_carlo_drawdown(returns, "stationary", GauntletThresholds.from_mapping(settings))
    circular = monte_carlo_drawdown(returns, "circular", GauntletThresholds.from_mapping(settings))
    iid = monte_carlo_drawdown(returns, "iid", GauntletThresholds.from_mapping(settings))
    assert blocks.numbers["drawdown_quantile"] > 1.5 * iid.numbers["drawdown_quantile"]
    assert circular.numbers["drawdown_quantile"] > 1.5 * iid.numbers["drawdown_quantile"]


def test_paths_are_seeded_and_cover_a_horizon_longer_than_the_history():
    returns = np.random.default_rng(33).normal(0.0, 0.01, 100)
    paths = bootstrap_paths(returns, horizon=252, n_sims=5, block_size=10, seed=1)
    assert paths.shape == (5, 252) and set(np.unique(paths)) <= set(returns)
    np.testing.assert_array_equal(paths, bootstrap_paths(returns, 252, 5, 10, seed=1))
    with pytest.raises(ValueError, match="^method: "):
        bootstrap_paths(returns, 10, 5, 10, method="jackknife")  # type: ignore[arg-type]


def test_short_or_empty_history_is_not_run_and_bad_values_are_errors():
    assert monte_carlo_drawdown([]).verdict == Verdict.NOT_RUN
    assert monte_carlo_drawdown(np.full(30, 0.001)).verdict == Verdict.NOT_RUN
    with pytest.raises(ValueError, match="^daily_returns: 40 non-finite"):
        monte_carlo_drawdown([0.01, np.nan] * 40)
    with pytest.raises(ValueError, match="^daily_returns: a return of -100%"):
        monte_carlo_drawdown([0.01, -1.0] * 40)
