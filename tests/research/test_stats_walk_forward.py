"""Rung 7: walk-forward windows, efficiency and OOS consistency, and re-optimising over the sweep."""

from __future__ import annotations

import numpy as np
import pytest

from research.stats.walk_forward import WindowResult, judge_walk_forward, walk_forward_from_sweep, walk_forward_windows
from research.verdicts import Verdict


def test_windows_roll_by_the_oos_length_and_drop_a_partial_tail():
    windows = walk_forward_windows(100, in_sample=40, out_sample=20)
    assert [(w.is_start, w.is_stop, w.oos_start, w.oos_stop) for w in windows] == [
        (0, 40, 40, 60),
        (20, 60, 60, 80),
        (40, 80, 80, 100),
    ]
    assert len(walk_forward_windows(99, 40, 20)) == 2
    assert len(walk_forward_windows(100, 40, 20, step=10)) == 5
    assert walk_forward_windows(50, 40, 20) == []


def test_windows_carry_date_labels():
    dates = [f"2020-01-{d:02d}" for d in range(1, 11)]
    (first, second) = walk_forward_windows(dates, in_sample=4, out_sample=3)
    assert first.labels == ("2020-01-01", "2020-01-04", "2020-01-05", "2020-01-07")
    assert second.as_dict()["oos_dates"] == ["2020-01-08", "2020-01-10"]


def test_consistent_oos_passes():
    results = [WindowResult(1.5, 1.0), WindowResult(1.2, 0.9), WindowResult(1.4, 0.9), WindowResult(1.1, -0.1)]
    verdict = judge_walk_forward(results)
    assert verdict.verdict == Verdict.PASS
    assert verdict.reason == "WFE 0.52 ≥ 0.5; 75% of 4 OOS windows positive ≥ 70%"
    assert verdict.numbers["wf_efficiency"] == pytest.approx(2.7 / 5.2)


def test_decay_and_inconsistency_fail():
    decayed = judge_walk_forward([{"is_performance": 2.0, "oos_performance": 0.5}] * 4)
    assert decayed.verdict == Verdict.FAIL and decayed.reason == "WFE 0.25 < 0.5"
    patchy = judge_walk_forward([WindowResult(1.0, 2.0), WindowResult(1.0, -0.1), WindowResult(1.0, 1.0)])
    assert patchy.verdict == Verdict.FAIL and patchy.reason == "67% of 3 OOS windows positive < 70%"
    nothing = judge_walk_forward([WindowResult(-0.5, 0.2)])
    assert nothing.verdict == Verdict.FAIL and nothing.reason.startswith("in-sample performance -0.50 ≤ 0")


def test_empty_is_not_run_and_nan_is_an_error():
    assert judge_walk_forward([]).verdict == Verdict.NOT_RUN
    with pytest.raises(ValueError, match="^oos_performance: must be finite"):
        judge_walk_forward([WindowResult(1.0, float("nan"))])


def test_sweep_picks_the_is_best_column_and_stitches_its_oos():
    rng = np.random.default_rng(20)
    sweep = rng.normal(0.0, 0.01, size=(300, 5))
    sweep[:150, 1] += 0.006  # column 1 leads in the first half, column 3 in the second
    sweep[150:, 3] += 0.006
    windows = walk_forward_windows(300, in_sample=50, out_sample=50)
    params = [{"fast": f} for f in range(5)]
    results, oos = walk_forward_from_sweep(sweep, windows, params)
    assert [r.params["fast"] for r in results] == [1, 1, 1, 3, 3]
    assert oos.shape == (250,)
    np.testing.assert_array_equal(oos[:50], sweep[50:100, 1])
    by_return, _ = walk_forward_from_sweep(sweep, windows, metric="return")
    assert by_return[0].is_performance == pytest.approx(sweep[:50, 1].mean() * 252)


def test_sweep_errors():
    with pytest.raises(ValueError, match="^params: 2 parameter sets, the sweep has 5 columns"):
        walk_forward_from_sweep(np.zeros((100, 5)), [], [{}, {}])
    with pytest.raises(ValueError, match="^windows: window 0 ends at row 60 > 50"):
        walk_forward_from_sweep(np.zeros((50, 2)), walk_forward_windows(60, 40, 20))
