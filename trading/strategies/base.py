"""What every ATS strategy shares: the sleeve config (instrument, bars, sizing, stop behaviour) and its lifecycle.

A sleeve is one strategy on one instrument. The same classes run in a BacktestEngine and in a live TradingNode
against the IB adapter, so nothing here may assume fills are synchronous: before entering, a sleeve checks for
orders of its own still in flight.
"""

from __future__ import annotations

import math

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy


class SleeveConfig(StrategyConfig, kw_only=True, frozen=True):
    """
    Configuration shared by every ATS strategy.

    Parameters
    ----------
    instrument_id : InstrumentId
        The instrument traded, SYMBOL.VENUE (e.g. QQQ.NASDAQ).
    bar_type : BarType
        The bars that drive the strategy (e.g. QQQ.NASDAQ-1-DAY-LAST-EXTERNAL).
    notional : float, default 10000.0
        Cash committed per entry, in the instrument's currency; converted to whole shares at the signal
        bar's close, rounded down. Ignored when quantity is set.
    quantity : int, optional
        Fixed number of shares per entry; when set it replaces notional sizing.
    close_positions_on_stop : bool, default True
        On stop, cancel this strategy's open orders and close its positions (the Nautilus convention).
    allow_short : bool, default False
        Whether the order gate lets this sleeve sell below flat. Every shipped strategy is long-only.
    """

    instrument_id: InstrumentId
    bar_type: BarType
    notional: float = 10_000.0
    quantity: int | None = None
    close_positions_on_stop: bool = True
    allow_short: bool = False

    def __post_init__(self) -> None:
        require(
            self.notional > 0 and math.isfinite(self.notional), "notional", "must be a positive amount", self.notional
        )
        if self.quantity is not None:
            require(self.quantity >= 1, "quantity", "must be at least 1", self.quantity)
        require(
            self.bar_type.instrument_id == self.instrument_id,
            "bar_type",
            f"must be for {self.instrument_id}",
            str(self.bar_type),
        )


def require(condition: bool, field: str, rule: str, value) -> None:
    """Raise ValueError('<field>: <rule>, got <value>') unless condition holds (one line, names the field)."""
    if not condition:
        raise ValueError(f"{field}: {rule}, got {value!r}")


class SleeveStrategy(Strategy):
    """Long-only single-instrument strategy base: subscribes to bars, sizes entries, cleans up on stop."""

    def __init__(self, config: SleeveConfig) -> None:
        super().__init__(config)
        self.instrument: Instrument | None = None
        # Orders this strategy sent that may still be working. Tracked here because the cache's filtered
        # open/in-flight counts intersect index sets holding every order ever sent: linear per bar, quadratic per run.
        self._working: set[ClientOrderId] = set()

    def on_start(self) -> None:
        """Find the instrument and subscribe to the configured bars."""
        self.instrument = self.cache.instrument(self.config.instrument_id)
        if self.instrument is None:
            self.log.error(f"Could not find instrument {self.config.instrument_id}; stopping")
            self.stop()
            return
        self.subscribe_bars(self.config.bar_type)

    def on_stop(self) -> None:
        """Unsubscribe; cancel own orders and close own positions when configured to."""
        if self.config.close_positions_on_stop:
            self.cancel_all_orders(self.config.instrument_id)
            self.close_all_positions(self.config.instrument_id)
        if self.instrument is not None:
            self.unsubscribe_bars(self.config.bar_type)

    # Helpers for subclasses -------------------------------------------------------------------------------

    def on_reset(self) -> None:
        """Forget tracked orders."""
        self._working.clear()

    def is_long(self) -> bool:
        """Whether this strategy holds an open position in its instrument."""
        return bool(self.cache.positions_open_count(instrument_id=self.config.instrument_id, strategy_id=self.id))

    def has_working_orders(self) -> bool:
        """Whether orders this strategy sent are still open or in flight (live fills arrive later than the bar)."""
        if self._working:
            self._working = {
                cid for cid in self._working if (o := self.cache.order(cid)) is not None and not o.is_closed
            }
        return bool(self._working)

    def send(self, order, position_id: PositionId | None = None) -> None:
        """Submit an order and track it until it is closed (filled, canceled, rejected, denied)."""
        self._working.add(order.client_order_id)
        self.submit_order(order, position_id=position_id)

    def entry_quantity(self, bar: Bar) -> Quantity | None:
        """Shares to buy on this bar: the fixed quantity, or notional / close rounded down; None if below one."""
        if self.config.quantity is not None:
            shares = self.config.quantity
        else:
            close = bar.close.as_double()
            shares = math.floor(self.config.notional / close) if close > 0 else 0
        if shares < 1:
            return None
        return self.instrument.make_qty(shares)

    def buy(self, bar: Bar) -> None:
        """Enter long with a MARKET order sized for this bar."""
        quantity = self.entry_quantity(bar)
        if quantity is None:
            self.log.warning(f"notional {self.config.notional} buys less than one share at {bar.close}; no entry")
            return
        order = self.order_factory.market(
            instrument_id=self.config.instrument_id,
            order_side=OrderSide.BUY,
            quantity=quantity,
        )
        self.send(order)

    def exit(self) -> None:
        """Close this strategy's position(s) with reduce-only MARKET orders."""
        for position in self.cache.positions_open(instrument_id=self.config.instrument_id, strategy_id=self.id):
            order = self.order_factory.market(
                instrument_id=position.instrument_id,
                order_side=OrderSide.SELL if position.is_long else OrderSide.BUY,
                quantity=position.quantity,
                reduce_only=True,
            )
            self.send(order, position_id=position.id)
