"""The built-in strategies' indicator lines for the backtest page's price chart (StrategySpec.chart_lines).

Each computes, from a run's params and bars, the lines its strategy decides on, with the same Nautilus indicator
where there is one. This module is no strategy's import, so it is outside every code hash: drawing a line
differently never asks for a new go-live approval. Nautilus is imported when a line is drawn, not at import,
because the catalogue that names these functions must stay import-light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trading.strategies.registry import ChartLines

if TYPE_CHECKING:
    from nautilus_trader.model.data import Bar


def _whole(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise ValueError(f"{name}: expected a whole number of bars >= 1, got {value!r}")
    return int(value)


def sma_cross(params: dict[str, Any], bars: Sequence[Bar]) -> ChartLines:
    """The fast and slow simple moving averages of closes (SMACross's own indicator), None until warmed up."""
    from nautilus_trader.indicators.averages import SimpleMovingAverage

    periods = (_whole(params, "fast_period"), _whole(params, "slow_period"))
    lines: ChartLines = {}
    for period in periods:
        average, values = SimpleMovingAverage(period), []
        for bar in bars:
            average.handle_bar(bar)
            values.append(float(average.value) if average.initialized else None)
        lines[f"SMA {period}"] = values
    return lines


def ibs_reversion(params: dict[str, Any], bars: Sequence[Bar]) -> ChartLines:
    """The prior bar's high: IBSReversion exits a long when a bar closes above it (IBS itself is 0..1, no price)."""
    del params  # its thresholds are on IBS, which has no place on a price chart
    highs: list[float | None] = [None]
    highs.extend(bar.high.as_double() for bar in bars[:-1])
    return {"prior high": highs[: len(bars)]}
