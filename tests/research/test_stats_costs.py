"""Rung 3: cost stress from the re-run numbers: break-even multiple of the modelled cost and Sharpe at 3x."""

from __future__ import annotations

import pytest

from research.stats.costs import breakeven_slippage, check_cost_stress
from research.verdicts import Verdict

LADDER = [
    {"slippage": 0.0, "sharpe": 1.2, "total_return": 0.30},
    {"slippage": 1.0, "sharpe": 0.8, "total_return": 0.10},
    {"slippage": 2.0, "sharpe": -0.1, "total_return": -0.10},
]


def test_robust_to_costs_passes():
    verdict = check_cost_stress(
        gross_pnl=30_000, modelled_cost=5_000, sharpe_1x=1.4, sharpe_3x=0.6, slippage_ladder=LADDER, n_trades=200
    )
    assert verdict.verdict == Verdict.PASS
    assert verdict.reason == "break-even at 6.0x modelled cost ≥ 2x; Sharpe at 3x commissions 0.60 > 0"
    assert verdict.numbers["breakeven_slippage"] == pytest.approx(1.5)
    assert verdict.numbers["breakeven_cost_per_trade"] == 150.0


def test_thin_edge_fails_on_both_counts():
    verdict = check_cost_stress(gross_pnl=7_000, modelled_cost=5_000, sharpe_1x=0.3, sharpe_3x=-0.2)
    assert verdict.verdict == Verdict.FAIL
    assert "break-even at 1.40x modelled cost < 2x" in verdict.reason
    assert "Sharpe at 3x commissions -0.20 ≤ 0" in verdict.reason


def test_no_cost_model_is_not_run_and_bad_numbers_are_errors():
    assert check_cost_stress(gross_pnl=1, modelled_cost=0, sharpe_1x=1, sharpe_3x=1).verdict == Verdict.NOT_RUN
    with pytest.raises(ValueError, match="^gross_pnl: must be finite"):
        check_cost_stress(gross_pnl=float("nan"), modelled_cost=1, sharpe_1x=1, sharpe_3x=1)
    with pytest.raises(ValueError, match="^modelled_cost: must be >= 0"):
        check_cost_stress(gross_pnl=1, modelled_cost=-1, sharpe_1x=1, sharpe_3x=1)


def test_breakeven_slippage_edges():
    assert breakeven_slippage([]) is None
    assert breakeven_slippage(LADDER[:2]) is None
    assert breakeven_slippage([{"slippage": 0.5, "total_return": -0.1}]) == 0.5
