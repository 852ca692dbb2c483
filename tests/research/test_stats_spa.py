"""Rung 6: Hansen's SPA over the sweep against flat and buy-and-hold, seeded and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from research.stats.spa import hansen_spa
from research.stats.thresholds import GauntletThresholds
from research.verdicts import Verdict

FAST = GauntletThresholds.from_mapping({"spa_reps": 200})
DAYS = 500


def _hold() -> np.ndarray:
    return np.random.default_rng(10).normal(0.0003, 0.012, DAYS)


def test_noise_grid_fails():
    sweep = np.random.default_rng(11).normal(0.0, 0.01, size=(DAYS, 20))
    verdict = hansen_spa(sweep, _hold(), FAST)
    assert verdict.verdict == Verdict.FAIL
    assert verdict.reason.startswith("SPA p ") and "> 0.05" in verdict.reason and "20 sweep models" in verdict.reason
    assert verdict.numbers["pvalue_used"] == "consistent"


def test_grid_with_a_real_edge_passes_against_both_benchmarks():
    sweep = np.random.default_rng(12).normal(0.0, 0.01, size=(DAYS, 20))
    sweep[:, 4] += 0.003
    verdict = hansen_spa(sweep, _hold(), FAST)
    assert verdict.verdict == Verdict.PASS, verdict.reason
    assert verdict.numbers["flat_pvalue"] <= 0.05 and verdict.numbers["buy_and_hold_pvalue"] <= 0.05


def test_beating_flat_but_not_buy_and_hold_fails():
    hold = np.random.default_rng(13).normal(0.003, 0.01, DAYS)
    sweep = hold[:, None] * np.linspace(0.2, 0.6, 5)[None, :]  # de-levered copies of the market
    verdict = hansen_spa(sweep, hold, FAST)
    assert verdict.verdict == Verdict.FAIL
    assert verdict.numbers["flat_pvalue"] <= 0.05 < verdict.numbers["buy_and_hold_pvalue"]


def test_seeded_so_reproducible():
    sweep = np.random.default_rng(14).normal(0.0005, 0.01, size=(DAYS, 10))
    assert hansen_spa(sweep, _hold(), FAST).numbers == hansen_spa(sweep, _hold(), FAST).numbers


def test_not_run_cases():
    assert hansen_spa(np.zeros((DAYS, 0)), np.zeros(DAYS)).verdict == Verdict.NOT_RUN
    assert hansen_spa(np.zeros((30, 3)), np.zeros(30)).verdict == Verdict.NOT_RUN
    flat_models = hansen_spa(np.zeros((DAYS, 3)), _hold(), FAST)
    assert flat_models.verdict == Verdict.NOT_RUN and "flat" in flat_models.reason


def test_bad_inputs_are_errors():
    sweep = np.zeros((DAYS, 3))
    with pytest.raises(ValueError, match="^buy_and_hold: 499 days, the sweep has 500"):
        hansen_spa(sweep, np.zeros(DAYS - 1))
    sweep[0, 0] = np.inf
    with pytest.raises(ValueError, match="^sweep_returns: 1 non-finite"):
        hansen_spa(sweep, np.zeros(DAYS))
