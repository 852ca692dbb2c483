"""Parameter grids for sweeps: a JSON object of parameter -> list of values, expanded to every combination."""

from __future__ import annotations

import itertools
import json

from trading.strategies.params import StrategyParamsError, build_config, parse_params

MAX_GRID_POINTS = 1_000


def parse_grid(grid: dict | str) -> dict[str, list]:
    """A grid as {parameter: non-empty list of values}, from a dict or its JSON; StrategyParamsError otherwise."""
    if isinstance(grid, str):
        try:
            grid = json.loads(grid)
        except json.JSONDecodeError as exc:
            raise StrategyParamsError(f"grid: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(grid, dict) or not grid:
        raise StrategyParamsError('grid: expected a JSON object of lists, e.g. {"buy_threshold": [0.1, 0.15, 0.2]}')
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise StrategyParamsError(f"grid: {name}: expected a non-empty list of values, got {values!r}")
    return grid


def expand_grid(grid: dict | str) -> list[dict]:
    """Every combination of the grid's values, e.g. {"a": [1, 2], "b": [3]} -> [{a:1,b:3}, {a:2,b:3}]."""
    grid = parse_grid(grid)
    names = list(grid)
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]
    if len(points) > MAX_GRID_POINTS:
        raise StrategyParamsError(f"grid: {len(points)} combinations is more than {MAX_GRID_POINTS}")
    return points


def plan_sweep(
    strategy: str, instrument_id: str, bar_spec: str, base_params: dict | str | None, grid: dict | str
) -> list[dict]:
    """The params of every grid point (base params overridden by the point), each validated up front."""
    base = parse_params(base_params)
    plan = []
    for point in expand_grid(grid):
        params = {**base, **point}
        build_config(strategy, instrument_id, bar_spec, params)  # raises StrategyParamsError naming the parameter
        plan.append(params)
    return plan
