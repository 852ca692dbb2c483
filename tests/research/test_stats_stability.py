"""Rung 8: parameter stability: a plateau passes, a lone peak fails, and the heatmap is ready for a chart."""

from __future__ import annotations

import json

import pytest

from research.stats.stability import check_parameter_stability
from research.verdicts import Verdict

FAST = [5, 10, 15, 20]
SLOW = [50, 100, 150]
GRID = [{"fast": f, "slow": s, "mode": "long"} for f in FAST for s in SLOW]


def _sharpes(peak: float, plateau: float, rest: float) -> list[float]:
    # The chosen point is fast 10 / slow 100; its 8 ring neighbours get `plateau`, everything else `rest`.
    out = []
    for p in GRID:
        ring = abs(FAST.index(p["fast"]) - 1) <= 1 and abs(SLOW.index(p["slow"]) - 1) <= 1
        out.append(peak if (p["fast"], p["slow"]) == (10, 100) else plateau if ring else rest)
    return out


CHOSEN = {"fast": 10, "slow": 100, "mode": "long"}


def test_plateau_passes_with_heatmap():
    verdict = check_parameter_stability(GRID, _sharpes(1.2, 0.9, 0.1), CHOSEN)
    assert verdict.verdict == Verdict.PASS
    assert verdict.reason == "plateau: worst of 8 neighbours keeps 0.75x the chosen Sharpe 1.20 ≥ 0.5x"
    heat = verdict.numbers["heatmap"]
    assert (heat["x_param"], heat["y_param"]) == ("fast", "slow")
    assert heat["x_values"] == FAST and heat["y_values"] == SLOW and heat["fixed"] == {"mode": "long"}
    assert heat["sharpe"][1][1] == 1.2 and heat["sharpe"][2][3] == 0.1
    json.dumps(verdict.as_dict())


def test_single_peak_fails():
    sharpes = _sharpes(1.5, 0.9, 0.1)
    sharpes[GRID.index({"fast": 15, "slow": 150, "mode": "long"})] = 0.2  # one diagonal neighbour collapses
    verdict = check_parameter_stability(GRID, sharpes, CHOSEN)
    assert verdict.verdict == Verdict.FAIL
    assert verdict.reason.startswith("peak: worst of 8 neighbours keeps 0.13x the chosen Sharpe 1.50 < 0.5x")
    assert verdict.numbers["worst_neighbour"] == {"fast": 15, "slow": 150, "mode": "long"}


def test_non_positive_chosen_sharpe_fails():
    verdict = check_parameter_stability(GRID, _sharpes(-0.1, -0.2, -0.3), 4)
    assert verdict.verdict == Verdict.FAIL and "≤ 0" in verdict.reason


def test_corner_point_and_incomplete_grid():
    sharpes = _sharpes(1.0, 1.0, 1.0)
    assert check_parameter_stability(GRID, sharpes, 0).numbers["n_neighbours"] == 3
    partial = [p for p in GRID if p["slow"] != 150]
    verdict = check_parameter_stability(partial, [1.0] * len(partial), CHOSEN, heatmap_params=("slow", "fast"))
    assert verdict.numbers["n_neighbours"] == 5
    assert verdict.numbers["heatmap"]["x_values"] == [50, 100]


def test_single_varying_parameter_and_lone_point():
    grid = [{"n": n} for n in (1, 2, 3)]
    verdict = check_parameter_stability(grid, [1.0, 1.1, 1.0], 1)
    assert verdict.verdict == Verdict.PASS and verdict.numbers["heatmap"]["sharpe"] == [[1.0, 1.1, 1.0]]
    assert check_parameter_stability([{"n": 1}], [1.0], 0).verdict == Verdict.NOT_RUN
    assert check_parameter_stability([], [], 0).verdict == Verdict.NOT_RUN


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(ValueError, match="^sharpes: 1 non-finite"):
        check_parameter_stability(GRID, [float("nan")] + [1.0] * 11, 0)
    with pytest.raises(ValueError, match="^sharpes: 2 values for 12 grid points"):
        check_parameter_stability(GRID, [1.0, 1.0], 0)
    with pytest.raises(ValueError, match="^chosen: "):
        check_parameter_stability(GRID, [1.0] * 12, {"fast": 7, "slow": 50, "mode": "long"})
    with pytest.raises(ValueError, match="^grid: duplicate"):
        check_parameter_stability(GRID + GRID[:1], [1.0] * 13, 0)
