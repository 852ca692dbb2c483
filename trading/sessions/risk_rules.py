"""The pre-trade rules, on plain values: what an order is worth and whether the session may send it.

Nautilus-free, so every rule is checked here on its own; `risk.OrderGate` gathers the values from the node's
cache and applies `check_order` to every submit and modify. Money is in the account currency; quantities are
signed where they are positions (long > 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ats_site.config import RiskCaps
from console.formatting import duration, money, pct, qty

BUY, SELL = 1, -1
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class OrderView:
    """An order as the gate judges it: a new order, or a working one as a modify would leave it."""

    client_order_id: str
    strategy_id: str
    instrument_id: str
    side: int  # BUY or SELL
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False
    is_modify: bool = False

    @property
    def side_name(self) -> str:
        """BUY or SELL."""
        return "BUY" if self.side == BUY else "SELL"

    @property
    def own_prices(self) -> list[Decimal]:
        """The prices the order itself names (limit and trigger)."""
        return [p for p in (self.limit_price, self.trigger_price) if p is not None]


@dataclass(frozen=True)
class InstrumentState:
    """What the node knows of one instrument: the broker-confirmed net position and prices to value it at."""

    position: Decimal = Decimal(0)
    reference_price: Decimal | None = None  # ask for a buy, bid for a sell, else last trade or bar close
    multiplier: Decimal = Decimal(1)
    to_account_currency: Decimal | None = Decimal(1)  # None: no exchange rate is known
    # What the working orders on each side would add if filled (for a modify, the order itself left out).
    working_buy: Decimal = Decimal(0)
    working_sell: Decimal = Decimal(0)

    def working_quantity(self, side: int) -> Decimal:
        """What the working orders on one side would add if filled."""
        return self.working_buy if side == BUY else self.working_sell

    def value(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Quantity x price x multiplier in the account currency."""
        assert self.to_account_currency is not None  # checked before anything is valued
        return abs(quantity) * price * self.multiplier * self.to_account_currency


@dataclass(frozen=True)
class SleeveScope:
    """What a sleeve may trade."""

    instrument_id: str
    allow_short: bool = False


@dataclass(frozen=True)
class Denial:
    """Why an order is refused: the rule, one line for the strategy and the operator, and the numbers."""

    rule: str
    reason: str
    numbers: dict[str, str] = field(default_factory=dict)


@dataclass
class DuplicateWindow:
    """Remembers recent submissions per sleeve to refuse an identical one inside the window."""

    seconds: Decimal
    _recent: dict[tuple[str, str, int, Decimal], int] = field(default_factory=dict)

    def last_seen(self, order: OrderView) -> int | None:
        """When (ns) an identical order was last sent by the same sleeve, if any."""
        return self._recent.get(_duplicate_key(order))

    def remember(self, order: OrderView, now_ns: int) -> None:
        """Note an order that was sent; forget the ones older than the window."""
        horizon = now_ns - int(self.seconds * 1_000_000_000)
        self._recent = {key: ts for key, ts in self._recent.items() if ts > horizon}
        self._recent[_duplicate_key(order)] = now_ns


def _duplicate_key(order: OrderView) -> tuple[str, str, int, Decimal]:
    return (order.strategy_id, order.instrument_id, order.side, order.quantity)


def valuation_price(order: OrderView, state: InstrumentState) -> Decimal:
    """The higher of the order's own prices and the market: a marketable order fills at the market whatever it says."""
    assert state.reference_price is not None
    return max([state.reference_price, *order.own_prices])


def is_verified_reduce_only(order: OrderView, state: InstrumentState) -> bool:
    """Whether, at the confirmed position, the order can only reduce it (other working reducing orders counted)."""
    if order.side == SELL and state.position > 0 or order.side == BUY and state.position < 0:
        room = abs(state.position) - state.working_quantity(order.side)
        return order.quantity <= room
    return False


def side_exposure(state: InstrumentState, side: int, extra: Decimal = Decimal(0)) -> Decimal:
    """The position on one side if every working order of that side (and `extra`) filled; signed."""
    return state.position + side * (state.working_quantity(side) + extra)


def worst_exposure(state: InstrumentState) -> Decimal:
    """The largest absolute position the working orders could leave (either side filling)."""
    return max(abs(side_exposure(state, BUY)), abs(side_exposure(state, SELL)))


