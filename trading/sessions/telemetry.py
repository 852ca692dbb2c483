"""Session telemetry: node events persisted for history, audited where they matter, and published live.

The node's event loop only enqueues; a writer thread does the database work and the channel-layer publish,
so telemetry never slows the order path. The one exception is the order intent, which the OrderGate writes
synchronously because it must be durable before the order may leave.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import close_old_connections, transaction

from audit.models import Action
from audit.services import record, system_actor
from trading.sessions.models import SessionEvent
from trading.sessions.write_turn import write_turn

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0, 4.0)  # a locked or restarting database gets this long before events are lost

# Order events that are audited (the rest are telemetry only).
AUDITED_ORDER_EVENTS = {
    "OrderDenied": Action.ORDER_DENIED,
    "OrderModifyRejected": Action.ORDER_DENIED,
    "OrderAccepted": Action.ORDER_ACCEPTED,
    "OrderRejected": Action.ORDER_REJECTED,
    "OrderFilled": Action.ORDER_FILLED,
    "OrderCanceled": Action.ORDER_CANCELED,
}


def telemetry_group(environment: str) -> str:
    """The channel-layer group that carries an environment's telemetry."""
    return f"telemetry.{environment}"


def publish(environment: str, message: dict) -> None:
    """Send one message to the environment's channel-layer group (a no-op without a cross-process layer)."""
    if not settings.REDIS_URL:
        return  # embedded default: pages tail SessionEvent rows instead
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer(environment)
    if layer is not None:
        async_to_sync(layer.group_send)(telemetry_group(environment), {"type": "telemetry.event", **message})


class TelemetrySink:
    """Persists and publishes session events from a background thread."""

    def __init__(self, session_id: int, environment: str, actor: str | None = None):
        self.session_id = session_id
        self.environment = environment
        self.actor = actor or system_actor(f"session-{session_id}")
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"telemetry-{session_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def emit(self, kind: str, payload: dict, audit_action: str | None = None, target: str = "") -> None:
        """Queue one event (cheap; safe from the node's event loop)."""
        self._queue.put((kind, payload, audit_action, target, datetime.now(UTC)))

    def close(self, timeout: float = 20.0) -> None:
        """Flush what is queued and stop the writer."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while item is not None and not self._queue.empty() and len(batch) < 200:
                item = self._queue.get_nowait()
                batch.append(item)
            done = batch[-1] is None
            self._write([b for b in batch if b is not None])
            if done:
                close_old_connections()
                return

    def _persist(self, batch: list) -> list[SessionEvent]:
        """Store the events, and the audit entries of those that are audited, in one transaction."""
        with write_turn(), transaction.atomic():
            rows = SessionEvent.objects.bulk_create(
                [
                    SessionEvent(
                        session_id=self.session_id, environment=self.environment, kind=kind, ts=ts, payload=payload
                    )
                    for kind, payload, _, _, ts in batch
                ]
            )
            for _kind, payload, action, target, _ts in batch:
                if action:
                    record(
                        action,
                        actor=self.actor,
                        target=target or f"session:{self.session_id}",
                        payload={"session": self.session_id, **payload},
                    )
        return rows

    def _write(self, batch: list) -> None:
        if not batch:
            return
        for delay in RETRY_DELAYS_SECONDS:
            try:
                rows = self._persist(batch)
                break
            except Exception:  # a busy or briefly unreachable database: wait and try again
                log.warning(
                    "session %s: persisting %d telemetry events failed; retrying in %.1fs",
                    self.session_id,
                    len(batch),
                    delay,
                    exc_info=True,
                )
                close_old_connections()
                time.sleep(delay)
        else:
            try:
                rows = self._persist(batch)
            except Exception:  # telemetry must never take the node down; the loss is logged loudly
                log.exception("session %s: LOST %d telemetry events after retries", self.session_id, len(batch))
                return
        for row in rows:
            try:
                publish(
                    self.environment,
                    {
                        "session": self.session_id,
                        "id": row.pk,
                        "kind": row.kind,
                        "ts": row.ts.isoformat(),
                        "payload": row.payload,
                    },
                )
            except Exception:
                log.warning(
                    "session %s: channel layer publish failed (pages resync from the database)",
                    self.session_id,
                    exc_info=True,
                )
                break


def order_event_payload(event, sleeve: dict | None) -> dict:
    """A JSON-able view of a Nautilus order event."""
    from nautilus_trader.model.functions import order_side_to_str

    payload = {
        "event": type(event).__name__,
        "client_order_id": str(event.client_order_id),
        "instrument_id": str(event.instrument_id),
        "strategy_id": str(event.strategy_id),
    }
    if sleeve:
        payload["sleeve"] = sleeve
    for attr in ("venue_order_id", "reason", "order_side", "last_qty", "last_px", "commission", "trade_id"):
        value = getattr(event, attr, None)
        if value is None or (isinstance(value, str) and not value):
            continue
        if attr == "order_side":
            value = order_side_to_str(value)
        payload[attr] = value if isinstance(value, (int, float, str)) else str(value)
    return payload
