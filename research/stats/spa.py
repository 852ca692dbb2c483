"""Rung 6: Hansen's Superior Predictive Ability test over the whole sweep, so the grid's snooping counts.

The models are the sweep's N daily return series and the losses are negative returns. Each is tested against
two benchmarks, flat (zero returns) and buy-and-hold, with arch.bootstrap.SPA: studentized, stationary
bootstrap with mean block spa_block_size (10 days) and spa_reps (1,000) replications seeded with
thresholds.seed so a verdict is reproducible. The p-value judged is Hansen's consistent one (the lower one is
too liberal, the upper one is the conservative Reality Check); the rung passes when it is <= max_spa_pvalue
against both benchmarks. A model whose excess over a benchmark never varies (e.g. the benchmark itself, or
flat against flat) is left out of that test: studentizing divides by its zero variance.
"""

from __future__ import annotations

import numpy as np
from arch.bootstrap import SPA
from numpy.typing import ArrayLike

from research.stats._common import FloatArray, finite_array, rounded
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "spa"
MIN_DAYS = 60  # a stationary bootstrap of 10-day blocks needs a few dozen blocks to resample


def spa_pvalues(
    models: FloatArray, benchmark: FloatArray, thresholds: GauntletThresholds = DEFAULT_THRESHOLDS
) -> dict[str, float] | None:
    """SPA lower/consistent/upper p-values that no model beats the benchmark; None if no model varies from it."""
    varying = np.ptp(models - benchmark[:, None], axis=0) > 1e-12
    if not varying.any():
        return None
    test = SPA(
        -benchmark,
        -models[:, varying],
        block_size=thresholds.spa_block_size,
        reps=thresholds.spa_reps,
        bootstrap="stationary",
        studentize=True,
        seed=thresholds.seed,
    )
    test.compute()
    return {str(k): float(v) for k, v in test.pvalues.items()}


def hansen_spa(
    sweep_returns: ArrayLike, buy_and_hold: ArrayLike, thresholds: GauntletThresholds = DEFAULT_THRESHOLDS
) -> RungVerdict:
    """Pass when the sweep's best beats flat and buy-and-hold with Hansen's consistent SPA p <= max_spa_pvalue."""
    models = finite_array(sweep_returns, "sweep_returns", ndim=2)
    hold = finite_array(buy_and_hold, "buy_and_hold")
    if hold.size != models.shape[0]:
        raise ValueError(f"buy_and_hold: {hold.size} days, the sweep has {models.shape[0]}")
    limits = {
        "max_spa_pvalue": thresholds.max_spa_pvalue,
        "block_size": thresholds.spa_block_size,
        "reps": thresholds.spa_reps,
        "seed": thresholds.seed,
    }
    n_days, n_models = models.shape
    if n_models == 0:
        return not_run(RUNG, "no models: the sweep has no parameter sets")
    if n_days < MIN_DAYS:
        return not_run(RUNG, f"{n_days} days, SPA needs at least {MIN_DAYS}")
    benchmarks = {"flat": np.zeros(n_days), "buy_and_hold": hold}
    numbers: dict[str, object] = {"n_days": n_days, "n_models": n_models, "pvalue_used": "consistent"}
    worst = 0.0
    for name, series in benchmarks.items():
        pvalues = spa_pvalues(models, series, thresholds)
        if pvalues is None:
            return RungVerdict(RUNG, Verdict.NOT_RUN, f"no model's returns differ from {name}", numbers, limits)
        numbers[name] = {k: rounded(v, 4) for k, v in pvalues.items()}
        worst = max(worst, pvalues["consistent"])
        numbers[f"{name}_pvalue"] = rounded(pvalues["consistent"], 4)
    flat_p, hold_p = numbers["flat_pvalue"], numbers["buy_and_hold_pvalue"]
    detail = f"(flat {flat_p:.3f}, buy-and-hold {hold_p:.3f}) over {n_models} sweep models"
    if worst <= thresholds.max_spa_pvalue:
        reason = f"SPA p {worst:.3f} ≤ {thresholds.max_spa_pvalue:g} {detail}"
        return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
    reason = f"SPA p {worst:.3f} > {thresholds.max_spa_pvalue:g} {detail}: the best may be luck of the search"
    return RungVerdict(RUNG, Verdict.FAIL, reason, numbers, limits)
