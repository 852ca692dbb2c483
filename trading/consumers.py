"""Telemetry websockets: the SessionEvent table is the truth; the channel layer only wakes consumers up.

Protocol (JSON)::

    connect  ws://HOST/ws/<paper|live>/telemetry/?after=<last seen event id>&session=<id, optional>
    server → {"type": "hello", "environment": "paper", "session": null, "after": 41}
    server → {"type": "events", "events": [{"id", "session", "kind", "ts", "payload"}, ...], "last_id": N}
             (first the backlog after `after`, in pages of at most 500, then every new row as it is persisted)
    server → {"type": "synced", "last_id": N}          once the backlog is sent
    client → {"type": "resync", "after": N}             re-send everything after N (the client reconnects with
                                                         ?after=<last id> after a drop, so nothing is lost)

Closes before accepting (the handshake is refused) with 4401 unauthenticated, 4403 no permission, 4404 live
trading disabled or no such session. Origins are checked by AllowedHostsOriginValidator in asgi.py.

With Redis (REDIS_URL) the session host publishes each committed row to group ``telemetry.<env>`` on layer
alias ``<env>``; the consumer forwards the carried row at once (no database read per socket), and a look-back
poll every SAFETY_POLL_SECONDS re-reads the table for anything a publish missed. Without Redis there is nothing
to wake it, so it polls the table every POLL_SECONDS. The table is the truth in both modes: rows are
deduplicated by id, and a client reconnecting with its last id gets everything after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from trading import selectors

log = logging.getLogger(__name__)

POLL_SECONDS = 0.15  # embedded default (no Redis): how often new rows are looked for
SAFETY_POLL_SECONDS = 1.0  # with Redis: a poll even without a message, for a lost publish or a late commit
LOOKBACK_IDS = 256  # PostgreSQL can commit ids out of order: re-check this many ids below the highest sent
PAGE = 500


def db(fn):
    """Run a read in the thread pool, not on the one shared sync thread: 50 sockets must not queue behind it."""
    return database_sync_to_async(fn, thread_sensitive=False)


class TelemetryConsumer(AsyncJsonWebsocketConsumer):
    """Streams one environment's (or one session's) telemetry; subclasses fix the environment and layer alias."""

    environment = ""

    async def connect(self):
        self.follow_task = None
        self.session_id = None
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not selectors.environment_available(self.environment):
            await self.close(code=4404)
            return
        allowed = await db(selectors.may_view)(user, self.environment)
        if not allowed:
            await self.close(code=4403)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            self.after = max(0, int(query.get("after", ["0"])[-1] or 0))
            session = query.get("session", [""])[-1]
            self.session_id = int(session) if session else None
        except ValueError:
            await self.close(code=4400)
            return
        if self.session_id is not None:
            exists = await db(selectors.get_session)(self.environment, self.session_id)
            if exists is None:
                await self.close(code=4404)
                return
        self.group = f"telemetry.{self.environment}"
        if self.channel_layer is not None:
            await self.channel_layer.group_add(self.group, self.channel_name)
            self.groups_joined.append(self.group)
        self.base = self.after  # ids at or below it are the client's already
        self.wake = asyncio.Event()
        self.live = False  # True once the backlog is sent: from then on, rows carried by Redis go out directly
        self.sent = set()  # ids sent above after - LOOKBACK_IDS (dedupe for the out-of-order re-check)
        await self.accept()
        await self.send_json(
            {"type": "hello", "environment": self.environment, "session": self.session_id, "after": self.after}
        )
        self.follow_task = asyncio.ensure_future(self.follow())

    async def disconnect(self, code):
        if getattr(self, "follow_task", None):
            self.follow_task.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "resync":
            try:
                after = max(0, int(content.get("after") or 0))
            except (TypeError, ValueError):
                return
            self.after = self.base = min(self.after, after)
            self.sent = {i for i in self.sent if i <= self.after}
            await self.send_backlog()
            self.wake.set()

    async def telemetry_event(self, message):
        """A row was persisted and committed (Redis mode). The message carries the row: send it at once; rows
        committed out of order or publishes that never came are caught by the loop's look-back poll."""
        if self.session_id is not None and message.get("session") != self.session_id:
            return
        row_id = message.get("id")
        if self.live and isinstance(row_id, int) and "kind" in message and "payload" in message:
            if row_id > self.base:
                await self.send_rows(
                    [
                        {
                            "id": row_id,
                            "session": message.get("session"),
                            "kind": message["kind"],
                            "ts": message.get("ts"),
                            "payload": message["payload"],
                        }
                    ]
                )
            return
        self.wake.set()

    # -- the follow loop ------------------------------------------------------------------------------------------

    async def send_backlog(self):
        while True:
            rows = await db(selectors.events_after)(self.environment, self.after, self.session_id, PAGE)
            await self.send_rows(rows)
            if len(rows) < PAGE:
                break
        await self.send_json({"type": "synced", "last_id": self.after})

    async def send_rows(self, rows):
        rows = [r for r in rows if r["id"] not in self.sent]
        if not rows:
            return
        for r in rows:
            self.sent.add(r["id"])
        self.after = max(self.after, max(r["id"] for r in rows))
        floor = self.after - LOOKBACK_IDS
        if len(self.sent) > 4 * LOOKBACK_IDS:
            self.sent = {i for i in self.sent if i > floor}
        await self.send_json({"type": "events", "events": rows, "last_id": self.after})

    def _fresh(self):
        """New rows, including any committed late below the highest id already sent (PostgreSQL sequences)."""
        floor = max(self.base, self.after - LOOKBACK_IDS)
        ids = selectors.event_ids_after(self.environment, floor, self.session_id, limit=LOOKBACK_IDS + PAGE)
        missing = [i for i in ids if i not in self.sent]
        return selectors.events_by_ids(missing[:PAGE]) if missing else []

    async def follow(self):
        redis = bool(settings.REDIS_URL)
        try:
            await self.send_backlog()
            self.live = True
            while True:
                with contextlib.suppress(TimeoutError):  # no wake-up: poll anyway
                    await asyncio.wait_for(self.wake.wait(), SAFETY_POLL_SECONDS if redis else POLL_SECONDS)
                self.wake.clear()
                rows = await db(self._fresh)()
                await self.send_rows(rows)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("telemetry follow loop failed; closing so the client reconnects and resyncs")
            await self.close(code=1011)


class PaperTelemetryConsumer(TelemetryConsumer):
    environment = "paper"
    channel_layer_alias = "paper"


class LiveTelemetryConsumer(TelemetryConsumer):
    environment = "live"
    channel_layer_alias = "live"
