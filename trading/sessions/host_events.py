"""What a session's host publishes from its node: order, position, account, bar and connectivity events, and
snapshots of positions and working orders, as telemetry (payloads in telemetry.py) and, where due, audit entries."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from audit.models import Action
from trading.sessions.node import watch_connectivity
from trading.sessions.telemetry import (
    AUDITED_ORDER_EVENTS,
    account_payload,
    bar_payload,
    order_event_payload,
    position_payload,
    snapshot_payload,
)

if TYPE_CHECKING:
    from trading.sessions.host import SessionHost

log = logging.getLogger(__name__)

# IB: connectivity lost / restored (data kept or lost) / reset.
CONNECTIVITY_CODES = {1100, 1101, 1102, 1300, 2110}


def never_raise(handler):
    """Wrap a message-bus handler: an exception there would make Nautilus terminate the whole node."""

    def wrapped(self, event):
        try:
            handler(self, event)
        except Exception:
            log.exception("session %s: telemetry handler %s failed", self.host.session_id, handler.__name__)

    wrapped.__name__ = handler.__name__
    return wrapped


class HostEvents:
    """The node's message-bus subscriptions, turned into the session's telemetry."""

    def __init__(self, host: SessionHost) -> None:
        self.host = host

    def subscribe(self) -> None:
        """Follow the node's order, position, account and bar events, and the gateway's connectivity."""
        msgbus = self.host.node.kernel.msgbus
        msgbus.subscribe(topic="events.order.*", handler=self.on_order_event)
        msgbus.subscribe(topic="events.position.*", handler=self.on_position_event)
        msgbus.subscribe(topic="events.account.*", handler=self.on_account_event)
        msgbus.subscribe(topic="data.bars.*", handler=self.on_bar)
        self._watch_connectivity()

    def _watch_connectivity(self) -> None:
        """Surface the gateway's connectivity codes (1100 lost, 1101/1102 restored, ...) and dropped sockets (which
        send no code) as telemetry and audit."""
        sink = self.host.sink

        def on_code(client_id: int, code: int, message: str) -> None:
            if code in CONNECTIVITY_CODES:
                payload = {
                    "code": code,
                    "message": message[:300],
                    "client_id": client_id,
                    "connected": code in (1101, 1102),
                }
                sink.emit("health", payload, audit_action=Action.GATEWAY_CONNECTIVITY)

        def on_disconnect(client_id: int) -> None:
            payload = {
                "code": "disconnected",
                "message": "connection to the gateway lost; reconnecting",
                "client_id": client_id,
                "connected": False,
            }
            sink.emit("health", payload, audit_action=Action.GATEWAY_CONNECTIVITY)

        watch_connectivity(self.host.node, on_code, on_disconnect)

    @never_raise
    def on_order_event(self, event) -> None:
        """An order event: telemetry, its audit entry (unless the gate audited its own denial), the fill booked."""
        host = self.host
        name = type(event).__name__
        payload = order_event_payload(event, host.sleeve_of.get(str(event.strategy_id)))
        action = AUDITED_ORDER_EVENTS.get(name)
        if name in ("OrderDenied", "OrderModifyRejected") and host.risk and host.risk.audited(event.client_order_id):
            action = None  # the gate audited its own denial with rule and numbers
        if name == "OrderFilled" and event.reconciliation:
            # Not an execution the session saw: reconciliation made it up to match the broker's report. Say so
            # everywhere, and tell the operator; a price of 0 means the broker gave none (kept out of the P&L).
            payload["inferred"] = True
            action = Action.ORDER_FILL_INFERRED
            self.alert_off_loop(
                "order.fill_inferred",
                f"session #{host.session_id}: reconciliation inferred a fill of {payload.get('order_side', '')} "
                f"{payload.get('last_qty', '')} {payload['instrument_id']} @ {payload.get('last_px', '')}",
                payload,
            )
        if name == "OrderFilled" and host.risk is not None and not (event.reconciliation and not event.last_px):
            host.risk.book_fill(event)
        host.sink.emit("fill" if name == "OrderFilled" else "order", payload, audit_action=action)

    def alert_off_loop(self, kind: str, message: str, payload: dict) -> None:
        """Raise an alert from a thread of the loop's executor: the loop never waits on the database (the outbox
        write), let alone on a webhook or SMTP (the courier's thread delivers)."""
        from notifications.services import do_send_alert

        host = self.host
        environment = host.session.environment
        host.node.get_event_loop().run_in_executor(None, do_send_alert, kind, environment, message, payload)

    @never_raise
    def on_position_event(self, event) -> None:
        """A position opened, changed or closed."""
        self.host.sink.emit("position", position_payload(event))

    @never_raise
    def on_account_event(self, event) -> None:
        """The account's balances changed."""
        self.host.sink.emit("account", account_payload(event))

    @never_raise
    def on_bar(self, bar) -> None:
        """A bar reached the strategies (the paper rung replays these)."""
        self.host.sink.emit("bar", bar_payload(bar))

    def snapshot(self, reason: str) -> None:
        """Publish the positions and working orders the node holds (runs on the node's loop, where the cache is)."""
        try:
            self.host.sink.emit("snapshot", snapshot_payload(self.host.node.kernel.cache, reason))
        except Exception:
            log.exception("session %s: snapshot failed", self.host.session_id)
