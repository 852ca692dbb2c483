"""The order gate beneath every strategy: audit each order intent, then apply the pre-trade rules, fail closed.

Nautilus routes every order command (from strategies, the emulator and exec algorithms alike) through the message
bus endpoint `RiskEngine.execute`. The gate takes that endpoint and hands approved commands to the RiskEngine, so
no strategy can reach the broker around it. Submits, order lists and modifies are judged (a modify as the order it
would become); cancels pass. The rules themselves live in `risk_rules`; this module reads the node's cache for them.
Nautilus's own `max_notional_per_order` is not enforced on the IB path (its account check returns early for IB
margin accounts), which is why the caps live here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import ModifyOrder, SubmitOrder, SubmitOrderList
from nautilus_trader.model.enums import OrderSide, OrderStatus, PriceType
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.orders import Order
from nautilus_trader.system.kernel import NautilusKernel

from ats_site.config import RiskCaps
from trading.sessions.risk_rules import (
    BUY,
    SELL,
    Denial,
    DuplicateWindow,
    InstrumentState,
    OrderView,
    SleeveScope,
    check_order,
    valuation_price,
)

RISK_ENDPOINT = "RiskEngine.execute"
EXEC_ENDPOINT = "ExecEngine.execute"
PASSED_MEMORY = (
    100_000  # command ids let through and not yet seen at the execution engine (the RiskEngine may throttle)
)


@dataclass(frozen=True)
class WorkingOrder:
    """An order let through the gate, by what it would add if filled."""

    instrument_id: str
    side: int
    leaves_quantity: Decimal


class OrderGate:
    """Audits every order intent before it can reach the gateway and denies what breaks a pre-trade rule."""

    def __init__(
        self,
        kernel: NautilusKernel,
        caps: RiskCaps,
        sleeves: dict[str, SleeveScope],
        account_currency: str,
        audit_intent: Callable[[OrderView, Decimal | None], None],
        on_denied: Callable[[OrderView, Denial], None],
    ) -> None:
        self._cache = kernel.cache
        self._msgbus = kernel.msgbus
        self._clock = kernel.clock
        self._risk_engine = kernel.risk_engine
        self._exec_engine = kernel.exec_engine
        self._passed: dict[Any, None] = {}  # ids of the commands the gate let through, oldest first
        self.caps = caps
        self.sleeves = sleeves
        self._account_currency = account_currency
        self._audit_intent = audit_intent
        self._on_denied = on_denied
        self._duplicates = DuplicateWindow(caps.duplicate_window_seconds)
        # Orders let through that the cache may not show as working yet (the IB client submits them on a later
        # loop turn): a burst in one callback must still count every order before it.
        self._sent: dict[ClientOrderId, WorkingOrder] = {}
        self.reducing = False  # set while the session's or the account's loss breaker is tripped
        self.killing = False  # set when a kill starts: from then on only orders that reduce a position pass

    def install(self) -> None:
        """Take over the RiskEngine's endpoint, so the RiskEngine only sees what the gate lets through, and guard the
        execution engine's, so a command sent straight to it (around both) is refused."""
        self._msgbus.deregister(RISK_ENDPOINT, self._risk_engine.execute)
        self._msgbus.register(RISK_ENDPOINT, self.execute)
        self._msgbus.deregister(EXEC_ENDPOINT, self._exec_engine.execute)
        self._msgbus.register(EXEC_ENDPOINT, self.guard_execution)

    def guard_execution(self, command: Any) -> None:
        """The execution engine's door: a submit or modify the gate did not let through is refused there."""
        judged = isinstance(command, SubmitOrder | SubmitOrderList | ModifyOrder)
        if judged and command.id not in self._passed:
            self._refuse_bypass(command)
            return
        self._passed.pop(command.id, None)
        self._exec_engine.execute(command)

    def _refuse_bypass(self, command: Any) -> None:
        modify = command if isinstance(command, ModifyOrder) else None
        if isinstance(command, SubmitOrder):
            orders = [command.order]
        elif isinstance(command, SubmitOrderList):
            orders = list(command.order_list.orders)
        else:
            order = self._cache.order(command.client_order_id)
            orders = [order] if order is not None else []
        denial = Denial("bypass", "bypass: sent straight to the execution engine, around the order gate")
        self._deny_all(orders, [self._view(order, modify) for order in orders], denial)

    def execute(self, command: Any) -> None:
        """Check a trading command; forward it to the RiskEngine or deny its orders."""
        if isinstance(command, SubmitOrder):
            orders = [command.order]
            views = [self._view(command.order)]
        elif isinstance(command, SubmitOrderList):
            orders = list(command.order_list.orders)
            views = [self._view(order) for order in orders]
        elif isinstance(command, ModifyOrder) and (order := self._cache.order(command.client_order_id)) is not None:
            orders = [order]
            views = [self._view(order, command)]
        else:  # cancels, and modifies of unknown orders (the RiskEngine refuses those itself)
            self._risk_engine.execute(command)
            return
        denial = self._judge(views)
        if denial is not None:
            self._deny_all(orders, views, denial)
            return
        now = self._clock.timestamp_ns()
        for order, view in zip(orders, views, strict=True):
            if not view.is_modify:
                self._duplicates.remember(view, now)
                self._sent[order.client_order_id] = WorkingOrder(view.instrument_id, view.side, view.quantity)
        self._passed[command.id] = None
        if len(self._passed) > PASSED_MEMORY:  # commands the RiskEngine refused never come back: forget the oldest
            del self._passed[next(iter(self._passed))]
        self._risk_engine.execute(command)

    def _judge(self, views: list[OrderView]) -> Denial | None:
        """Audit each intent, then check it; the orders of a list count against each other in turn."""
        now = self._clock.timestamp_ns()
        earlier: dict[tuple[str, int], Decimal] = {}  # (instrument, side) -> quantity of this command's earlier orders
        pending = self._pending_sent()
        # Pending cancels and updates count twice (open and in flight): more than there are, never fewer.
        open_orders = int(self._cache.orders_open_count()) + int(self._cache.orders_inflight_count()) + len(pending)
        for view in views:
            instruments = self._instrument_states(view, earlier, pending)
            state = instruments[view.instrument_id]
            notional = None
            if state.reference_price is not None and state.to_account_currency is not None:
                notional = state.value(view.quantity, valuation_price(view, state))
            try:
                # Written before the order can leave: if this write fails, the order is not sent.
                self._audit_intent(view, notional)
            except Exception as exc:  # any failure to audit means no order
                return Denial("audit", f"audit write failed, order not sent: {type(exc).__name__}: {exc}"[:300])
            denial = check_order(
                view,
                instruments,
                self.sleeves,
                self.caps,
                open_orders,
                self._duplicates,
                now,
                reducing=self.reducing,
                killing=self.killing,
                currency=self._account_currency,
            )
            if denial is not None:
                return denial
            if not view.is_modify:
                key = (view.instrument_id, view.side)
                earlier[key] = earlier.get(key, Decimal(0)) + view.quantity
                open_orders += 1
        return None

    # -- reading the node's state ------------------------------------------------------------------------------

    def _view(self, order: Order, modify: ModifyOrder | None = None) -> OrderView:
        """The order as the gate judges it; for a modify, as the modify would leave it."""
        quantity = modify.quantity if modify is not None and modify.quantity is not None else order.quantity
        limit = order.price if order.has_price else None
        trigger = order.trigger_price if order.has_trigger_price else None
        if modify is not None:
            limit = modify.price if modify.price is not None else limit
            trigger = modify.trigger_price if modify.trigger_price is not None else trigger
        return OrderView(
            client_order_id=str(order.client_order_id),
            strategy_id=str(order.strategy_id),
            instrument_id=str(order.instrument_id),
            side=BUY if order.side == OrderSide.BUY else SELL,
            quantity=Decimal(quantity.as_decimal()),
            order_type=order.type_string(),
            limit_price=Decimal(limit.as_decimal()) if limit is not None else None,
            trigger_price=Decimal(trigger.as_decimal()) if trigger is not None else None,
            reduce_only=bool(order.is_reduce_only),
            is_modify=modify is not None,
        )

    def _pending_sent(self) -> list[WorkingOrder]:
        """Orders let through that the broker has not been sent yet (the cache shows the rest)."""
        pending = []
        for client_order_id, sent in list(self._sent.items()):
            order = self._cache.order(client_order_id)
            if order is None or order.status == OrderStatus.INITIALIZED:
                pending.append(sent)
            else:
                del self._sent[client_order_id]  # submitted, working, or done: the cache tells its story now
        return pending

    def _instrument_states(
        self, view: OrderView, earlier: dict[tuple[str, int], Decimal], pending: list[WorkingOrder]
    ) -> dict[str, InstrumentState]:
        """Position, prices and working orders of the session's instruments (and the order's own)."""
        instrument_ids = {s.instrument_id for s in self.sleeves.values()} | {view.instrument_id}
        return {
            iid: self._instrument_state(iid, view if iid == view.instrument_id else None, earlier, pending)
            for iid in instrument_ids
        }

    def _instrument_state(
        self,
        iid: str,
        view: OrderView | None,
        earlier: dict[tuple[str, int], Decimal],
        pending: list[WorkingOrder],
    ) -> InstrumentState:
        instrument_id = InstrumentId.from_str(iid)
        position = sum(
            (p.signed_decimal_qty() for p in self._cache.positions_open(instrument_id=instrument_id)), Decimal(0)
        )
        # Summed as floats (on the hot path, hundreds of working orders): exact for share counts below 2**53.
        leaves = {OrderSide.BUY: 0.0, OrderSide.SELL: 0.0}
        modified = ClientOrderId(view.client_order_id) if view is not None and view.is_modify else None
        for order in self._cache.orders_open(instrument_id=instrument_id):
            if order.client_order_id != modified:
                leaves[order.side] += order.leaves_qty.as_double()
        for order in self._cache.orders_inflight(instrument_id=instrument_id):
            if order.status == OrderStatus.SUBMITTED and order.client_order_id != modified:  # the rest are open
                leaves[order.side] += order.leaves_qty.as_double()
        working = {
            BUY: Decimal(repr(leaves[OrderSide.BUY])) + earlier.get((iid, BUY), Decimal(0)),
            SELL: Decimal(repr(leaves[OrderSide.SELL])) + earlier.get((iid, SELL), Decimal(0)),
        }
        for sent in pending:
            if sent.instrument_id == iid:
                working[sent.side] += sent.leaves_quantity
        instrument = self._cache.instrument(instrument_id)
        if instrument is None:
            return InstrumentState(position=position, reference_price=None)
        return InstrumentState(
            position=position,
            reference_price=self.reference_price(instrument_id, view.side if view is not None else 0),
            multiplier=Decimal(instrument.multiplier.as_decimal()),
            to_account_currency=self.rate(instrument),
            working_buy=working[BUY],
            working_sell=working[SELL],
        )

    def reference_price(self, instrument_id: InstrumentId, side: int) -> Decimal | None:
        """The market: the ask for a buy, the bid for a sell (the mid for neither), else the last trade or bar."""
        price: Any = None  # a Nautilus Price
        quote = self._cache.quote_tick(instrument_id)
        trade = self._cache.trade_tick(instrument_id)
        if quote is not None:
            if side == BUY:
                price = quote.ask_price
            elif side == SELL:
                price = quote.bid_price
            else:
                return (Decimal(quote.ask_price.as_decimal()) + Decimal(quote.bid_price.as_decimal())) / 2
        elif trade is not None:
            price = trade.price
        else:
            latest = None
            for bar_type in self._cache.bar_types(instrument_id=instrument_id):
                bar = self._cache.bar(bar_type)
                if bar is not None and (latest is None or bar.ts_event > latest.ts_event):
                    latest = bar
            price = latest.close if latest is not None else None
        return Decimal(price.as_decimal()) if price is not None else None

    def rate(self, instrument: Any) -> Decimal | None:
        """Instrument currency -> account currency, or None when no rate is known (the order is then refused)."""
        currency = instrument.quote_currency
        if currency.code == self._account_currency:
            return Decimal(1)
        rate = self._cache.get_xrate(
            instrument.id.venue, currency, Currency.from_str(self._account_currency), PriceType.MID
        )
        return Decimal(str(rate)) if rate else None

    # -- refusing ----------------------------------------------------------------------------------------------

    def _deny_all(self, orders: list[Order], views: list[OrderView], denial: Denial) -> None:
        """Refuse every order of a command (a list is all or nothing) and report each refusal."""
        for order, view in zip(orders, views, strict=True):
            self._on_denied(view, denial)  # first: the denial is known as the gate's before its event can be seen
            self._deny(order, view, denial.reason)

    def _deny(self, order: Order, view: OrderView, reason: str) -> None:
        """What the RiskEngine does for its own refusals: OrderDenied for a new order, OrderModifyRejected for a
        modify (the order itself stays as it was at the broker)."""
        if view.is_modify:
            self._risk_engine._reject_modify_order(order, reason)
            return
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
