"""Closing positions straight at the broker (no node): the kill without a host and the account-level flatten.

A new closing order for an instrument goes out only when the broker's position already reflects every fill of the
previous ones, so a position report lagging a fill can never make it close twice. Each order's intent is audited
before it is sent (no audit, no order).
"""

from __future__ import annotations

import time
from decimal import Decimal

from audit.models import Action
from audit.services import record
from trading.sessions.broker_link import BrokerLink, BrokerPosition

FLATTEN_TIMEOUT_SECONDS = 15.0
CANCEL_TIMEOUT_SECONDS = 5.0
CLOSE_ATTEMPTS = 2  # closing orders per instrument: one retry after a refusal, then the flatten reports what is left
POLL_SECONDS = 0.1


def describe_positions(positions: dict[str, Decimal]) -> str:
    """'QQQ +12, SPY -5'."""
    return ", ".join(f"{symbol} {quantity.normalize():+f}" for symbol, quantity in sorted(positions.items()))


def await_cancels(link: BrokerLink, account_id: str) -> list:
    """The account's working orders once a global cancel took effect, or those still working when time is up."""
    deadline = time.monotonic() + CANCEL_TIMEOUT_SECONDS
    while True:
        working = link.working_orders(account_id)
        if not working or time.monotonic() >= deadline:
            return working
        time.sleep(POLL_SECONDS)


def flatten_at_broker(
    link: BrokerLink,
    account_id: str,
    symbols: set[str] | None,
    *,
    order_ref: str,
    actor: str,
    target: str,
    closes: list[dict],
) -> dict[str, Decimal]:
    """Close the account's positions in `symbols` (every one when None) as the broker reports them, until it shows
    them flat, a close was refused CLOSE_ATTEMPTS times, or time runs out; return what is still open."""
    deadline = time.monotonic() + FLATTEN_TIMEOUT_SECONDS
    expected: dict[str, Decimal] = {}  # the position each symbol must show once our fills are reflected
    attempts: dict[str, int] = {}
    while True:
        positions = {
            p.symbol: p for p in link.positions(account_id) if p.quantity and (symbols is None or p.symbol in symbols)
        }
        left = {symbol: p.quantity for symbol, p in positions.items()}
        if not left or time.monotonic() >= deadline:
            return left
        ready = [
            p
            for symbol, p in positions.items()
            if expected.get(symbol, p.quantity) == p.quantity and attempts.get(symbol, 0) < CLOSE_ATTEMPTS
        ]
        settled = all(expected.get(symbol, p.quantity) == p.quantity for symbol, p in positions.items())
        if not ready and settled:
            return left  # every instrument still open had its closes refused: nothing more to try
        for position in ready:
            attempts[position.symbol] = attempts.get(position.symbol, 0) + 1
            ref = f"{order_ref}-{position.symbol}-{attempts[position.symbol]}"
            filled = _close(link, position, ref, actor, target, deadline, closes)
            expected[position.symbol] = position.quantity - filled
        if not ready:
            time.sleep(POLL_SECONDS)


def _close(
    link: BrokerLink,
    position: BrokerPosition,
    order_ref: str,
    actor: str,
    target: str,
    deadline: float,
    closes: list[dict],
) -> Decimal:
    """One closing market order, its intent audited first; return the signed quantity filled."""
    side = "SELL" if position.quantity > 0 else "BUY"
    record(
        Action.ORDER_INTENT,
        actor=actor,
        target=target,
        payload={
            "client_order_id": order_ref,
            "instrument_id": position.symbol,
            "side": side,
            "quantity": str(abs(position.quantity)),
            "order_type": "MARKET",
            "reduce_only": True,
            "without_host": True,
        },
    )
    order_id = link.close_position(position, order_ref)
    result = link.wait_done(order_id, max(deadline - time.monotonic(), 1.0))
    if not result.done:  # still working when time is up: it must not fill after the flatten has reported
        from ibapi.order_cancel import OrderCancel

        link.cancelOrder(order_id, OrderCancel())
        result = link.wait_done(order_id, CANCEL_TIMEOUT_SECONDS)
    closes.append(
        {
            "symbol": position.symbol,
            "side": side,
            "quantity": str(abs(position.quantity)),
            "status": result.status,
            "filled": str(result.filled),
            "error": result.error,
        }
    )
    return result.filled if position.quantity > 0 else -result.filled
