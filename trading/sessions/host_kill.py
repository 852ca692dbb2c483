"""The kill switch inside a session's host: halt, cancel everything at the broker, flatten if asked, and verify at
the broker that the session's instruments ended flat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from trading.sessions.broker_flatten import describe_positions
from trading.sessions.models import SessionStatus, TradingSession
from trading.sessions.node import broker_positions, global_cancel

if TYPE_CHECKING:
    from trading.sessions.host import SessionHost

log = logging.getLogger(__name__)

FLATTEN_TIMEOUT_SECONDS = 15.0
CANCEL_TIMEOUT_SECONDS = 5.0
BROKER_POLL_SECONDS = 0.5


class SessionKill:
    """Carries out a kill request on the node's loop."""

    def __init__(self, host: SessionHost) -> None:
        self.host = host

    @property
    def symbols(self) -> set[str]:
        """The symbols of the session's instruments (QQQ of QQQ.NASDAQ)."""
        return {s["instrument_id"].rsplit(".", 1)[0] for s in self.host.session.sleeves}

    async def run(self, flatten: bool, requested_by: str | None = None, reason: str | None = None) -> None:
        """Halt at once, cancel every working order at the broker, optionally flatten and verify, then stop. Who
        asked and why come from the persisted request unless given (the local kill switch needs no database)."""
        from nautilus_trader.model.enums import TradingState

        host = self.host
        host.outcome = (SessionStatus.KILLED, "killed" + (" (halt and flatten)" if flatten else " (halt)"))
        risk = host.node.kernel.risk_engine
        if host.risk is not None and host.risk.gate is not None:
            host.risk.gate.killing = True  # from now on only an order that reduces a position can pass
        risk.set_trading_state(TradingState.REDUCING if flatten else TradingState.HALTED)
        # Halted and cancelling before anything else: who asked and why are read after the cancels are on the wire.
        self.cancel_everything()
        if requested_by is None or reason is None:
            requested_by, reason = await self._requested()
        why = reason
        reason = f"killed by {requested_by}: {reason}"
        host.outcome = (SessionStatus.KILLED, reason + (" (halt and flatten)" if flatten else " (halt)"))
        host.sink.emit("status", {"status": "halting", "flatten": flatten, "reason": why})
        cache = host.node.kernel.cache
        if flatten:
            # Flatten once the cancels are confirmed: the gate counts a working order as if it filled, so a
            # closing order is verified reduce-only only against what can no longer trade.
            await wait_for(lambda: not cache.orders_open(), CANCEL_TIMEOUT_SECONDS)
            left = await self.flatten(host.session.account_id)
            risk.set_trading_state(TradingState.HALTED)
            if left:
                incomplete = f"{reason} (halt and flatten) — flatten incomplete: {describe_positions(left)}"
                host.outcome = (SessionStatus.KILLED, incomplete)
                host.sink.emit("risk", {"flatten": "incomplete", "positions": {k: str(v) for k, v in left.items()}})
                await asyncio.to_thread(self._alert_incomplete, incomplete, left)
        await wait_for(lambda: not cache.orders_open(), CANCEL_TIMEOUT_SECONDS)
        host.sink.emit(
            "status",
            {
                "status": "halted",
                "open_orders": len(cache.orders_open()),
                "open_positions": len(cache.positions_open()),
            },
        )
        await host.stop_node()

    async def _requested(self) -> tuple[str, str]:
        """Who requested the kill and why, from the persisted request; the local kill switch when the database
        cannot say (a signal from kill_session while the database is away)."""
        from django.db import DatabaseError, InterfaceError

        try:
            session = await asyncio.to_thread(TradingSession.objects.get, pk=self.host.session_id)
        except (DatabaseError, InterfaceError):
            return "local kill switch", "signalled by kill_session"
        if not session.kill_requested_at:
            return "local kill switch", "signalled by kill_session"
        return session.kill_requested_by, session.kill_reason

    def cancel_everything(self) -> None:
        """Cancel our strategies' orders through Nautilus, and every other order at the broker (global cancel)."""
        for strategy in self.host.strategies:
            strategy.cancel_all_orders(strategy.config.instrument_id)
        # Orders placed elsewhere (TWS, another client) and orders not yet acknowledged are not in our strategies'
        # books; the broker-wide cancel reaches them too.
        global_cancel(self.host.node)

    async def flatten(self, account_id: str) -> dict[str, Decimal]:
        """Close the session's positions as the broker reports them, until the broker shows them flat or time runs
        out; return what is still open (empty when flat)."""
        deadline = time.monotonic() + FLATTEN_TIMEOUT_SECONDS
        sent: dict[str, Decimal] = {}
        left: dict[str, Decimal] = {}
        while time.monotonic() < deadline:
            positions = await broker_positions(self.host.node, account_id)
            if positions is None:  # the gateway did not answer: ask again
                await asyncio.sleep(BROKER_POLL_SECONDS)
                continue
            left = {symbol: qty for symbol, qty in positions.items() if symbol in self.symbols}
            if not left:
                return {}
            for symbol, quantity in left.items():
                if sent.get(symbol) != quantity:  # not already asked to close this much
                    self._close(symbol, quantity)
                    sent[symbol] = quantity
            await asyncio.sleep(BROKER_POLL_SECONDS)
        return left

    def _close(self, symbol: str, quantity: Decimal) -> None:
        """A reduce-only market order through the instrument's first sleeve (so the gate verifies it reduces)."""
        from nautilus_trader.model.enums import OrderSide
        from nautilus_trader.model.objects import Quantity

        for strategy in self.host.strategies:
            if str(strategy.config.instrument_id).rsplit(".", 1)[0] == symbol:
                side = OrderSide.SELL if quantity > 0 else OrderSide.BUY
                order = strategy.order_factory.market(
                    strategy.config.instrument_id, side, Quantity.from_str(str(abs(quantity))), reduce_only=True
                )
                strategy.submit_order(order)
                return

    def _alert_incomplete(self, reason: str, left: dict[str, Decimal]) -> None:
        from audit.models import Action
        from audit.services import record
        from notifications.services import do_send_alert

        payload = {"reason": reason, "positions": {k: str(v) for k, v in left.items()}}
        record(Action.SESSION_KILL, actor=self.host.actor, target=f"session:{self.host.session_id}", payload=payload)
        do_send_alert(
            "session.flatten_incomplete", self.host.session.environment, reason, payload, actor=self.host.actor
        )


def halt_for_good(host: SessionHost) -> None:
    """The session belongs to someone else now (its kill was carried out without this host, see orphan_kill): deny
    every order from here on, the closing orders strategies send on stop included, so nothing is closed twice."""
    from nautilus_trader.model.enums import TradingState

    if host.risk is not None and host.risk.gate is not None:
        host.risk.gate.killing = True
    host.node.get_event_loop().call_soon_threadsafe(host.node.kernel.risk_engine.set_trading_state, TradingState.HALTED)


async def wait_for(done: Callable[[], bool], timeout: float) -> bool:
    """Poll a condition on the loop until it holds or the timeout passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        await asyncio.sleep(0.05)
    return done()
