"""TCP side of the simulated gateway: lifecycle, faults, framing and dispatch.

One :class:`~ibsim.connection.Connection` per socket. Requests are decoded with :mod:`ibsim.protocol`, logged
in the order log, and dispatched by message name to the handler areas of :mod:`ibsim.handlers` (market data,
orders, account, unsupported), which answer from the :class:`~ibsim.broker.Broker` and
:class:`~ibsim.market.Market` owned by :class:`GatewayServer`. Nothing account-related lives on a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import protocol as P
from .broker import Broker, Order
from .connection import Connection
from .handlers import AccountHandlers, Handler, MarketDataHandlers, OrderHandlers, UnsupportedHandlers
from .handlers.unsupported import request_id
from .market import Market
from .pacing import Pacing
from .sessions import SessionCalendar

log = logging.getLogger("ibsim")

FARM_OK = [
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
]
CONNECTIVITY_TEXT = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
}


class GatewayServer:
    """Listens for TWS API clients and serves them from one broker and one market."""

    def __init__(
        self,
        broker: Broker,
        market: Market,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id_grace: float = 1.0,
        tick_interval: float = 0.05,
        on_change: Callable[[], None] | None = None,
        calendar: SessionCalendar | None = None,
        pacing: bool = False,
    ):
        self.broker = broker
        self.market = market
        self.host = host
        self.port = port
        self.client_id_grace = client_id_grace
        self.tick_interval = tick_interval
        self.on_change = on_change
        self.calendar = calendar or SessionCalendar("always")
        self.pacing = Pacing(pacing)
        self.connections: dict[int, Connection] = {}
        self.order_log: list[dict[str, Any]] = []
        self.silent = False
        self.data_paused = False
        self.ack_delay = 0.0
        self._next_conn = 1
        self._server: asyncio.base_events.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ack_queue: asyncio.Queue[tuple[float, Callable[[], object]]] | None = None
        self._last_k: int | None = None
        self._refuse_until = 0.0
        self.market_data = MarketDataHandlers(self)
        self.orders = OrderHandlers(self)
        self.account = AccountHandlers(self)
        self.handlers: dict[str, Handler] = {
            "START_API": self.start_api,
            "REQ_CURRENT_TIME": self.req_current_time,
            "REQ_CURRENT_TIME_IN_MILLIS": self.req_current_time_millis,
        }
        for area in (UnsupportedHandlers(self), self.market_data, self.orders, self.account):
            self.handlers.update(area.handlers())
        unknown = set(self.handlers) - set(P.OUT_NAMES.values())
        assert not unknown, f"handlers for messages the protocol does not name: {unknown}"
        broker.listeners.append(self._on_broker_event)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        # The first market step before any client: the trading day (and its P&L baseline) starts now.
        self.tick(force=True)
        await self._listen()
        self._ack_queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._ticker(), name="ibsim-ticker"),
            asyncio.create_task(self._ack_worker(), name="ibsim-acks"),
        ]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping: a task's own failure is moot
                await t
        self._tasks = []
        if self._server:
            self._server.close()
        for c in list(self.connections.values()):
            c.close()
        self.connections.clear()

    # ---------------------------------------------------------------- faults

    def drop_connections(self) -> int:
        """Close every client socket at once; returns how many were open."""
        n = 0
        for c in list(self.connections.values()):
            c.close()
            n += 1
        return n

    async def refuse_connections(self, seconds: float) -> None:
        """Stop listening (connection refused) for ``seconds``, then listen again on the same port."""
        if self._server:
            self._server.close()
            self._server = None
        self._refuse_until = time.monotonic() + seconds

        async def reopen() -> None:
            await asyncio.sleep(seconds)
            if self._server is None:
                await self._listen()

        self._tasks.append(asyncio.create_task(reopen()))

    def send_connectivity(self, code: int) -> None:
        """Send 1100 (lost), 1101 (restored, data lost) or 1102 (restored, data kept) to all."""
        if code not in CONNECTIVITY_TEXT:
            raise ValueError(f"connectivity code must be one of {sorted(CONNECTIVITY_TEXT)}")
        self.data_paused = code == 1100
        for c in self.ready():
            c.error(-1, code, CONNECTIVITY_TEXT[code])
            if code == 1101:  # market data subscriptions are gone; clients must resubscribe
                c.clear_market_data()

    # ---------------------------------------------------------------- connection handling

    def ready(self) -> list[Connection]:
        """Connections past startApi and still open."""
        return [c for c in self.connections.values() if c.ready and not c.closed]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        conn = Connection(self._next_conn, writer, peer)
        self._next_conn += 1
        self.connections[conn.conn_id] = conn
        try:
            await self._serve(conn, reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not take the gateway down
            log.exception("connection %s failed", conn.conn_id)
        finally:
            conn.close()
            self.connections.pop(conn.conn_id, None)
            self.pacing.forget(conn)

    def _log(
        self,
        conn: Connection,
        msg_id: int | None,
        name: str,
        fields: list[str],
        args: dict[str, Any],
        error: str | None = None,
    ) -> None:
        self.order_log.append(
            {
                "seq": len(self.order_log) + 1,
                "time": time.time(),
                "conn": conn.conn_id,
                "client_id": conn.client_id,
                "msg_id": msg_id,
                "name": name,
                "fields": fields,
                "args": args,
                "error": error,
            }
        )

    async def _serve(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        prefix = await reader.readexactly(4)
        if prefix != b"API\0":
            self._log(conn, None, "INVALID_HANDSHAKE", [repr(prefix)], {}, "missing API prefix")
            return
        size = int.from_bytes(await reader.readexactly(4), "big")
        if not 0 < size <= 1024:
            self._log(conn, None, "INVALID_HANDSHAKE", [str(size)], {}, "bad handshake length")
            return
        payload = await reader.readexactly(size)
        try:
            lo, hi, options = P.parse_handshake(payload)
        except P.ProtocolError as exc:
            self._log(conn, None, "INVALID_HANDSHAKE", [repr(payload)], {}, str(exc))
            return
        self._log(conn, None, "HANDSHAKE", [payload.decode("ascii")], {"min": lo, "max": hi, "options": options})
        if hi < P.MIN_CLIENT_VERSION or lo > P.SERVER_VERSION:
            return  # no common version: a real gateway hangs up
        conn.version = min(hi, P.SERVER_VERSION)
        if self.silent:
            conn.silenced = True
        conn.send(P.handshake_reply(conn.version, self._conn_time()))
        while True:
            head = await reader.readexactly(4)
            size = int.from_bytes(head, "big")
            if size == 0 or size > P.MAX_FRAME:
                self._log(conn, None, "INVALID", [head.hex()], {}, f"bad frame length {size}")
                conn.error(-1, 320, f"Error reading request: bad message length {size}")
                return
            payload = await reader.readexactly(size)
            try:
                req = P.parse_request(payload, conn.version)
            except P.ProtocolError as exc:
                self._log(conn, None, "INVALID", [payload[:200].decode("ascii", "replace")], {}, str(exc))
                conn.error(-1, 320, f"Error reading request: {exc}")
                continue
            self._log(conn, req.msg_id, req.name, req.fields, req.args)
            if req.msg_id == 71 and conn.client_id is None:
                self.order_log[-1]["client_id"] = P.to_int(req.args.get("clientId"), -1)
            if self.silent or conn.silenced:
                continue
            await self._dispatch(conn, req)

    def _conn_time(self) -> str:
        now = datetime.fromtimestamp(self.market.clock.now(), ZoneInfo("America/New_York"))
        return now.strftime("%Y%m%d %H:%M:%S ") + (now.tzname() or "EST")

    async def _dispatch(self, conn: Connection, req: P.Request) -> None:
        if not conn.ready and req.name != "START_API":
            return  # requests before startApi are ignored by real gateways too
        if self.pacing.message_violation(conn):
            conn.error(request_id(req), 100, "Max rate of messages per second has been exceeded:max=50")
            return
        handler = self.handlers.get(req.name)
        try:
            if handler is None:
                # A message id no client sends at this version: the gateway cannot read it.
                conn.error(request_id(req), 320, f"Error reading request: unknown message id {req.msg_id}")
                return
            result = handler(conn, req)
            if asyncio.iscoroutine(result):
                await result
        except (P.ProtocolError, ValueError, KeyError, IndexError, OverflowError, TypeError) as exc:
            # A malformed request is answered, as a gateway answers it, and the connection stays open.
            conn.error(request_id(req), 320, f"Error reading request: {req.name}: {exc}")

    # ---------------------------------------------------------------- session

    async def start_api(self, conn: Connection, req: P.Request) -> None:
        if conn.ready:
            return
        client_id = P.to_int(req.args.get("clientId"))
        # An overlapping reconnect (old socket not yet closed) is accepted once the old one goes;
        # a client id held by a live session past the grace period gets error 326.
        deadline = time.monotonic() + self.client_id_grace
        while any(c.client_id == client_id and c is not conn for c in self.ready()):
            if time.monotonic() >= deadline:
                conn.error(
                    -1, 326, "Unable to connect as the client id is already in use. Retry with a unique client id."
                )
                await asyncio.sleep(0.05)
                conn.close()
                return
            await asyncio.sleep(0.02)
        conn.client_id = client_id
        conn.ready = True
        conn.send(P.managed_accounts(list(self.broker.accounts)))
        conn.send(P.next_valid_id(self.broker.next_valid_id(client_id)))
        for code, text in FARM_OK:
            conn.error(-1, code, text)
        if self.data_paused:
            conn.error(-1, 1100, CONNECTIVITY_TEXT[1100])

    def req_current_time(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.current_time(int(self.market.clock.now())))

    def req_current_time_millis(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.current_time_millis(int(self.market.clock.now() * 1000)))

    # ---------------------------------------------------------------- acknowledgements

    def after_ack(self, fn: Callable[[], object]) -> None:
        """Run an order action now, or after the injected acknowledgement delay (in arrival order)."""
        if self.ack_delay > 0 and self._ack_queue is not None:
            self._ack_queue.put_nowait((time.monotonic() + self.ack_delay, fn))
        else:
            fn()

    async def _ack_worker(self) -> None:
        # One FIFO queue keeps delayed acknowledgements in the order requests arrived.
        while True:
            assert self._ack_queue is not None  # start() creates the queue before this task
            due, fn = await self._ack_queue.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                fn()
            except Exception:
                log.exception("delayed acknowledgement failed")

    # ---------------------------------------------------------------- broker events -> clients

    def _on_broker_event(self, kind: str, order: Order | None, info: dict[str, Any]) -> None:
        if order is not None:
            self.orders.on_order_event(kind, order, info)
            if kind == "fill":
                self.account.push_account(order.account, order.symbol)
        elif kind == "position":
            self.account.push_account(info["account"], info["symbol"])
        if self.on_change:
            self.on_change()

    # ---------------------------------------------------------------- streaming

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            try:
                self.tick()
            except Exception:
                log.exception("market tick failed")

    def tick(self, force: bool = False) -> None:
        """Push market data for any new path step and match working orders."""
        k = self.market.current_index()
        if k == self._last_k and not force:
            return
        self._last_k = k
        self.broker.on_market(self.market, self.calendar.day_key(self.market.clock.now()))
        if self.data_paused:
            return
        now_w = self.market.clock.now_w()
        for conn in self.ready():
            self.market_data.stream(conn, k, now_w)
            self.account.stream(conn)
