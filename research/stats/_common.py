"""Helpers shared by the rungs: input checks, per-period Sharpe, drawdown, the expected maximum of N normals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

EULER_GAMMA = 0.5772156649015329
# The standard normal from the standard library: typed, and exact enough for these statistics.
STANDARD_NORMAL = NormalDist()
FloatArray = NDArray[np.float64]


def finite_array(values: ArrayLike, name: str, ndim: int = 1) -> FloatArray:
    """`values` as a float64 array of `ndim` dimensions; NaN/inf or a wrong shape is a one-line ValueError."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not numeric ({exc})".replace("\n", " ")) from None
    if array.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim}-D values, got shape {array.shape}")
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(f"{name}: {bad} non-finite value(s) (NaN/inf)")
    return array


def finite_number(value: float, name: str) -> float:
    """`value` as a finite float, or a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}: must be finite, got {number}")
    return number


def sharpe(returns: FloatArray) -> float | None:
    """Per-period (non-annualised) Sharpe, mean over sample std; None when n < 2 or the std is zero."""
    if returns.size < 2:
        return None
    std = float(np.std(returns, ddof=1))
    # A relative floor: a constant series has a std of rounding noise, not zero.
    if std <= 1e-12 * max(1.0, float(np.max(np.abs(returns)))):
        return None
    return float(np.mean(returns)) / std


def column_sharpes(matrix: FloatArray) -> FloatArray:
    """Per-period Sharpe of each column; 0 for a column with no variance (it has no edge to select)."""
    mean = matrix.mean(axis=0)
    std = matrix.std(axis=0, ddof=1)
    out = np.zeros(matrix.shape[1])
    ok = std > 1e-12
    out[ok] = mean[ok] / std[ok]
    return out


def max_drawdown(returns: FloatArray) -> float:
    """Largest peak-to-trough fall of the compounded equity, as a positive fraction of the peak."""
    return float(max_drawdowns(returns[np.newaxis, :])[0])


def max_drawdowns(paths: FloatArray) -> FloatArray:
    """Max drawdown of each row of simple returns, starting from equity 1 (so a first-day loss counts)."""
    equity = np.cumprod(1.0 + paths, axis=1)
    peak = np.maximum(np.maximum.accumulate(equity, axis=1), 1.0)
    result: FloatArray = np.max(1.0 - equity / peak, axis=1)
    return result


def expected_max_normal(n_trials: int) -> float:
    """E[max of N iid standard normals], the approximation of Bailey & López de Prado; 0 for N = 1."""
    if n_trials < 1:
        raise ValueError(f"n_trials: must be >= 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    return float(
        (1 - EULER_GAMMA) * STANDARD_NORMAL.inv_cdf(1 - 1 / n_trials)
        + EULER_GAMMA * STANDARD_NORMAL.inv_cdf(1 - 1 / (n_trials * math.e))
    )


def check_count(value: int, name: str, low: int = 1) -> int:
    """`value` as an int >= low, or a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name}: must be >= {low}, got {value}")
    return int(value)


def rounded(value: float | None, digits: int = 6) -> float | None:
    """A JSON-ready float: rounded, None for None/NaN, and infinities kept out of JSON as None."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def json_list(values: Sequence[Any] | FloatArray, digits: int = 6) -> list[float | None]:
    """A list of JSON-ready floats."""
    return [rounded(float(v), digits) for v in values]


def moments(returns: FloatArray) -> tuple[float, float]:
    """Sample skewness and non-excess kurtosis (the biased moment estimators); (0, 3) for a constant series."""
    centred = returns - returns.mean()
    m2 = float(np.mean(centred**2))
    if m2 <= 0:
        return 0.0, 3.0
    return float(np.mean(centred**3)) / m2**1.5, float(np.mean(centred**4)) / m2**2
