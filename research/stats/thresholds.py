"""The gauntlet's thresholds and bootstrap settings in one frozen dataclass, with validated overrides."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

# A field's metadata "kind" says what its value may be; __post_init__ checks every field against it so a
# directly constructed instance is as safe as one built by from_mapping.
_FRACTION = {"kind": "fraction"}  # a float in [0, 1]
_POSITIVE = {"kind": "positive"}  # a finite float > 0
_REAL = {"kind": "real"}  # any finite float
_COUNT = {"kind": "count"}  # an int >= 1
_SEED = {"kind": "seed"}  # an int >= 0


@dataclass(frozen=True)
class GauntletThresholds:
    """Every rung's pass/fail threshold and the bootstrap settings, defaults from issue 13."""

    # Shared conventions.
    periods_per_year: int = field(default=252, metadata=_COUNT)  # trading days per year, as trading.backtests
    seed: int = field(default=13, metadata=_SEED)  # every bootstrap is seeded so a verdict is reproducible

    # Rung 0, data integrity: soft anomalies pass while each stays within its share of the bars.
    max_zero_volume_frac: float = field(default=0.005, metadata=_FRACTION)
    max_zero_range_frac: float = field(default=0.005, metadata=_FRACTION)
    max_gap_frac: float = field(default=0.005, metadata=_FRACTION)  # missing sessions/bars over those expected
    # Largest tick-rounding change relative to the lowest close: a few basis points is rounding, more is a bug.
    max_rounding_rel_change: float = field(default=0.001, metadata=_FRACTION)

    # Rung 2, sample size.
    min_trades: int = field(default=100, metadata=_COUNT)

    # Rung 3, cost stress: net P&L must survive this multiple of the modelled cost, and 3x commissions.
    min_breakeven_cost_multiple: float = field(default=2.0, metadata=_POSITIVE)
    min_sharpe_at_3x_costs: float = field(default=0.0, metadata=_REAL)  # strictly greater than

    # Rung 4, deflated Sharpe ratio.
    min_dsr: float = field(default=0.95, metadata=_FRACTION)

    # Rung 5, probability of backtest overfitting by CSCV.
    max_pbo: float = field(default=0.2, metadata=_FRACTION)
    reject_pbo: float = field(default=0.5, metadata=_FRACTION)
    pbo_partitions: int = field(default=16, metadata=_COUNT)

    # Rung 6, Hansen's SPA (stationary bootstrap).
    max_spa_pvalue: float = field(default=0.05, metadata=_FRACTION)
    spa_block_size: int = field(default=10, metadata=_COUNT)  # mean block, two trading weeks
    spa_reps: int = field(default=1000, metadata=_COUNT)

    # Rung 7, walk-forward.
    min_wf_efficiency: float = field(default=0.5, metadata=_REAL)
    min_wf_positive_frac: float = field(default=0.7, metadata=_FRACTION)

    # Rung 8, parameter stability: the worst neighbour keeps this share of the chosen point's Sharpe.
    min_neighbour_sharpe_ratio: float = field(default=0.5, metadata=_REAL)

    # Rung 9, Monte Carlo block bootstrap of daily returns.
    mc_horizon_days: int = field(default=252, metadata=_COUNT)
    mc_n_sims: int = field(default=2000, metadata=_COUNT)
    mc_block_size: int = field(default=10, metadata=_COUNT)
    mc_max_drawdown: float = field(default=0.25, metadata=_FRACTION)  # the risk budget, at the quantile below
    mc_drawdown_quantile: float = field(default=0.95, metadata=_FRACTION)
    mc_max_loss_prob: float = field(default=0.05, metadata=_FRACTION)

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, f.metadata["kind"], getattr(self, f.name))
        if self.pbo_partitions < 2 or self.pbo_partitions % 2:
            raise ValueError(f"pbo_partitions: must be an even number >= 2, got {self.pbo_partitions}")
        if self.reject_pbo < self.max_pbo:
            raise ValueError(f"reject_pbo: must be >= max_pbo ({self.max_pbo}), got {self.reject_pbo}")

    @classmethod
    def from_mapping(cls, overrides: object) -> GauntletThresholds:
        """The defaults with `overrides` applied; an unknown field or a bad value is a one-line ValueError."""
        if overrides is not None and not isinstance(overrides, dict):
            raise ValueError(f'expected an object like {{"min_trades": 50}}, got a {type(overrides).__name__}')
        overrides = dict(overrides or {})
        known = {f.name for f in fields(cls)}
        for name in overrides:
            if name not in known:
                raise ValueError(f"{name}: unknown gauntlet threshold")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in overrides:
                value = overrides[f.name]
                # JSON gives 1 for 1.0; accept an int for a float field, never a float for an int field.
                if f.metadata["kind"] in ("count", "seed"):
                    values[f.name] = value
                elif isinstance(value, int) and not isinstance(value, bool):
                    values[f.name] = float(value)
                else:
                    values[f.name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """All thresholds as a JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check(name: str, kind: str, value: Any) -> None:
    if kind in ("count", "seed"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: must be an integer, got {value!r}")
        low = 1 if kind == "count" else 0
        if value < low:
            raise ValueError(f"{name}: must be >= {low}, got {value}")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if kind == "fraction" and not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: must be between 0 and 1, got {value}")
    if kind == "positive" and value <= 0:
        raise ValueError(f"{name}: must be > 0, got {value}")


DEFAULT_THRESHOLDS = GauntletThresholds()
