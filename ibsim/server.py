"""TCP side of the simulated gateway: handshake, per-connection state, request handlers, fan-out.

One :class:`Connection` per socket. Requests are decoded with :mod:`ibsim.protocol`, logged in
the order log, and answered from the :class:`~ibsim.broker.Broker` and :class:`~ibsim.market.Market`
owned by :class:`GatewayServer`. Nothing account-related lives on a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import protocol as P
from .broker import Broker, BrokerError, Order, Position
from .contracts import CONTRACTS, StockContract, lookup, session_hours
from .market import (
    DAY,
    STEP,
    Bar,
    Market,
    epoch_to_w,
    parse_bar_size,
    parse_duration,
    parse_end_time,
    w_to_date,
    w_to_epoch,
)

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
NO_SECDEF = "No security definition has been found for the request"
LEDGER_TAGS = (
    "CashBalance",
    "TotalCashBalance",
    "NetLiquidationByCurrency",
    "StockMarketValue",
    "UnrealizedPnL",
    "RealizedPnL",
)
ACCOUNT_UPDATE_KEYS = (
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "GrossPositionValue",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "Leverage",
    "CashBalance",
    "StockMarketValue",
    "UnrealizedPnL",
    "RealizedPnL",
)


@dataclass
class HistSub:
    symbol: str
    size: int
    daily: bool
    format_date: int
    last_start: float = -1.0
    last_sent: Bar | None = None


@dataclass
class Connection:
    """One client socket and the subscriptions it holds."""

    conn_id: int
    writer: asyncio.StreamWriter
    peer: str
    version: int = 0
    client_id: int | None = None
    ready: bool = False
    closed: bool = False
    md_type: int = 1
    mkt: dict[int, str] = field(default_factory=dict)
    tbt: dict[int, tuple[str, str]] = field(default_factory=dict)
    rtbars: dict[int, list[Any]] = field(default_factory=dict)  # reqId -> [symbol, next step index]
    hist: dict[int, HistSub] = field(default_factory=dict)
    positions_sub: bool = False
    acct_updates: str | None = None
    acct_summary: dict[int, tuple[str, str]] = field(default_factory=dict)
    acct_multi: dict[int, str] = field(default_factory=dict)
    silenced: bool = False  # accepted while the gateway was silent: never answered
    outbox: list[bytes] = field(default_factory=list)

    def send(self, fields: list[Any]) -> None:
        if self.closed or self.silenced:
            return
        # Frames queued in one loop iteration go out in one write: a fill produces dozens of messages (order status,
        # execution, commission, account values), and a syscall each was most of a round-trip's cost.
        if not self.outbox:
            asyncio.get_running_loop().call_soon(self.flush)
        self.outbox.append(P.frame(fields))

    def flush(self) -> None:
        """Write every queued frame, in order."""
        if self.outbox and not self.closed:
            self.writer.write(b"".join(self.outbox))
        self.outbox.clear()

    def error(self, req_id: int, code: int, text: str) -> None:
        self.send(P.error(req_id, code, text))

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True
            self.writer.close()


# A request handler; ``start_api`` is the one coroutine among them.
Handler = Callable[[Connection, P.Request], Coroutine[Any, Any, None] | None]


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
    ):
        self.broker = broker
        self.market = market
        self.host = host
        self.port = port
        self.client_id_grace = client_id_grace
        self.tick_interval = tick_interval
        self.on_change = on_change
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
        broker.listeners.append(self._on_broker_event)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
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
        for c in self._ready():
            c.error(-1, code, CONNECTIVITY_TEXT[code])
            if code == 1101:  # market data subscriptions are gone; clients must resubscribe
                c.mkt.clear()
                c.tbt.clear()
                c.rtbars.clear()
                c.hist.clear()

    # ---------------------------------------------------------------- connection handling

    def _ready(self) -> list[Connection]:
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
        conn.send([conn.version, self._conn_time()])
        while True:
            head = await reader.readexactly(4)
            size = int.from_bytes(head, "big")
            if size == 0 or size > P.MAX_FRAME:
                self._log(conn, None, "INVALID", [head.hex()], {}, f"bad frame length {size}")
                conn.error(-1, 320, f"Error reading request: bad message length {size}")
                return
            payload = await reader.readexactly(size)
            try:
                req = P.parse_request(payload)
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
        if not conn.ready and req.msg_id != 71:
            return  # requests before startApi are ignored by real gateways too
        handler = self._handlers().get(req.msg_id)
        try:
            if handler is None:
                if req.name.startswith("UNKNOWN"):
                    conn.error(-1, 320, f"Error reading request: unknown message id {req.msg_id}")
                else:
                    conn.error(_req_id(req), 321, f"Error validating request: {req.name} is not supported by ibsim")
                return
            result = handler(conn, req)
            if asyncio.iscoroutine(result):
                await result
        except (P.ProtocolError, ValueError, KeyError) as exc:
            conn.error(_req_id(req), 320, f"Error reading request: {req.name}: {exc}")

    def _handlers(self) -> dict[int, Handler]:
        return {
            1: self.req_mkt_data,
            2: self.cancel_mkt_data,
            3: self.place_order,
            4: self.cancel_order,
            5: self.req_open_orders,
            6: self.req_account_updates,
            7: self.req_executions,
            8: self.req_ids,
            9: self.req_contract_details,
            15: lambda c, r: None,
            16: self.req_all_open_orders,
            17: self.req_managed_accts,
            20: self.req_historical_data,
            25: self.cancel_historical_data,
            49: self.req_current_time,
            50: self.req_real_time_bars,
            51: self.cancel_real_time_bars,
            58: self.req_global_cancel,
            59: self.req_market_data_type,
            61: self.req_positions,
            62: self.req_account_summary,
            63: self.cancel_account_summary,
            64: self.cancel_positions,
            71: self.start_api,
            74: self.req_positions_multi,
            75: lambda c, r: None,
            76: self.req_account_updates_multi,
            77: self.cancel_account_updates_multi,
            80: self.req_family_codes,
            81: self.req_matching_symbols,
            87: self.req_head_timestamp,
            90: lambda c, r: None,
            91: self.req_market_rule,
            92: self.req_pnl,
            93: lambda c, r: None,
            94: self.req_pnl_single,
            95: lambda c, r: None,
            97: self.req_tick_by_tick,
            98: self.cancel_tick_by_tick,
            99: self.req_completed_orders,
            104: self.req_user_info,
            105: self.req_current_time_millis,
        }

    # ---------------------------------------------------------------- session

    async def start_api(self, conn: Connection, req: P.Request) -> None:
        if conn.ready:
            return
        client_id = P.to_int(req.args.get("clientId"))
        # An overlapping reconnect (old socket not yet closed) is accepted once the old one goes;
        # a client id held by a live session past the grace period gets error 326.
        deadline = time.monotonic() + self.client_id_grace
        while any(c.client_id == client_id and c is not conn for c in self._ready()):
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

    def req_managed_accts(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.managed_accounts(list(self.broker.accounts)))

    def req_ids(self, conn: Connection, req: P.Request) -> None:
        assert conn.client_id is not None  # only startApi runs before the session is ready (see _dispatch)
        conn.send(P.next_valid_id(self.broker.next_valid_id(conn.client_id)))

    def req_current_time(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.current_time(int(self.market.clock.now())))

    def req_current_time_millis(self, conn: Connection, req: P.Request) -> None:
        conn.send([109, int(self.market.clock.now() * 1000)])

    def req_market_data_type(self, conn: Connection, req: P.Request) -> None:
        conn.md_type = P.to_int(req.args.get("marketDataType"), 1)

    def req_user_info(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.user_info(P.to_int(req.args.get("reqId"))))

    def req_family_codes(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.family_codes(list(self.broker.accounts)))

    def req_market_rule(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.market_rule(P.to_int(req.args.get("marketRuleId")), 0.01))

    def req_matching_symbols(self, conn: Connection, req: P.Request) -> None:
        pattern = (req.args.get("pattern") or "").upper()
        found = [c for s, c in CONTRACTS.items() if s.startswith(pattern)] if pattern else []
        conn.send(P.symbol_samples(P.to_int(req.args.get("reqId")), found))

    # ---------------------------------------------------------------- contracts

    def _contract(self, conn: Connection, req_id: int, spec: dict[str, Any]) -> StockContract | None:
        c = lookup(spec)
        if c is None:
            conn.error(req_id, 200, NO_SECDEF)
        return c

    def req_contract_details(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        c = self._contract(conn, req_id, req.args["contract"])
        if c is None:
            return
        today = w_to_date(self.market.clock.now_w())
        trading, liquid = session_hours(today)
        conn.send(P.contract_data(req_id, c, trading, liquid))
        conn.send(P.contract_data_end(req_id))

    # ---------------------------------------------------------------- market data

    def req_mkt_data(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        c = self._contract(conn, req_id, req.args["contract"])
        if c is None:
            return
        conn.send(P.market_data_type(req_id, 1))
        conn.send(P.tick_req_params(req_id, c.min_tick, "9c0001"))
        self._send_quote(conn, req_id, c.symbol, full=True)
        if req.args.get("snapshot") == "1":
            conn.send([57, 1, req_id])
        else:
            conn.mkt[req_id] = c.symbol

    def cancel_mkt_data(self, conn: Connection, req: P.Request) -> None:
        conn.mkt.pop(P.to_int(req.args["reqId"]), None)

    def _send_quote(self, conn: Connection, req_id: int, symbol: str, full: bool = False) -> None:
        bid, ask, last, bid_size, ask_size, last_size = self.market.quote(symbol)
        conn.send(P.tick_price(req_id, 1, bid, bid_size, 1))
        conn.send(P.tick_price(req_id, 2, ask, ask_size, 1))
        conn.send(P.tick_price(req_id, 4, last, last_size, 0))
        if full:
            day = self._today_bar(symbol)
            if day:
                o, h, lo, _c, v, *_ = day
                conn.send(P.tick_price(req_id, 6, h, 0, 0))
                conn.send(P.tick_price(req_id, 7, lo, 0, 0))
                conn.send(P.tick_price(req_id, 14, o, 0, 0))
                conn.send(P.tick_size(req_id, 8, v / 100))
            conn.send(P.tick_price(req_id, 9, self.market.history[symbol][-1].close, 0, 0))

    def _today_bar(self, symbol: str) -> Bar | None:
        w0 = math.floor(self.market.clock.now_w() / DAY) * DAY
        return self.market.bar_between(symbol, w0, w0 + DAY)

    def req_tick_by_tick(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        c = self._contract(conn, req_id, req.args["contract"])
        if c is None:
            return
        kind = req.args.get("tickType") or "Last"
        if kind not in ("Last", "AllLast", "BidAsk", "MidPoint"):
            conn.error(req_id, 321, f"Error validating request: invalid tick type {kind}")
            return
        conn.tbt[req_id] = (c.symbol, kind)
        self._send_tbt(conn, req_id, c.symbol, kind)

    def cancel_tick_by_tick(self, conn: Connection, req: P.Request) -> None:
        conn.tbt.pop(P.to_int(req.args["reqId"]), None)

    def _send_tbt(self, conn: Connection, req_id: int, symbol: str, kind: str) -> None:
        bid, ask, last, bid_size, ask_size, last_size = self.market.quote(symbol)
        t = int(self.market.clock.now())
        if kind in ("Last", "AllLast"):
            venue = CONTRACTS[symbol].venue
            conn.send(P.tick_by_tick_last(req_id, 1 if kind == "Last" else 2, t, last, last_size, venue))
        elif kind == "BidAsk":
            conn.send(P.tick_by_tick_bid_ask(req_id, t, bid, ask, bid_size, ask_size))
        else:
            conn.send(P.tick_by_tick_mid(req_id, t, round((bid + ask) / 2, 4)))

    def req_real_time_bars(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        c = self._contract(conn, req_id, req.args["contract"])
        if c is None:
            return
        conn.rtbars[req_id] = [c.symbol, self.market.current_index()]

    def cancel_real_time_bars(self, conn: Connection, req: P.Request) -> None:
        conn.rtbars.pop(P.to_int(req.args["reqId"]), None)

    def req_head_timestamp(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        c = self._contract(conn, req_id, req.args["contract"])
        if c is None:
            return
        d = self.market.head_date(c.symbol)
        if req.args.get("formatDate") == "2":
            ts = str(int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()))
        else:
            ts = d.strftime("%Y%m%d 00:00:00 UTC")
        conn.send(P.head_timestamp(req_id, ts))

    def req_historical_data(self, conn: Connection, req: P.Request) -> None:
        a = req.args
        req_id = P.to_int(a["reqId"])
        c = self._contract(conn, req_id, a["contract"])
        if c is None:
            return
        keep = a.get("keepUpToDate") == "1"
        if keep and (a.get("endDateTime") or "").strip():
            conn.error(req_id, 321, "Error validating request: End date not supported with live updates")
            return
        try:
            size = parse_bar_size(a.get("barSizeSetting") or "")
            span = parse_duration(a.get("durationStr") or "1 D")
            end = parse_end_time(a.get("endDateTime") or "", self.market.clock.now())
        except ValueError as exc:
            conn.error(req_id, 321, f"Error validating request: {exc}")
            return
        fmt = P.to_int(a.get("formatDate"), 1)
        end_w = min(epoch_to_w(end), self.market.clock.now_w())
        start_w = end_w - span
        daily = size >= DAY
        if daily:
            # N days of duration means N daily bars ending with the end date's bar.
            start_day = w_to_date(math.floor(end_w / DAY) * DAY - (math.ceil(span / DAY) - 1) * DAY)
            daily_rows = self.market.daily_bars(c.symbol, start_day, w_to_date(end_w))
            bars = [(b[0].strftime("%Y%m%d"), *_round_bar(b[1:], c.min_tick)) for b in daily_rows]
        else:
            intraday_rows = self.market.intraday_bars(c.symbol, start_w, end_w, size)
            bars = [(_fmt_time(b[0], fmt), *b[1:]) for b in intraday_rows]
        if not bars:
            conn.error(req_id, 162, "Historical Market Data Service error message:HMDS query returned no data")
            return
        conn.send(
            P.historical_data(req_id, _fmt_time(w_to_epoch(start_w), 1), _fmt_time(w_to_epoch(end_w), 1), bars[-10000:])
        )
        if keep:
            conn.hist[req_id] = HistSub(c.symbol, size, daily, fmt)

    def cancel_historical_data(self, conn: Connection, req: P.Request) -> None:
        conn.hist.pop(P.to_int(req.args["reqId"]), None)

    # ---------------------------------------------------------------- orders

    def _targets(self, order: Order) -> list[Connection]:
        # Order messages go to the owning client id; client 0 (the TWS/master session) sees all.
        return [c for c in self._ready() if c.client_id == order.client_id or c.client_id == 0]

    def _contract_of(self, order: Order) -> StockContract:
        return CONTRACTS[order.symbol]

    def place_order(self, conn: Connection, req: P.Request) -> None:
        order_id = P.to_int(req.args["orderId"])
        c = lookup(req.args["contract"])
        if c is None:
            conn.error(order_id, 200, NO_SECDEF)
            return
        assert conn.client_id is not None  # only startApi runs before the session is ready (see _dispatch)
        what_if = req.args.get("whatIf") == "1"
        existing = self.broker.find(conn.client_id, order_id)
        if existing is not None and existing.is_open and not what_if:
            self._after_ack(lambda: self._guard(conn, order_id, self.broker.modify, existing, req.args, self.market))
            return
        if existing is not None and not what_if:
            conn.error(order_id, 103, "Duplicate order id")
            return
        try:
            order = self.broker.new_order(conn.client_id, order_id, req.args, c)
        except BrokerError as exc:
            conn.error(order_id, exc.code, exc.text)
            return
        if what_if:
            # A what-if order is answered with its margin and commission impact, to the asking client only, and
            # never becomes an order.
            conn.send(P.open_order(order, c, what_if=self.broker.what_if(order, self.market)))
            return
        self._after_ack(lambda: self.broker.submit(order, self.market))

    def _guard(self, conn: Connection, req_id: int, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except BrokerError as exc:
            conn.error(req_id, exc.code, exc.text)

    def cancel_order(self, conn: Connection, req: P.Request) -> None:
        order_id = P.to_int(req.args["orderId"])

        def do() -> None:
            assert conn.client_id is not None  # only startApi runs before the session is ready (see _dispatch)
            order = self.broker.find(conn.client_id, order_id)
            if order is None:
                conn.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found.")
                return
            self._guard(conn, order_id, self.broker.cancel, order)

        self._after_ack(do)

    def req_global_cancel(self, conn: Connection, req: P.Request) -> None:
        self._after_ack(self.broker.cancel_all)

    def _after_ack(self, fn: Callable[[], object]) -> None:
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

    def _send_open(self, conn: Connection, o: Order) -> None:
        c = self._contract_of(o)
        conn.send(P.open_order(o, c))
        conn.send(P.order_status(o))

    def req_open_orders(self, conn: Connection, req: P.Request) -> None:
        for o in self.broker.working():
            if o.client_id == conn.client_id or conn.client_id == 0:
                self._send_open(conn, o)
        conn.send(P.open_order_end())

    def req_all_open_orders(self, conn: Connection, req: P.Request) -> None:
        for o in self.broker.working():
            self._send_open(conn, o)
        conn.send(P.open_order_end())

    def req_completed_orders(self, conn: Connection, req: P.Request) -> None:
        api_only = req.args.get("apiOnly") == "1"
        for o in self.broker.orders.values():
            if o.status in ("Filled", "Cancelled", "Inactive") and not (api_only and o.placed_elsewhere):
                conn.send(P.completed_order(o, self._contract_of(o), o.completed_time))
        conn.send(P.completed_orders_end())

    def req_executions(self, conn: Connection, req: P.Request) -> None:
        a = req.args
        req_id = P.to_int(a.get("reqId"))
        client = P.to_int(a.get("clientId"))
        acct = a.get("acctCode") or ""
        since = (a.get("time") or "").strip()
        symbol = (a.get("symbol") or "").upper()
        side = (a.get("side") or "").upper()
        since_epoch = None
        if since:
            try:
                since_epoch = parse_end_time(since.replace("  ", " "), 0)
            except ValueError:
                since_epoch = None
        for e in self.broker.executions:
            if client and e.client_id != client:
                continue
            if acct and e.account != acct:
                continue
            if symbol and e.symbol != symbol:
                continue
            if side and e.side != {"BUY": "BOT", "SELL": "SLD"}.get(side, side):
                continue
            if since_epoch is not None and e.epoch < since_epoch:
                continue
            conn.send(P.execution_data(req_id, e, CONTRACTS[e.symbol]))
            conn.send(P.commission_report(e.exec_id, e.commission, "USD", e.realized))
        conn.send(P.execution_data_end(req_id))

    # ---------------------------------------------------------------- account

    def _positions(self, account: str | None = None) -> Iterator[tuple[str, StockContract, Position]]:
        for acc in self.broker.accounts.values():
            if account and acc.account_id != account:
                continue
            for sym, p in acc.positions.items():
                if p.qty != 0:
                    yield acc.account_id, CONTRACTS[sym], p

    def req_positions(self, conn: Connection, req: P.Request) -> None:
        for account, c, p in self._positions():
            conn.send(P.position(account, c, p.qty, round(p.avg_cost, 6)))
        conn.send(P.position_end())
        conn.positions_sub = True

    def cancel_positions(self, conn: Connection, req: P.Request) -> None:
        conn.positions_sub = False

    def req_positions_multi(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or ""
        for acc_id, c, p in self._positions(account if account not in ("", "All") else None):
            conn.send(P.position_multi(req_id, acc_id, c, p.qty, round(p.avg_cost, 6)))
        conn.send(P.position_multi_end(req_id))

    def _summary_rows(self, account: str, tags: str) -> list[tuple[str, str, str]]:
        values = self.broker.account_values(account, self.market)
        rows: list[tuple[str, str, str]] = []
        wanted = [t.strip() for t in (tags or "").split(",") if t.strip()]
        for tag in wanted:
            if tag == "AccountType":
                rows.append(("AccountType", "INDIVIDUAL", ""))
            elif tag.startswith("$LEDGER"):
                for t in LEDGER_TAGS:
                    v = values.get(t, values["NetLiquidation"] if t.startswith("NetLiq") else values["TotalCashValue"])
                    rows.append((t, _money(v), "USD"))
                    if tag != "$LEDGER:USD":
                        rows.append((t, _money(v), "BASE"))
            elif tag in values:
                rows.append((tag, _money(values[tag]), "USD"))
            elif tag.lower() == "all":
                rows.append(("AccountType", "INDIVIDUAL", ""))
                rows += [(k, _money(v), "USD") for k, v in values.items()]
        return rows

    def _send_summary(self, conn: Connection, req_id: int, group: str, tags: str) -> None:
        for account in self.broker.accounts:
            for tag, value, cur in self._summary_rows(account, tags):
                conn.send(P.account_summary(req_id, account, tag, value, cur))
        conn.send(P.account_summary_end(req_id))

    def req_account_summary(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        group, tags = req.args.get("groupName") or "All", req.args.get("tags") or ""
        conn.acct_summary[req_id] = (group, tags)
        self._send_summary(conn, req_id, group, tags)

    def cancel_account_summary(self, conn: Connection, req: P.Request) -> None:
        conn.acct_summary.pop(P.to_int(req.args["reqId"]), None)

    def _send_account_updates(self, conn: Connection, account: str, portfolio: bool = True) -> None:
        values = self.broker.account_values(account, self.market)
        conn.send(P.account_value("AccountCode", account, "", account))
        conn.send(P.account_value("AccountType", "INDIVIDUAL", "", account))
        conn.send(P.account_value("Currency", "USD", "USD", account))
        for key in ACCOUNT_UPDATE_KEYS:
            conn.send(P.account_value(key, _money(values[key]), "USD", account))
        conn.send(P.account_value("CashBalance", _money(values["CashBalance"]), "BASE", account))
        conn.send(P.account_value("NetLiquidationByCurrency", _money(values["NetLiquidation"]), "BASE", account))
        if portfolio:
            for _, c, p in self._positions(account):
                mark = self.market.last(c.symbol)
                conn.send(
                    P.portfolio_value(
                        c,
                        p.qty,
                        mark,
                        round(p.qty * mark, 2),
                        round(p.avg_cost, 6),
                        round((mark - p.avg_cost) * p.qty, 2),
                        round(p.realized, 2),
                        account,
                    )
                )
        now = datetime.fromtimestamp(self.market.clock.now(), ZoneInfo("America/New_York"))
        conn.send(P.account_update_time(now.strftime("%H:%M")))

    def req_account_updates(self, conn: Connection, req: P.Request) -> None:
        if req.args.get("subscribe") != "1":
            conn.acct_updates = None
            return
        account = req.args.get("acctCode") or next(iter(self.broker.accounts))
        if account not in self.broker.accounts:
            conn.error(-1, 321, f"Error validating request: account {account} is not managed")
            return
        conn.acct_updates = account
        self._send_account_updates(conn, account)
        conn.send(P.account_download_end(account))

    def _send_multi(self, conn: Connection, req_id: int, account: str) -> None:
        accounts = list(self.broker.accounts) if account in ("", "All") else [account]
        for acc in accounts:
            values = self.broker.account_values(acc, self.market)
            conn.send(P.account_update_multi(req_id, acc, "AccountType", "INDIVIDUAL", ""))
            for key in ACCOUNT_UPDATE_KEYS:
                conn.send(P.account_update_multi(req_id, acc, key, _money(values[key]), "USD"))
        conn.send(P.account_update_multi_end(req_id))

    def req_account_updates_multi(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or ""
        if account not in ("", "All") and account not in self.broker.accounts:
            conn.error(req_id, 321, f"Error validating request: account {account} is not managed")
            return
        conn.acct_multi[req_id] = account
        self._send_multi(conn, req_id, account)

    def cancel_account_updates_multi(self, conn: Connection, req: P.Request) -> None:
        conn.acct_multi.pop(P.to_int(req.args["reqId"]), None)

    def req_pnl(self, conn: Connection, req: P.Request) -> None:
        account = req.args.get("account") or next(iter(self.broker.accounts))
        if account not in self.broker.accounts:
            conn.error(P.to_int(req.args["reqId"]), 321, f"Error validating request: account {account} is not managed")
            return
        v = self.broker.account_values(account, self.market)
        conn.send(P.pnl(P.to_int(req.args["reqId"]), 0.0, round(v["UnrealizedPnL"], 2), round(v["RealizedPnL"], 2)))

    def req_pnl_single(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or next(iter(self.broker.accounts))
        con_id = P.to_int(req.args.get("conId"))
        for _account, c, p in self._positions(account):
            if c.con_id == con_id:
                mark = self.market.last(c.symbol)
                conn.send(
                    P.pnl_single(
                        req_id,
                        p.qty,
                        0.0,
                        round((mark - p.avg_cost) * p.qty, 2),
                        round(p.realized, 2),
                        round(p.qty * mark, 2),
                    )
                )
                return
        conn.send(P.pnl_single(req_id, 0, 0.0, 0.0, 0.0, 0.0))

    # ---------------------------------------------------------------- broker events -> clients

    def _on_broker_event(self, kind: str, order: Order | None, info: dict[str, Any]) -> None:
        if order is not None:
            targets = self._targets(order)
            c = self._contract_of(order)
            if kind == "open":
                for conn in targets:
                    self._send_open(conn, order)
            elif kind == "fill":
                ex = info["execution"]
                for conn in targets:
                    conn.send(P.execution_data(-1, ex, c))
                    conn.send(P.order_status(order))
                    if order.status == "Filled":
                        conn.send(P.open_order(order, c))
                    conn.send(P.commission_report(ex.exec_id, ex.commission, "USD", ex.realized))
                self._push_account(order.account, order.symbol)
            elif kind == "cancelled":
                for conn in targets:
                    conn.send(P.order_status(order))
                    conn.error(order.order_id, 202, "Order Canceled - reason:" + info.get("reason", ""))
            elif kind == "reject":
                for conn in targets:
                    conn.error(order.order_id, info["code"], info["text"])
                    conn.send(P.order_status(order))
        elif kind == "position":
            self._push_account(info["account"], info["symbol"])
        if self.on_change:
            self.on_change()

    def _push_account(self, account: str, symbol: str) -> None:
        acc = self.broker.accounts[account]
        p = acc.positions.get(symbol)
        c = CONTRACTS[symbol]
        for conn in self._ready():
            if conn.positions_sub and p is not None:
                conn.send(P.position(account, c, p.qty, round(p.avg_cost, 6)))
            if conn.acct_updates == account:
                self._send_account_updates(conn, account)
            for req_id, acct in conn.acct_multi.items():
                if acct in ("", "All", account):
                    self._send_multi(conn, req_id, acct)

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
        day = w_to_date(self.market.clock.now_w()).isoformat()
        self.broker.on_market(self.market, day)
        if self.data_paused:
            return
        now_w = self.market.clock.now_w()
        for conn in self._ready():
            for req_id, symbol in list(conn.mkt.items()):
                self._send_quote(conn, req_id, symbol)
            for req_id, (symbol, kind) in list(conn.tbt.items()):
                self._send_tbt(conn, req_id, symbol, kind)
            for req_id, sub in list(conn.rtbars.items()):
                symbol, nxt = sub
                first = max(nxt, k - 50)  # at high speed only the latest bars are worth sending
                for j in range(first, k):
                    w0 = self.market.day0_w + j * STEP
                    bar = self.market.bar_between(symbol, w0, w0 + STEP)
                    if bar:
                        o, h, lo, c, v, wap, n = bar
                        conn.send(P.real_time_bar(req_id, int(w_to_epoch(w0)), o, h, lo, c, v, wap, n))
                sub[1] = max(k, nxt)
            for req_id, hs in list(conn.hist.items()):
                self._hist_update(conn, req_id, hs, now_w)

    def _hist_update(self, conn: Connection, req_id: int, hs: HistSub, now_w: float) -> None:
        start = math.floor(now_w / hs.size) * hs.size
        if hs.last_start >= 0 and start != hs.last_start:
            prev = self.market.bar_between(hs.symbol, hs.last_start, hs.last_start + hs.size)
            if prev:
                conn.send(P.historical_data_update(req_id, self._hist_row(hs, hs.last_start, prev)))
        bar = self.market.bar_between(hs.symbol, start, start + hs.size)
        hs.last_start = start
        if bar and bar != hs.last_sent:
            hs.last_sent = bar
            conn.send(P.historical_data_update(req_id, self._hist_row(hs, start, bar)))

    def _hist_row(self, hs: HistSub, start_w: float, bar: Bar) -> P.HistoricalBar:
        date_s = w_to_date(start_w).strftime("%Y%m%d") if hs.daily else _fmt_time(w_to_epoch(start_w), hs.format_date)
        o, h, lo, c, v, wap, n = bar
        return (date_s, o, h, lo, c, v, wap, n)


def _req_id(req: P.Request) -> int:
    for key in ("reqId", "orderId"):
        value = req.args.get(key)
        if value is None:  # int(None) raised TypeError: try the next key
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    return -1


def _fmt_time(epoch: float, fmt: int) -> str:
    if fmt == 2:
        return str(int(epoch))
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d %H:%M:%S UTC")


def _round_bar(values: Bar, tick: float) -> Bar:
    # Bundled closes carry 4 decimals after rescaling; clients expect prices on the tick grid.
    o, h, lo, c, v, wap, n = values

    def r(x: float) -> float:
        return round(round(x / tick) * tick, 6)

    return r(o), r(h), r(lo), r(c), v, wap, n


def _money(v: float) -> str:
    return f"{v:.2f}"