def check_order(
    order: OrderView,
    instruments: dict[str, InstrumentState],
    sleeves: dict[str, SleeveScope],
    caps: RiskCaps,
    open_orders: int,
    duplicates: DuplicateWindow,
    now_ns: int,
    reducing: bool = False,
    killing: bool = False,
    currency: str = "USD",
) -> Denial | None:
    """The first rule the order breaks, or None when it may be sent. Every rule fails closed.

    `reducing`: a loss breaker has tripped; `killing`: the session is being killed. Either way only an order that
    can only reduce a position may pass. `currency`: the account's, in which the reasons write money.
    """
    sleeve = sleeves.get(order.strategy_id)
    if sleeve is None or sleeve.instrument_id != order.instrument_id:
        trades = f"trades {sleeve.instrument_id}" if sleeve else "is not a sleeve of this session"
        return Denial(
            "scope",
            f"scope: {order.strategy_id} {trades}; an order for {order.instrument_id} is refused",
            {"instrument_id": order.instrument_id},
        )
    state = instruments.get(order.instrument_id, InstrumentState())
    if order.reduce_only and not is_verified_reduce_only(order, state):
        working = state.working_quantity(order.side)
        return Denial(
            "reduce_only",
            f"reduce-only: {order.side_name} {qty(order.quantity)} could open or grow a position "
            f"(position {qty(state.position)}, working {order.side_name} orders {qty(working)})",
            {"position": str(state.position), "quantity": str(order.quantity), "working_same_side": str(working)},
        )
    only_reducing = (
        ("kill", "kill: the session is being killed; only orders that reduce a position pass")
        if killing
        else ("breaker", "loss breaker tripped: only orders that reduce a position pass until an operator resets it")
        if reducing
        else None
    )
    if only_reducing is not None and not is_verified_reduce_only(order, state):
        rule, why = only_reducing
        return Denial(
            rule,
            f"{why} ({order.side_name} {qty(order.quantity)} at position {qty(state.position)})",
            {"position": str(state.position), "quantity": str(order.quantity)},
        )
    if order.reduce_only and not order.own_prices:
        return None  # a market order that can only reduce: never held back (a kill's flatten must get through)
    if state.reference_price is None:
        return Denial(
            "no_market_price",
            f"no market price for {order.instrument_id} (no quote, trade or bar yet) to value the order: denied",
        )
    if state.to_account_currency is None:
        return Denial("no_exchange_rate", f"no exchange rate into the account currency for {order.instrument_id}")
    reference = state.reference_price
    for kind, price in (("limit", order.limit_price), ("trigger", order.trigger_price)):
        if price is None:
            continue
        deviation = abs(price - reference) / reference
        if deviation > caps.max_price_deviation:
            return Denial(
                "price_collar",
                f"price collar: {kind} price {qty(price)} is {pct(deviation, 1, signed=False)} from the market "
                f"{qty(reference)} (max {pct(caps.max_price_deviation, 0, signed=False)})",
                {"price": str(price), "market": str(reference), "max_deviation": str(caps.max_price_deviation)},
            )
    if order.reduce_only:
        return None  # verified above: it can only reduce, so no cap holds it back
    if not order.is_modify:
        seen = duplicates.last_seen(order)
        if seen is not None and now_ns - seen <= caps.duplicate_window_seconds * 1_000_000_000:
            return Denial(
                "duplicate",
                f"duplicate: the same {order.side_name} {qty(order.quantity)} {order.instrument_id} was sent "
                f"{duration((now_ns - seen) / 1e9)} ago (window {duration(caps.duplicate_window_seconds)})",
                {"window_seconds": str(caps.duplicate_window_seconds)},
            )
    price = valuation_price(order, state)
    notional = state.value(order.quantity, price)
    if notional > caps.max_notional_per_order:
        return Denial(
            "notional",
            f"notional {money(notional, currency)} ({qty(order.quantity)} x {qty(price)}) exceeds the cap "
            f"{money(caps.max_notional_per_order, currency)}",
            {
                "notional": str(notional.quantize(CENTS)),
                "cap": str(caps.max_notional_per_order),
                "quantity": str(order.quantity),
                "price": str(price),
            },
        )
    before = side_exposure(state, order.side)
    after = side_exposure(state, order.side, order.quantity)
    if order.side == SELL and after < 0 and not sleeve.allow_short:
        return Denial(
            "short_sale",
            f"short sale: {order.side_name} {qty(order.quantity)} could take {order.instrument_id} to {qty(after)} "
            "(working orders included) and this sleeve is long-only",
            {"position": str(state.position), "projected": str(after)},
        )
    if abs(after) > abs(before):
        position_value = state.value(after, price)
        if position_value > caps.max_position_notional:
            return Denial(
                "position",
                f"position: {order.instrument_id} could reach {money(position_value, currency)} ({qty(after)} x "
                f"{qty(price)}, working orders included), over the limit {money(caps.max_position_notional, currency)}",
                {"projected": str(after), "value": str(position_value.quantize(CENTS))},
            )
        gross = _gross_exposure(instruments, order.instrument_id, after, price)
        if isinstance(gross, str):
            return Denial("gross_exposure", f"gross exposure: no market price for {gross} to value the session")
        if gross > caps.max_gross_exposure:
            return Denial(
                "gross_exposure",
                f"gross exposure: the session could reach {money(gross, currency)} (working orders included), "
                f"over the limit {money(caps.max_gross_exposure, currency)}",
                {"gross": str(gross.quantize(CENTS)), "limit": str(caps.max_gross_exposure)},
            )
    if not order.is_modify and open_orders + 1 > caps.max_open_orders:
        return Denial(
            "open_orders",
            f"open orders: {open_orders + 1} would be working, over the limit {caps.max_open_orders}",
            {"open_orders": str(open_orders), "limit": str(caps.max_open_orders)},
        )
    return None


def _gross_exposure(
    instruments: dict[str, InstrumentState], instrument_id: str, projected: Decimal, price: Decimal
) -> Decimal | str:
    """The session's instruments valued at their worst side, with this order's instrument at its projection; or
    the id of an instrument holding exposure that cannot be valued (no price or rate), which fails closed."""
    total = Decimal(0)
    for iid, state in instruments.items():
        if iid == instrument_id:
            total += state.value(max(abs(projected), worst_exposure(state)), price)
            continue
        worst = worst_exposure(state)
        if worst == 0:
            continue
        if state.reference_price is None or state.to_account_currency is None:
            return iid
        total += state.value(worst, state.reference_price)
    return total
