"""Rung 8: parameter stability: the chosen point must sit on a plateau of the sweep grid, not on a peak.

Each parameter's axis is its distinct values, sorted (first-seen order when they do not sort). A neighbour is
any grid point at most one axis step away in every parameter and different in at least one (the Chebyshev
ring, so diagonals count: a peak that survives only along the axes is still a peak). The worst neighbour must
keep min_neighbour_sharpe_ratio (0.5) of the chosen point's Sharpe, which must itself be positive. Missing
grid points (an incomplete sweep) are simply not neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from numpy.typing import ArrayLike

from research.stats._common import finite_array, rounded
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "parameter_stability"


def _axes(grid: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    names = list(grid[0])
    axes: dict[str, list[Any]] = {}
    for name in names:
        seen = list(dict.fromkeys(point[name] for point in grid))
        try:
            axes[name] = sorted(seen)
        except TypeError:
            axes[name] = seen
    return axes


def _key(point: Mapping[str, Any], names: Sequence[str]) -> tuple[Any, ...]:
    return tuple(point[name] for name in names)


def heatmap(
    grid: Sequence[Mapping[str, Any]], sharpes: Sequence[float], chosen: int, x_param: str, y_param: str | None
) -> dict[str, Any]:
    """Sharpe over two parameters (rows y, columns x) with the others fixed at the chosen point; None = untested."""
    axes = _axes(grid)
    fixed = {k: v for k, v in grid[chosen].items() if k not in (x_param, y_param)}
    lookup = {}
    for point, value in zip(grid, sharpes, strict=True):
        if all(point[k] == v for k, v in fixed.items()):
            lookup[(point[x_param], None if y_param is None else point[y_param])] = value
    y_values = [None] if y_param is None else axes[y_param]
    matrix = [[rounded(lookup.get((x, y))) for x in axes[x_param]] for y in y_values]
    return {
        "x_param": x_param,
        "y_param": y_param,
        "x_values": axes[x_param],
        "y_values": [] if y_param is None else y_values,
        "sharpe": matrix,
        "fixed": fixed,
    }


def check_parameter_stability(
    grid: Sequence[Mapping[str, Any]],
    sharpes: ArrayLike,
    chosen: int | Mapping[str, Any],
    heatmap_params: tuple[str, str] | None = None,
    thresholds: GauntletThresholds = DEFAULT_THRESHOLDS,
) -> RungVerdict:
    """Pass when every grid neighbour of the chosen point keeps min_neighbour_sharpe_ratio of its Sharpe."""
    values = finite_array(sharpes, "sharpes")
    if len(grid) != values.size:
        raise ValueError(f"sharpes: {values.size} values for {len(grid)} grid points")
    limits = {"min_neighbour_sharpe_ratio": thresholds.min_neighbour_sharpe_ratio}
    if not grid:
        return not_run(RUNG, "empty parameter grid")
    names = list(grid[0])
    if any(set(point) != set(names) for point in grid):
        raise ValueError("grid: every point must set the same parameters")
    keys = [_key(point, names) for point in grid]
    if len(set(keys)) != len(keys):
        raise ValueError("grid: duplicate parameter sets")
    if isinstance(chosen, int):
        if not 0 <= chosen < len(grid):
            raise ValueError(f"chosen: index {chosen} outside the grid of {len(grid)}")
        index = chosen
    else:
        try:
            index = keys.index(_key(chosen, names))
        except (KeyError, ValueError):
            raise ValueError(f"chosen: {dict(chosen)} is not a grid point") from None
    axes = _axes(grid)
    position = [{v: i for i, v in enumerate(axes[name])} for name in names]
    coords = [tuple(position[j][v] for j, v in enumerate(key)) for key in keys]
    centre = coords[index]
    neighbours = [
        i for i, c in enumerate(coords) if i != index and max(abs(a - b) for a, b in zip(c, centre, strict=True)) == 1
    ]
    varying = [name for name in names if len(axes[name]) > 1]
    if heatmap_params is not None:
        for name in heatmap_params:
            if name not in axes:
                raise ValueError(f"heatmap_params: {name!r} is not a grid parameter")
        x_param: str = heatmap_params[0]
        y_param: str | None = heatmap_params[1]
    else:
        x_param, y_param = (varying + names)[0], (varying[1] if len(varying) > 1 else None)
    chosen_sharpe = float(values[index])
    numbers: dict[str, Any] = {
        "chosen": dict(grid[index]),
        "chosen_sharpe": rounded(chosen_sharpe),
        "n_neighbours": len(neighbours),
        "neighbours": [{"params": dict(grid[i]), "sharpe": rounded(float(values[i]))} for i in neighbours],
        "heatmap": heatmap(grid, [float(v) for v in values], index, x_param, y_param),
    }
    if not neighbours:
        return RungVerdict(RUNG, Verdict.NOT_RUN, "the chosen point has no grid neighbours", numbers, limits)
    worst = min(neighbours, key=lambda i: float(values[i]))
    worst_sharpe = float(values[worst])
    numbers["worst_neighbour"] = dict(grid[worst])
    numbers["worst_neighbour_sharpe"] = rounded(worst_sharpe)
    if chosen_sharpe <= 0:
        reason = f"chosen point's Sharpe {chosen_sharpe:.2f} ≤ 0: nothing to be stable about"
        return RungVerdict(RUNG, Verdict.FAIL, reason, numbers, limits)
    ratio = worst_sharpe / chosen_sharpe
    numbers["worst_ratio"] = rounded(ratio)
    detail = f"worst of {len(neighbours)} neighbours keeps {ratio:.2f}x the chosen Sharpe {chosen_sharpe:.2f}"
    if ratio >= thresholds.min_neighbour_sharpe_ratio:
        reason = f"plateau: {detail} ≥ {thresholds.min_neighbour_sharpe_ratio:g}x"
        return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
    reason = f"peak: {detail} < {thresholds.min_neighbour_sharpe_ratio:g}x (at {dict(grid[worst])})"
    return RungVerdict(RUNG, Verdict.FAIL, reason, numbers, limits)
