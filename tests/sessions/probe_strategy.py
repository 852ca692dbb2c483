"""A test strategy that places orders on demand, so the tests can drive the order path through a real node."""

from __future__ import annotations

import time
from datetime import timedelta

from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.objects import Price, Quantity

from trading.strategies.base import SleeveConfig, SleeveStrategy


class OrderProbeConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Parameters
    ----------
    action : str
        What to do on the first quote: "market" (one market buy of `count` shares), "working" (one limit buy
        4% below the market, which stays working and is inside the gate's price collar), "burst" (`count` such
        limit buys at once, of 1, 2, 3... shares so none is a duplicate), "paced" (`count` such limit buys, one
        every `interval_ms`, of 1 to 10 shares in turn, each submit time printed as
        `PROBE_SUBMIT <client_order_id> <unix ns>` for latency benchmarks), "accumulate" (one market buy of
        `count` shares, then a market buy of 1 share every `interval_ms`), "roundtrip" (`repeats` round trips of
        `count` shares: a market buy, then a market sell, one order every `interval_ms`), "market_and_working" (a
        market buy of `count` shares and a limit buy of `count` + 1 (not a duplicate) 4% below the market that stays
        working), or "none".
    count : int
        Shares for "market" and "working"; orders for "burst" and "paced".
    interval_ms : int
        Spacing of "paced", "accumulate" and "roundtrip" orders.
    repeats : int
        Round trips of "roundtrip".
    """

    action: str = "none"
    count: int = 1
    interval_ms: int = 100
    repeats: int = 3


class OrderProbe(SleeveStrategy):
    """Acts once, on the first quote, then only watches."""

    def __init__(self, config: OrderProbeConfig) -> None:
        super().__init__(config)
        self._acted = False

    def on_start(self) -> None:
        super().on_start()
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if self._acted or self.config.action == "none":
            return
        self._acted = True
        iid = self.config.instrument_id
        if self.config.action in ("market", "accumulate"):
            self.submit_order(self.order_factory.market(iid, OrderSide.BUY, Quantity.from_int(self.config.count)))
            if self.config.action == "accumulate":
                self.clock.set_timer(
                    "probe-accumulate", timedelta(milliseconds=self.config.interval_ms), callback=self._buy_one
                )
            return
        if self.config.action == "roundtrip":
            self._legs = 0
            self.clock.set_timer(
                "probe-roundtrip", timedelta(milliseconds=self.config.interval_ms), callback=self._roundtrip_leg
            )
            return
        far_below = Price(round(tick.bid_price.as_double() * 0.96, 2), 2)
        if self.config.action == "market_and_working":
            self.submit_order(self.order_factory.market(iid, OrderSide.BUY, Quantity.from_int(self.config.count)))
            working = Quantity.from_int(self.config.count + 1)
            self.submit_order(
                self.order_factory.limit(iid, OrderSide.BUY, working, far_below, time_in_force=TimeInForce.GTC)
            )
            return
        if self.config.action == "paced":
            self._far_below, self._sent = far_below, 0
            self.clock.set_timer(
                "probe-paced", timedelta(milliseconds=self.config.interval_ms), callback=self._paced_submit
            )
            return
        quantities = range(1, self.config.count + 1) if self.config.action == "burst" else [self.config.count]
        for quantity in quantities:
            self.submit_order(
                self.order_factory.limit(
                    iid, OrderSide.BUY, Quantity.from_int(quantity), far_below, time_in_force=TimeInForce.GTC
                )
            )

    def _buy_one(self, event) -> None:
        self.submit_order(self.order_factory.market(self.config.instrument_id, OrderSide.BUY, Quantity.from_int(1)))

    def _roundtrip_leg(self, event) -> None:
        if self._legs >= 2 * self.config.repeats:
            self.clock.cancel_timer("probe-roundtrip")
            return
        side = OrderSide.BUY if self._legs % 2 == 0 else OrderSide.SELL
        self._legs += 1
        self.submit_order(
            self.order_factory.market(self.config.instrument_id, side, Quantity.from_int(self.config.count))
        )

    def _paced_submit(self, event) -> None:
        if self._sent >= self.config.count:
            self.clock.cancel_timer("probe-paced")
            return
        self._sent += 1
        order = self.order_factory.limit(
            self.config.instrument_id,
            OrderSide.BUY,
            Quantity.from_int(1 + self._sent % 10),
            self._far_below,
            time_in_force=TimeInForce.GTC,
        )
        print(f"PROBE_SUBMIT {order.client_order_id} {time.time_ns()}", flush=True)
        self.submit_order(order)

    def on_bar(self, bar) -> None:
        """Bars only feed the base class; the probe acts on quotes."""
