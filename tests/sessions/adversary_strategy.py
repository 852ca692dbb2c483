"""A hostile test strategy: it tries every known way around the order gate, one step at a time.

Each step prints `ADVERSARY <step> <client_order_id>` so the test can tell which order was which attack.
"""

from __future__ import annotations

import math
from datetime import timedelta

from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from trading.strategies.base import SleeveConfig, SleeveStrategy

STEPS = (
    "short_from_flat",
    "marketable_limit",
    "stop_far_below",
    "off_instrument",
    "duplicates",
    "working_one_share",
    "modify_up",
    "buy_ten",
    "reduce_only_overflow",
    "under_cap_many",
    "straight_to_exec",
)


class AdversaryConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Parameters
    ----------
    step_ms : int
        Time between two attacks.
    """

    step_ms: int = 400


class Adversary(SleeveStrategy):
    """Starts on the first quote and runs STEPS in order, one per timer tick."""

    def __init__(self, config: AdversaryConfig) -> None:
        super().__init__(config)
        self._step = -1
        self._quote: QuoteTick | None = None
        self._working = None

    def on_start(self) -> None:
        super().on_start()
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self._quote = tick
        if self._step < 0:
            self._step = 0
            self.clock.set_timer("adversary", timedelta(milliseconds=self.config.step_ms), callback=self._next)

    def _next(self, event) -> None:
        if self._step >= len(STEPS):
            self.clock.cancel_timer("adversary")
            print("ADVERSARY done -", flush=True)
            return
        name = STEPS[self._step]
        self._step += 1
        getattr(self, name)()

    # -- the attacks ---------------------------------------------------------------------------------------------

    def _send(self, step: str, order) -> None:
        print(f"ADVERSARY {step} {order.client_order_id}", flush=True)
        self.submit_order(order)

    def _market(self, step: str, side: OrderSide, quantity: int, reduce_only: bool = False, iid=None) -> None:
        iid = iid or self.config.instrument_id
        self._send(step, self.order_factory.market(iid, side, Quantity.from_int(quantity), reduce_only=reduce_only))

    def _limit(self, step: str, side: OrderSide, quantity: int, price: float):
        order = self.order_factory.limit(
            self.config.instrument_id, side, Quantity.from_int(quantity), Price(round(price, 2), 2), TimeInForce.GTC
        )
        self._send(step, order)
        return order

    @property
    def _bid(self) -> float:
        return self._quote.bid_price.as_double()

    @property
    def _ask(self) -> float:
        return self._quote.ask_price.as_double()

    def short_from_flat(self) -> None:
        self._market("short_from_flat", OrderSide.SELL, 10)

    def marketable_limit(self) -> None:
        self._limit("marketable_limit", OrderSide.SELL, 1_000_000, 0.01)

    def stop_far_below(self) -> None:
        order = self.order_factory.stop_market(
            self.config.instrument_id, OrderSide.BUY, Quantity.from_int(1_000_000), Price(0.01, 2)
        )
        self._send("stop_far_below", order)

    def off_instrument(self) -> None:
        self._market("off_instrument", OrderSide.BUY, 1, iid=InstrumentId.from_str("AAPL.NASDAQ"))

    def duplicates(self) -> None:
        for _ in range(2):  # identical, in the same millisecond
            self._limit("duplicates", OrderSide.BUY, 2, self._bid * 0.97)

    def working_one_share(self) -> None:
        self._working = self._limit("working_one_share", OrderSide.BUY, 1, self._bid * 0.97)

    def modify_up(self) -> None:
        print(f"ADVERSARY modify_up {self._working.client_order_id}", flush=True)
        self.modify_order(self._working, quantity=Quantity.from_int(1_000_000), price=Price(round(self._ask, 2), 2))

    def buy_ten(self) -> None:
        self._market("buy_ten", OrderSide.BUY, 10)

    def reduce_only_overflow(self) -> None:
        self._market("reduce_only_overflow", OrderSide.SELL, 1_000_000, reduce_only=True)

    def under_cap_many(self) -> None:
        # Each ~15,000: under the 25,000 order cap; together past the 50,000 position limit.
        quantity = math.floor(15_000 / self._ask)
        for offset in range(4):
            self._market("under_cap_many", OrderSide.BUY, quantity - offset)

    def straight_to_exec(self) -> None:
        # Around the RiskEngine endpoint the gate owns: a command put on the bus for the execution engine itself.
        from nautilus_trader.core.uuid import UUID4
        from nautilus_trader.execution.messages import SubmitOrder

        order = self.order_factory.market(self.config.instrument_id, OrderSide.BUY, Quantity.from_int(1_000_000))
        print(f"ADVERSARY straight_to_exec {order.client_order_id}", flush=True)
        self.cache.add_order(order)
        command = SubmitOrder(
            trader_id=self.trader_id,
            strategy_id=self.id,
            order=order,
            command_id=UUID4(),
            ts_init=self.clock.timestamp_ns(),
        )
        self.msgbus.send(endpoint="ExecEngine.execute", msg=command)

    def on_bar(self, bar) -> None:
        """Bars only feed the base class; the adversary acts on its timer."""
