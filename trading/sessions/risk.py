"""The order gate beneath every strategy: audit each order intent, then enforce the notional cap, fail closed.

Nautilus routes every order (from strategies, the emulator and exec algorithms alike) through the message bus
endpoint `RiskEngine.execute`. The gate takes that endpoint and hands approved commands to the RiskEngine, so
no strategy can reach the broker around it. Nautilus's own `max_notional_per_order` is not enforced on the IB
path (its account check returns early for IB margin accounts), which is why the cap lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import SubmitOrder, SubmitOrderList
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.orders import Order
from nautilus_trader.system.kernel import NautilusKernel

RISK_ENDPOINT = "RiskEngine.execute"

# (rule, one-line reason, the numbers behind it) for an order the gate refuses.
Denial = tuple[str, str, dict[str, str]]


class OrderGate:
    """Audits every order intent before it can reach the gateway and denies orders over the notional cap."""

    def __init__(
        self,
        kernel: NautilusKernel,
        max_notional: Decimal,
        audit_intent: Callable[[Order, Decimal | None], None],
        on_denied: Callable[[Order, str, dict[str, str]], None],
    ) -> None:
        self._kernel = kernel
        self._cache = kernel.cache
        self._msgbus = kernel.msgbus
        self._clock = kernel.clock
        self._risk_engine = kernel.risk_engine
        self.max_notional = Decimal(max_notional)
        self._audit_intent = audit_intent
        self._on_denied = on_denied

    def install(self) -> None:
        """Take over the RiskEngine's endpoint; the RiskEngine then only sees what the gate lets through."""
        self._msgbus.deregister(RISK_ENDPOINT, self._risk_engine.execute)
        self._msgbus.register(RISK_ENDPOINT, self.execute)

    def execute(self, command: Any) -> None:
        """Check a trading command; forward it to the RiskEngine or deny its orders."""
        if isinstance(command, SubmitOrder):
            orders = [command.order]
        elif isinstance(command, SubmitOrderList):
            orders = list(command.order_list.orders)
        else:  # cancels and modifies pass straight through: they never add risk
            self._risk_engine.execute(command)
            return
        denial: Denial | None = None
        for order in orders:
            price = self.reference_price(order)
            notional = self.notional(order, price)
            try:
                # Written before the order can leave: if this write fails, the order is not sent.
                self._audit_intent(order, notional)
            except Exception as exc:  # any failure to audit means no order
                denial = ("audit", f"audit write failed, order not sent: {type(exc).__name__}: {exc}"[:300], {})
                break
            denial = self.check_notional(order, price, notional)
            if denial:
                break
        if denial:
            rule, reason, numbers = denial
            for order in orders:
                self._deny(order, reason)
                self._on_denied(order, reason, {"rule": rule, **numbers})
            return
        self._risk_engine.execute(command)

    def check_notional(self, order: Order, price: Decimal | None, notional: Decimal | None) -> Denial | None:
        """(rule, reason, numbers) when the order breaks the cap or cannot be valued, else None."""
        if order.is_reduce_only:
            return None  # closing exposure is always allowed: a kill's flatten must not be blocked by the cap
        if price is None:
            return (
                "notional",
                "no price to value the order (no limit price, quote, trade or bar yet): denied",
                {"cap": str(self.max_notional)},
            )
        assert notional is not None  # a known price gives a notional
        if notional > self.max_notional:
            return (
                "notional",
                f"notional {notional:.2f} ({order.quantity} x {price}) exceeds the cap {self.max_notional}",
                {
                    "notional": str(notional.quantize(Decimal("0.01"))),
                    "cap": str(self.max_notional),
                    "quantity": str(order.quantity),
                    "price": str(price),
                },
            )
        return None

    def reference_price(self, order: Order) -> Decimal | None:
        """The price to value an order at: its limit or trigger price, else the latest quote, trade or bar."""
        price: Any = None  # a Nautilus Price
        if order.has_price:
            price = order.price
        elif order.has_trigger_price:
            price = order.trigger_price
        elif (quote := self._cache.quote_tick(order.instrument_id)) is not None:
            price = quote.ask_price if order.side == OrderSide.BUY else quote.bid_price
        elif (trade := self._cache.trade_tick(order.instrument_id)) is not None:
            price = trade.price
        else:
            latest = None
            for bar_type in self._cache.bar_types(instrument_id=order.instrument_id):
                bar = self._cache.bar(bar_type)
                if bar is not None and (latest is None or bar.ts_event > latest.ts_event):
                    latest = bar
            price = latest.close if latest is not None else None
        return Decimal(price.as_decimal()) if price is not None else None

    def notional(self, order: Order, price: Decimal | None) -> Decimal | None:
        """Quantity x price x multiplier, or None when the price or instrument is unknown."""
        if price is None:
            return None
        instrument = self._cache.instrument(order.instrument_id)
        multiplier = Decimal(instrument.multiplier.as_decimal()) if instrument is not None else Decimal(1)
        return Decimal(order.quantity.as_decimal()) * price * multiplier

    def _deny(self, order: Order, reason: str) -> None:
        # What the RiskEngine does for its own denials: the strategy receives OrderDenied.
        if order.status != OrderStatus.INITIALIZED:
            return
        if not self._cache.order_exists(order.client_order_id):
            self._cache.add_order(order)
        denied = OrderDenied(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            reason=reason,
            event_id=UUID4(),
            ts_init=self._clock.timestamp_ns(),
        )
        self._msgbus.send(endpoint="ExecEngine.process", msg=denied)
