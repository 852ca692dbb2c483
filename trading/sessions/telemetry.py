"""Session telemetry: node events persisted for history, audited where they matter, and published live.

The node's event loop only enqueues; a writer thread does the database work and the channel-layer publish,
so telemetry never slows the order path. The one exception is the order intent, which the OrderGate writes
synchronously because it must be durable before the order may leave.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, transaction

from audit.models import Action
from audit.services import record, system_actor
from trading.sessions.models import SessionEvent
from trading.sessions.write_turn import write_turn

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0)  # a locked or restarting database gets this long before events are spooled
SPOOL_FLUSH_SECONDS = 60.0  # at the end, how long the writer keeps trying to replay its spool into the database

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
        self.spool = Spool(Path(settings.BASE_DIR) / "var" / "spool" / f"session-{session_id}-{os.getpid()}.jsonl")

    def start(self) -> None:
        self._thread.start()

    def emit(self, kind: str, payload: dict, audit_action: str | None = None, target: str = "") -> None:
        """Queue one event (cheap; safe from the node's event loop)."""
        self._queue.put((kind, payload, audit_action, target, datetime.now(UTC)))

    def close(self, timeout: float = SPOOL_FLUSH_SECONDS + 20.0) -> None:
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
                deadline = time.monotonic() + SPOOL_FLUSH_SECONDS
                while self.spool.pending() and time.monotonic() < deadline:
                    time.sleep(RETRY_DELAYS_SECONDS[-1])
                    self._write([])
                if self.spool.pending():
                    log.error(
                        "session %s: telemetry left in %s; it replays with replay_spool",
                        self.session_id,
                        self.spool.path,
                    )
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
        """Persist a batch, after anything spooled before it (order kept); spool it when the database stays away."""
        spooled = self.spool.pending()
        if not batch and not spooled:
            return
        for delay in (*RETRY_DELAYS_SECONDS, None):
            try:
                rows = self._persist(spooled + batch)
                break
            except Exception:  # a busy or briefly unreachable database: wait and try again
                close_old_connections()
                if delay is None:
                    # Never lost: kept on local disk, replayed in order once writing works again.
                    self.spool.append(batch)
                    log.warning(
                        "session %s: database unavailable; %d telemetry events spooled to %s",
                        self.session_id,
                        len(batch),
                        self.spool.path,
                        exc_info=True,
                    )
                    return
                time.sleep(delay)
        if spooled:
            self.spool.clear()
            log.warning("session %s: %d spooled telemetry events replayed", self.session_id, len(spooled))
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


class Spool:
    """Telemetry the database could not take, on local disk (JSON lines, fsynced), until it can."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, batch: list) -> None:
        """Add events (kind, payload, audit action, target, ts) after those already spooled."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as spool:
            for kind, payload, action, target, ts in batch:
                line = {"kind": kind, "payload": payload, "action": action, "target": target, "ts": ts.isoformat()}
                spool.write(json.dumps(line, default=str) + "\n")
            spool.flush()
            os.fsync(spool.fileno())

    def pending(self) -> list:
        """The spooled events, oldest first."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        events = []
        for line in lines:
            if line.strip():
                e = json.loads(line)
                events.append((e["kind"], e["payload"], e["action"], e["target"], datetime.fromisoformat(e["ts"])))
        return events

    def clear(self) -> None:
        """Everything spooled is in the database now."""
        self.path.unlink(missing_ok=True)


def replay_spools() -> list[tuple[Path, int]]:
    """Persist the telemetry spooled by hosts that ended before the database came back; (file, events) replayed."""
    from trading.sessions.models import TradingSession

    replayed = []
    for path in sorted((Path(settings.BASE_DIR) / "var" / "spool").glob("session-*.jsonl")):
        session_id = int(path.name.split("-")[1])
        session = TradingSession.objects.filter(pk=session_id).first()
        if session is None:
            continue
        spool = Spool(path)
        events = spool.pending()
        TelemetrySink(session_id, session.environment)._persist(events)
        spool.clear()
        replayed.append((path, len(events)))
    return replayed


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
    for attr in ("venue_order_id", "reason", "order_side", "last_qty", "last_px", "commission", "trade_id", "ts_event"):
        value = getattr(event, attr, None)
        if value is None or (isinstance(value, str) and not value):
            continue
        if attr == "order_side":
            value = order_side_to_str(value)
        payload[attr] = value if isinstance(value, (int, float, str)) else str(value)
    return payload


def position_payload(event) -> dict:
    """A JSON-able view of a Nautilus position event."""
    return {
        "event": type(event).__name__,
        "instrument_id": str(event.instrument_id),
        "strategy_id": str(event.strategy_id),
        "signed_qty": float(event.signed_qty),
        "avg_px_open": float(event.avg_px_open),
        "realized_pnl": str(event.realized_pnl),
        "unrealized_pnl": str(event.unrealized_pnl),
    }


def account_payload(event) -> dict:
    """A JSON-able view of a Nautilus account state event."""
    balances = [{"currency": str(b.currency), "total": str(b.total), "free": str(b.free)} for b in event.balances]
    return {"account_id": str(event.account_id), "balances": balances}


def bar_payload(bar) -> dict:
    """A bar as the strategies received it; `ts` is its ts_event (for IB's live bars, the bar's start)."""
    return {
        "bar_type": str(bar.bar_type),
        "ts": bar.ts_event,
        "open": float(bar.open),
        "high": float(bar.high),
        "low": float(bar.low),
        "close": float(bar.close),
        "volume": float(bar.volume),
    }


def snapshot_payload(cache, reason: str) -> dict:
    """The open positions and working orders a node's cache holds."""
    return {
        "reason": reason,
        "positions": [
            {
                "instrument_id": str(p.instrument_id),
                "strategy_id": str(p.strategy_id),
                "signed_qty": float(p.signed_qty),
                "avg_px_open": float(p.avg_px_open),
            }
            for p in cache.positions_open()
        ],
        "working_orders": [
            {
                "client_order_id": str(o.client_order_id),
                "instrument_id": str(o.instrument_id),
                "strategy_id": str(o.strategy_id),
                "side": o.side_string(),
                "quantity": str(o.quantity),
                "type": o.type_string(),
                "price": str(o.price) if o.has_price else None,
                "venue_order_id": str(o.venue_order_id) if o.venue_order_id else None,
            }
            for o in cache.orders_open()
        ],
    }
