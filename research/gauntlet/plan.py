"""What a gauntlet runs: the validated request and its list of backtests (jobs), one per django-q task.

Jobs: every point of the sweep grid (stored as BacktestRuns: they are trials, and count towards the deflated
Sharpe's N), the chosen params under stressed costs, the chosen params on data truncated at evenly spaced
cut-offs (lookahead) and started later (warm-up sensitivity).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from trading.backtests.sweep import parse_grid, plan_sweep
from trading.strategies.params import StrategyParamsError, canonical_params, parse_params

MAX_GRID_POINTS = 400  # each point is a stored backtest; the sweep's own limit is higher
# Cost stress: commissions times this, and the slippage ladder (probability a MARKET order fills one tick worse).
COMMISSION_STRESS = 3.0
SLIPPAGE_LADDER = (0.25, 0.5, 1.0)
# Lookahead: cut-offs at these fractions of the bars; warm-up: runs started this many bars later.
CUTOFF_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
WARMUP_OFFSETS = (20, 60)


class GauntletRequestError(ValueError):
    """A gauntlet request is invalid; the message is one line and nothing was stored."""


@dataclass(frozen=True)
class JobSpec:
    """One backtest of the gauntlet."""

    kind: str  # grid | cost | truncated | warmup
    label: str
    params: dict
    costs: dict = field(default_factory=dict)
    start_bar: int = 0  # index of the first bar used
    end_bar: int | None = None  # index of the last bar used (inclusive); None = the last bar
    store: bool = False  # stored as a BacktestRun (a trial)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for GauntletJob.spec."""
        return {
            "kind": self.kind,
            "label": self.label,
            "params": self.params,
            "costs": self.costs,
            "start_bar": self.start_bar,
            "end_bar": self.end_bar,
            "store": self.store,
        }


def parse_gauntlet_grid(
    strategy: str, instrument_id: str, bar_spec: str, chosen: dict, grid: dict | str | None
) -> tuple[dict, list[dict]]:
    """The grid as {param: [values]} and its points (the chosen params with each combination), every point
    validated; the chosen point must be on the grid (stability is judged around it). GauntletRequestError if not."""
    try:
        parsed = parse_grid(grid if grid is not None else "")
        points = plan_sweep(strategy, instrument_id, bar_spec, chosen, parsed)
    except StrategyParamsError as exc:
        raise GauntletRequestError(str(exc)) from None
    for name, values in parsed.items():
        if name not in chosen:
            raise GauntletRequestError(f"grid: unknown parameter {name!r} (known: {', '.join(sorted(chosen))})")
        if len({json.dumps(v) for v in values}) != len(values):
            raise GauntletRequestError(f"grid: {name} lists a value twice")
        if chosen[name] not in values:
            raise GauntletRequestError(
                f"params: {name} {chosen[name]!r} is not on the grid {values!r}; the chosen point must be a grid point"
            )
    if len(points) < 2:
        raise GauntletRequestError("grid: needs at least 2 points (overfitting is judged across the grid)")
    if len(points) > MAX_GRID_POINTS:
        raise GauntletRequestError(f"grid: {len(points)} points is more than {MAX_GRID_POINTS}")
    return parsed, points


def _describe(point: dict, grid: dict) -> str:
    return ", ".join(f"{name}={point[name]!r}" for name in grid)


def plan_jobs(chosen: dict, grid: dict, points: list[dict], costs: dict, bar_count: int) -> list[JobSpec]:
    """The gauntlet's backtests for a request over `bar_count` bars."""
    jobs = [JobSpec("grid", _describe(point, grid), point, costs, store=True) for point in points]
    stressed = {
        **costs,
        "commission_per_share": costs["commission_per_share"] * COMMISSION_STRESS,
        "commission_minimum": costs["commission_minimum"] * COMMISSION_STRESS,
    }
    jobs.append(JobSpec("cost", f"commissions x{COMMISSION_STRESS:g}", chosen, stressed))
    jobs += [JobSpec("cost", f"slippage p={p:g}", chosen, {**costs, "slippage_prob": p}) for p in SLIPPAGE_LADDER]
    cutoffs = sorted({int(bar_count * f) for f in CUTOFF_FRACTIONS if 1 <= int(bar_count * f) < bar_count - 1})
    jobs += [JobSpec("truncated", f"data up to bar {c}", chosen, costs, end_bar=c) for c in cutoffs]
    jobs += [
        JobSpec("warmup", f"started at bar {offset}", chosen, costs, start_bar=offset)
        for offset in WARMUP_OFFSETS
        if offset < bar_count // 2
    ]
    return jobs


def validate_params(strategy: str, instrument_id: str, bar_spec: str, params: dict | str | None) -> dict:
    """The chosen params, validated and with defaults filled in; GauntletRequestError (one line) otherwise."""
    try:
        return canonical_params(strategy, instrument_id, bar_spec, parse_params(params))
    except StrategyParamsError as exc:
        raise GauntletRequestError(str(exc)) from None
