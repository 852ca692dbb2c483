"""Internal Bar Strength (IBS) mean reversion: buy a close near the bar's low, sell into strength.

IBS = (close - low) / (high - low), 0 when the close is the low, 1 when it is the high.
"""

from __future__ import annotations

from nautilus_trader.model.data import Bar

from trading.strategies.base import SleeveConfig, SleeveStrategy, require


class IBSReversionConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Configuration for IBSReversion (see SleeveConfig for instrument, bars, sizing and stop behaviour).

    Parameters
    ----------
    buy_threshold : float, default 0.15
        Enter long when a bar closes with IBS below this value (0..1); lower means only deeper weak closes.
    sell_threshold : float, default 0.8
        Exit when a bar closes with IBS above this value (0..1); the position is also closed when a bar
        closes above the prior bar's high.
    """

    buy_threshold: float = 0.15
    sell_threshold: float = 0.8

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0 <= self.buy_threshold <= 1, "buy_threshold", "must be between 0 and 1", self.buy_threshold)
        require(0 <= self.sell_threshold <= 1, "sell_threshold", "must be between 0 and 1", self.sell_threshold)


def internal_bar_strength(high: float, low: float, close: float) -> float | None:
    """IBS of one bar, or None for a zero-range bar (high == low), where it is undefined."""
    bar_range = high - low
    if bar_range <= 0:
        return None
    return (close - low) / bar_range


class IBSReversion(SleeveStrategy):
    """
    Long-only IBS mean reversion on one instrument's bars.

    On each bar close: when flat, buy if IBS < buy_threshold; when long, sell if the close is above the
    prior bar's high or IBS > sell_threshold. A zero-range bar has no IBS and so gives no IBS signal
    (the prior-high exit still applies). Orders are MARKET.
    """

    def __init__(self, config: IBSReversionConfig) -> None:
        super().__init__(config)
        self._prior_high: float | None = None

    def on_bar(self, bar: Bar) -> None:
        """Apply the entry or exit rule to the bar that just closed."""
        high, low, close = bar.high.as_double(), bar.low.as_double(), bar.close.as_double()
        ibs = internal_bar_strength(high, low, close)
        prior_high, self._prior_high = self._prior_high, high
        if self.has_working_orders():
            return
        if self.is_long():
            above_prior_high = prior_high is not None and close > prior_high
            if above_prior_high or (ibs is not None and ibs > self.config.sell_threshold):
                self.exit()
        elif ibs is not None and ibs < self.config.buy_threshold:
            self.buy(bar)

    def on_reset(self) -> None:
        """Forget the prior bar."""
        super().on_reset()
        self._prior_high = None
