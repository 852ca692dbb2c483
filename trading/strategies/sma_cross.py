"""Moving-average cross trend following: long while the fast simple moving average is above the slow one."""

from __future__ import annotations

from nautilus_trader.indicators.averages import SimpleMovingAverage
from nautilus_trader.model.data import Bar

from trading.strategies.base import SleeveConfig, SleeveStrategy, require


class SMACrossConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Configuration for SMACross (see SleeveConfig for instrument, bars, sizing and stop behaviour).

    Parameters
    ----------
    fast_period : int, default 10
        Bars in the fast simple moving average of closes (at least 1).
    slow_period : int, default 50
        Bars in the slow simple moving average of closes; must be greater than fast_period.
    """

    fast_period: int = 10
    slow_period: int = 50

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.fast_period >= 1, "fast_period", "must be at least 1", self.fast_period)
        require(
            self.slow_period > self.fast_period, "slow_period", "must be greater than fast_period", self.slow_period
        )


class SMACross(SleeveStrategy):
    """
    Long-only moving-average cross on one instrument's bars.

    Once both averages are warmed up: buy when the fast average crosses above the slow one, sell when it
    crosses back below. Orders are MARKET.
    """

    def __init__(self, config: SMACrossConfig) -> None:
        super().__init__(config)
        self.fast = SimpleMovingAverage(config.fast_period)
        self.slow = SimpleMovingAverage(config.slow_period)
        self._fast_was_above: bool | None = None

    def on_start(self) -> None:
        """Register the averages so Nautilus updates them before on_bar, then subscribe."""
        self.register_indicator_for_bars(self.config.bar_type, self.fast)
        self.register_indicator_for_bars(self.config.bar_type, self.slow)
        super().on_start()

    def on_bar(self, bar: Bar) -> None:
        """Trade the cross of the averages that include this bar."""
        if not self.slow.initialized:
            return
        fast_above = self.fast.value > self.slow.value
        was_above, self._fast_was_above = self._fast_was_above, fast_above
        if was_above is None or fast_above == was_above or self.has_working_orders():
            return
        if fast_above and not self.is_long():
            self.buy(bar)
        elif not fast_above and self.is_long():
            self.exit()

    def on_reset(self) -> None:
        """Reset the averages."""
        super().on_reset()
        self.fast.reset()
        self.slow.reset()
        self._fast_was_above = None
