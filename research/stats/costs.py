"""Rung 3: cost stress, from numbers the lead gets by re-running the backtest at heavier costs.

Costs are taken to scale linearly, so net P&L at k times the modelled cost is gross - k * cost and the
break-even multiple is gross / cost: the strategy must stay profitable at min_breakeven_cost_multiple (2x) its
modelled commissions and slippage, and its Sharpe with 3x commissions must stay above min_sharpe_at_3x_costs.
The slippage ladder is reported (and its zero-return crossing interpolated) but not judged on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from research.stats._common import finite_number, rounded
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "cost_stress"


def breakeven_slippage(ladder: Sequence[Mapping[str, float]]) -> float | None:
    """The slippage at which total return first reaches zero, interpolated; None if it stays positive."""
    points = sorted(
        (finite_number(p["slippage"], "slippage"), finite_number(p["total_return"], "total_return")) for p in ladder
    )
    if not points or points[0][1] <= 0:
        return points[0][0] if points else None
    for (s0, r0), (s1, r1) in zip(points, points[1:], strict=False):
        if r1 <= 0:
            return s0 + (s1 - s0) * r0 / (r0 - r1)
    return None


def check_cost_stress(
    *,
    gross_pnl: float,
    modelled_cost: float,
    sharpe_1x: float,
    sharpe_3x: float,
    slippage_ladder: Sequence[Mapping[str, float]] = (),
    n_trades: int | None = None,
    thresholds: GauntletThresholds = DEFAULT_THRESHOLDS,
) -> RungVerdict:
    """Pass when gross P&L covers min_breakeven_cost_multiple x the modelled cost and Sharpe at 3x costs > 0."""
    gross = finite_number(gross_pnl, "gross_pnl")
    cost = finite_number(modelled_cost, "modelled_cost")
    sr1 = finite_number(sharpe_1x, "sharpe_1x")
    sr3 = finite_number(sharpe_3x, "sharpe_3x")
    if cost < 0:
        raise ValueError(f"modelled_cost: must be >= 0, got {cost}")
    limits = {
        "min_breakeven_cost_multiple": thresholds.min_breakeven_cost_multiple,
        "min_sharpe_at_3x_costs": thresholds.min_sharpe_at_3x_costs,
    }
    if cost == 0:
        return not_run(RUNG, "modelled cost is 0: no cost model to stress")
    multiple = gross / cost
    numbers: dict[str, object] = {
        "gross_pnl": rounded(gross, 2),
        "modelled_cost": rounded(cost, 2),
        "net_pnl": rounded(gross - cost, 2),
        "breakeven_cost_multiple": rounded(multiple, 4),
        "sharpe_1x": rounded(sr1, 4),
        "sharpe_3x": rounded(sr3, 4),
        "slippage_ladder": [dict(p) for p in slippage_ladder],
        "breakeven_slippage": rounded(breakeven_slippage(slippage_ladder)),
    }
    if n_trades:
        # Per trade, the same break-even: the cost a trade could bear before the strategy nets zero.
        numbers["breakeven_cost_per_trade"] = rounded(gross / n_trades, 4)
        numbers["modelled_cost_per_trade"] = rounded(cost / n_trades, 4)
    problems = []
    if multiple < thresholds.min_breakeven_cost_multiple:
        problems.append(f"break-even at {multiple:.2f}x modelled cost < {thresholds.min_breakeven_cost_multiple:g}x")
    if sr3 <= thresholds.min_sharpe_at_3x_costs:
        problems.append(f"Sharpe at 3x commissions {sr3:.2f} ≤ {thresholds.min_sharpe_at_3x_costs:g}")
    if problems:
        return RungVerdict(RUNG, Verdict.FAIL, "; ".join(problems), numbers, limits)
    reason = (
        f"break-even at {multiple:.1f}x modelled cost ≥ {thresholds.min_breakeven_cost_multiple:g}x;"
        f" Sharpe at 3x commissions {sr3:.2f} > {thresholds.min_sharpe_at_3x_costs:g}"
    )
    return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
