"""Market data: contract details, quotes (live, frozen, delayed), ticks, depth, real-time and historical bars."""

from __future__ import annotations

import math
from collections import deque
from datetime import UTC, date, datetime

from .. import protocol as P
from ..connection import Connection, HistSub, MktSub
from ..contracts import CONTRACTS
from ..market import (
    DAY,
    STEP,
    Bar,
    epoch_to_w,
    parse_bar_size,
    parse_duration,
    parse_end_time,
    w_to_date,
    w_to_epoch,
)
from ..sessions import NY
from .base import Area, Handler

# Delayed tick types (IB: 66 bid, 67 ask, 68 last, 69 bid size, 70 ask size, 71 last size, 72 high, 73 low,
# 74 volume, 75 close, 76 open); live ones are 1, 2, 4, 0, 3, 5, 6, 7, 8, 9, 14.
LIVE_TICKS = {"bid": 1, "ask": 2, "last": 4, "high": 6, "low": 7, "close": 9, "open": 14}
DELAYED_TICKS = {"bid": 66, "ask": 67, "last": 68, "high": 72, "low": 73, "close": 75, "open": 76}
LIVE_SIZES = {"bid": 0, "ask": 3, "last": 5, "volume": 8}
DELAYED_SIZES = {"bid": 69, "ask": 70, "last": 71, "volume": 74}
DELAY = 15 * 60  # delayed data is 15 minutes old
DEPTH_ROWS = 10
MAX_TICKS = 1000  # IB's cap on historical ticks per request
MAX_BARS = 100_000  # per historical-data answer (30 days of 1-minute bars around the clock is 43,200)
HMDS_PACING = "Historical Market Data Service error message:Historical data request pacing violation"


class MarketDataHandlers(Area):
    """reqContractDetails, reqMktData, tick-by-tick, depth, real-time bars, history, head timestamp."""

    def handlers(self) -> dict[str, Handler]:
        return {
            "REQ_CONTRACT_DATA": self.req_contract_details,
            "REQ_MKT_DATA": self.req_mkt_data,
            "CANCEL_MKT_DATA": self.cancel_mkt_data,
            "REQ_MARKET_DATA_TYPE": self.req_market_data_type,
            "REQ_TICK_BY_TICK_DATA": self.req_tick_by_tick,
            "CANCEL_TICK_BY_TICK_DATA": self.cancel_tick_by_tick,
            "REQ_MKT_DEPTH": self.req_mkt_depth,
            "CANCEL_MKT_DEPTH": self.cancel_mkt_depth,
            "REQ_MKT_DEPTH_EXCHANGES": self.req_mkt_depth_exchanges,
            "REQ_REAL_TIME_BARS": self.req_real_time_bars,
            "CANCEL_REAL_TIME_BARS": self.cancel_real_time_bars,
            "REQ_HEAD_TIMESTAMP": self.req_head_timestamp,
            "CANCEL_HEAD_TIMESTAMP": lambda c, r: None,
            "REQ_HISTORICAL_DATA": self.req_historical_data,
            "CANCEL_HISTORICAL_DATA": self.cancel_historical_data,
            "REQ_HISTORICAL_TICKS": self.req_historical_ticks,
            "REQ_MARKET_RULE": self.req_market_rule,
            "REQ_MATCHING_SYMBOLS": self.req_matching_symbols,
            "REQ_SMART_COMPONENTS": self.req_smart_components,
        }

    # ---------------------------------------------------------------- contracts

    def req_contract_details(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        today = datetime.fromtimestamp(self.market.clock.now(), UTC).date()
        trading, liquid = self.gw.calendar.hours(today)
        # Asked for on one venue (ARCA), the details answer for that venue.
        exchange = (req.args["contract"].get("exchange") or "SMART").upper()
        conn.send(P.contract_data(req_id, c, trading, liquid, exchange))
        conn.send(P.contract_data_end(req_id))

    def req_market_rule(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.market_rule(P.to_int(req.args.get("marketRuleId")), 0.01))

    def req_matching_symbols(self, conn: Connection, req: P.Request) -> None:
        pattern = (req.args.get("pattern") or "").upper()
        found = [c for s, c in CONTRACTS.items() if s.startswith(pattern)] if pattern else []
        conn.send(P.symbol_samples(P.to_int(req.args.get("reqId")), found))

    def req_smart_components(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.smart_components(P.to_int(req.args["reqId"]), [(1, "ISLAND", "Q"), (2, "ARCA", "P")]))

    # ---------------------------------------------------------------- quotes

    def req_market_data_type(self, conn: Connection, req: P.Request) -> None:
        md_type = P.to_int(req.args.get("marketDataType"), 1)
        if md_type not in (1, 2, 3, 4):
            conn.error(-1, 321, f"Error validating request.-'bS' : cause - Invalid market data type {md_type}")
            return
        conn.md_type = md_type

    def req_mkt_data(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        # The market is open around the clock in the default calendar and the sim always has live data: frozen
        # (2) answers as live (1); delayed (3) and delayed-frozen (4) get delayed ticks.
        md_type = 3 if conn.md_type in (3, 4) else 1
        conn.send(P.market_data_type(req_id, md_type))
        conn.send(P.tick_req_params(req_id, c.min_tick, "9c0001"))
        self.send_quote(conn, req_id, c.symbol, md_type, full=True)
        if req.args.get("snapshot") == "1" or req.args.get("regulatorySnapshot") == "1":
            conn.send(P.tick_snapshot_end(req_id))  # a snapshot (regulatory or not) never streams
        else:
            conn.mkt[req_id] = MktSub(c.symbol, md_type)

    def cancel_mkt_data(self, conn: Connection, req: P.Request) -> None:
        conn.mkt.pop(P.to_int(req.args["reqId"]), None)

    def send_quote(self, conn: Connection, req_id: int, symbol: str, md_type: int = 1, full: bool = False) -> None:
        delayed = md_type == 3
        k = self.market.current_index() - (DELAY // STEP if delayed else 0)
        prices, sizes = (DELAYED_TICKS, DELAYED_SIZES) if delayed else (LIVE_TICKS, LIVE_SIZES)
        bid, ask, last, bid_size, ask_size, last_size = self.market.quote(symbol, k)
        conn.send(P.tick_price(req_id, prices["bid"], bid, bid_size, 1))
        conn.send(P.tick_price(req_id, prices["ask"], ask, ask_size, 1))
        conn.send(P.tick_price(req_id, prices["last"], last, last_size, 0))
        if full:
            day = self._today_bar(symbol)
            if day:
                o, h, lo, _c, v, *_ = day
                conn.send(P.tick_price(req_id, prices["high"], h, 0, 0))
                conn.send(P.tick_price(req_id, prices["low"], lo, 0, 0))
                conn.send(P.tick_price(req_id, prices["open"], o, 0, 0))
                conn.send(P.tick_size(req_id, sizes["volume"], v / 100))
            conn.send(P.tick_price(req_id, prices["close"], self.market.history[symbol][-1].close, 0, 0))

    def _today_bar(self, symbol: str) -> Bar | None:
        w0 = math.floor(self.market.clock.now_w() / DAY) * DAY
        return self.market.bar_between(symbol, w0, w0 + DAY)

    def req_tick_by_tick(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        kind = req.args.get("tickType") or "Last"
        if kind not in ("Last", "AllLast", "BidAsk", "MidPoint"):
            conn.error(req_id, 321, f"Error validating request: invalid tick type {kind}")
            return
        conn.tbt[req_id] = (c.symbol, kind)
        self.send_tbt(conn, req_id, c.symbol, kind)

    def cancel_tick_by_tick(self, conn: Connection, req: P.Request) -> None:
        conn.tbt.pop(P.to_int(req.args["reqId"]), None)

    def send_tbt(self, conn: Connection, req_id: int, symbol: str, kind: str) -> None:
        bid, ask, last, bid_size, ask_size, last_size = self.market.quote(symbol)
        t = int(self.market.clock.now())
        if kind in ("Last", "AllLast"):
            venue = CONTRACTS[symbol].venue
            conn.send(P.tick_by_tick_last(req_id, 1 if kind == "Last" else 2, t, last, last_size, venue))
        elif kind == "BidAsk":
            conn.send(P.tick_by_tick_bid_ask(req_id, t, bid, ask, bid_size, ask_size))
        else:
            conn.send(P.tick_by_tick_mid(req_id, t, round((bid + ask) / 2, 4)))

    # ---------------------------------------------------------------- depth

    def req_mkt_depth(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        rows = P.to_int(req.args.get("numRows"), DEPTH_ROWS)
        rows = max(1, min(rows, DEPTH_ROWS))
        conn.depth[req_id] = (c.symbol, rows)
        self.send_depth(conn, req_id, c.symbol, rows, insert=True)

    def cancel_mkt_depth(self, conn: Connection, req: P.Request) -> None:
        conn.depth.pop(P.to_int(req.args["reqId"]), None)

    def req_mkt_depth_exchanges(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.mkt_depth_exchanges([("ISLAND", "STK", "NASDAQ", "Deep2"), ("ARCA", "STK", "ARCA", "Deep2")]))

    def send_depth(self, conn: Connection, req_id: int, symbol: str, rows: int, insert: bool = False) -> None:
        """A synthetic book around the quote: row i is i ticks away from the best bid / ask."""
        bid, ask, _last, bid_size, ask_size, _ = self.market.quote(symbol)
        tick = CONTRACTS[symbol].min_tick
        op = 0 if insert else 1
        for i in range(rows):
            conn.send(P.market_depth(req_id, i, op, 1, round(bid - i * tick, 6), bid_size + 100 * i))
            conn.send(P.market_depth(req_id, i, op, 0, round(ask + i * tick, 6), ask_size + 100 * i))

    # ---------------------------------------------------------------- bars

    def req_real_time_bars(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        conn.rtbars[req_id] = [c.symbol, self.market.current_index()]

    def cancel_real_time_bars(self, conn: Connection, req: P.Request) -> None:
        conn.rtbars.pop(P.to_int(req.args["reqId"]), None)

    def req_head_timestamp(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        d = self.market.head_date(c.symbol)
        if req.args.get("formatDate") == "2":
            ts = str(int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()))
        else:
            ts = d.strftime("%Y%m%d 00:00:00 UTC")
        conn.send(P.head_timestamp(req_id, ts))

    def req_historical_data(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        a = req.args
        keep = a.get("keepUpToDate") == "1"
        if keep and (a.get("endDateTime") or "").strip():
            conn.error(req_id, 321, "Error validating request: End date not supported with live updates")
            return
        what = (a.get("whatToShow") or "TRADES").upper()
        try:
            size = parse_bar_size(a.get("barSizeSetting") or "")
            span = parse_duration(a.get("durationStr") or "1 D")
            end = parse_end_time(a.get("endDateTime") or "", self.market.clock.now())
        except (ValueError, IndexError) as exc:
            conn.error(req_id, 321, f"Error validating request: {exc}")
            return
        if self.gw.pacing.historical_violation(conn, (c.symbol, what, a.get("barSizeSetting"), a.get("durationStr"))):
            conn.error(req_id, 162, HMDS_PACING)
            return
        end_w = min(epoch_to_w(end), self.market.clock.now_w())
        start_w = end_w - span
        if what == "SCHEDULE":
            self._send_schedule(conn, req_id, start_w, end_w)
            return
        if what not in ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST"):
            conn.error(req_id, 162, f"Historical Market Data Service error message:whatToShow={what} not available")
            return
        fmt = P.to_int(a.get("formatDate"), 1)
        use_rth = a.get("useRTH") == "1"
        daily = size >= DAY
        if daily:
            # N days of duration means N daily bars ending with the end date's bar.
            start_day = w_to_date(math.floor(end_w / DAY) * DAY - (math.ceil(span / DAY) - 1) * DAY)
            daily_rows = self.market.daily_bars(c.symbol, start_day, w_to_date(end_w))
            bars: list[P.HistoricalBar] = [
                (b[0].strftime("%Y%m%d"), *_round_bar(b[1:], c.min_tick)) for b in daily_rows
            ]
        else:
            rth = self.gw.calendar.in_regular_hours if use_rth else None
            intraday_rows = self.market.intraday_bars(c.symbol, start_w, end_w, size, rth)
            bars = [(_fmt_time(b[0], fmt), *b[1:]) for b in intraday_rows]
        if not bars:
            conn.error(req_id, 162, "Historical Market Data Service error message:HMDS query returned no data")
            return
        conn.send(
            P.historical_data(
                req_id, _fmt_time(w_to_epoch(start_w), 1), _fmt_time(w_to_epoch(end_w), 1), bars[-MAX_BARS:]
            )
        )
        if keep:
            conn.hist[req_id] = HistSub(c.symbol, size, daily, fmt)

    def _send_schedule(self, conn: Connection, req_id: int, start_w: float, end_w: float) -> None:
        start, end = w_to_epoch(start_w), w_to_epoch(end_w)
        ny = "US/Eastern"
        sessions = self.gw.calendar.sessions(_ny_date(start), _ny_date(end))
        rows = [(_ny_text(s.open), _ny_text(s.close), s.day.strftime("%Y%m%d")) for s in sessions]
        if not rows:
            conn.error(req_id, 162, "Historical Market Data Service error message:HMDS query returned no data")
            return
        conn.send(P.historical_schedule(req_id, _ny_text(start), _ny_text(end), ny, rows))

    def cancel_historical_data(self, conn: Connection, req: P.Request) -> None:
        conn.hist.pop(P.to_int(req.args["reqId"]), None)

    def req_historical_ticks(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req)
        if found is None:
            return
        req_id, c = found
        a = req.args
        what = (a.get("whatToShow") or "").upper()
        if what not in ("TRADES", "BID_ASK", "MIDPOINT"):
            conn.error(req_id, 162, f"Historical Market Data Service error message:whatToShow={what} not available")
            return
        n = P.to_int(a.get("numberOfTicks"), 1000)
        if not 0 < n <= MAX_TICKS:
            conn.error(req_id, 162, "Historical Market Data Service error message:numberOfTicks must be 1 to 1000")
            return
        start_text, end_text = (a.get("startDateTime") or "").strip(), (a.get("endDateTime") or "").strip()
        if bool(start_text) == bool(end_text):
            conn.error(req_id, 162, "Historical Market Data Service error message:give exactly one of start and end")
            return
        now = self.market.clock.now()
        try:
            anchor = parse_end_time(start_text or end_text, now)
        except (ValueError, IndexError) as exc:
            conn.error(req_id, 321, f"Error validating request: {exc}")
            return
        use_rth = a.get("useRth") == "1"
        path_k = self.market.index_at(epoch_to_w(min(anchor, now)))
        now_k = self.market.current_index()
        ks: deque[int] = deque()
        if start_text:
            k = path_k
            while len(ks) < n and k <= now_k:
                if not use_rth or self.gw.calendar.in_regular_hours(self.market.index_time(k)):
                    ks.append(k)
                k += 1
        else:
            k = path_k
            floor = now_k - 60 * DAY // STEP
            while len(ks) < n and k >= floor:
                if not use_rth or self.gw.calendar.in_regular_hours(self.market.index_time(k)):
                    ks.appendleft(k)
                k -= 1
        symbol, venue = c.symbol, c.venue
        quotes = [(int(self.market.index_time(k)), self.market.quote(symbol, k)) for k in ks]
        if what == "TRADES":
            conn.send(P.historical_ticks_last(req_id, [(t, q[2], q[5], venue) for t, q in quotes]))
        elif what == "BID_ASK":
            conn.send(P.historical_ticks_bid_ask(req_id, [(t, q[0], q[1], q[3], q[4]) for t, q in quotes]))
        else:
            conn.send(P.historical_ticks_midpoint(req_id, [(t, round((q[0] + q[1]) / 2, 4), 0.0) for t, q in quotes]))

    # ---------------------------------------------------------------- streaming

    def stream(self, conn: Connection, k: int, now_w: float) -> None:
        """Push what changed since the last step to one connection's subscriptions."""
        for req_id, sub in list(conn.mkt.items()):
            self.send_quote(conn, req_id, sub.symbol, sub.md_type)
        for req_id, (symbol, kind) in list(conn.tbt.items()):
            self.send_tbt(conn, req_id, symbol, kind)
        for req_id, (symbol, rows) in list(conn.depth.items()):
            self.send_depth(conn, req_id, symbol, rows)
        for req_id, rt in list(conn.rtbars.items()):
            symbol, nxt = rt
            first = max(nxt, k - 50)  # at high speed only the latest bars are worth sending
            for j in range(first, k):
                w0 = self.market.day0_w + j * STEP
                bar = self.market.bar_between(symbol, w0, w0 + STEP)
                if bar:
                    o, h, lo, c, v, wap, n = bar
                    conn.send(P.real_time_bar(req_id, int(w_to_epoch(w0)), o, h, lo, c, v, wap, n))
            rt[1] = max(k, nxt)
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


def _fmt_time(epoch: float, fmt: int) -> str:
    if fmt == 2:
        return str(int(epoch))
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d %H:%M:%S UTC")


def _ny_date(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, NY).date()


def _ny_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, NY).strftime("%Y%m%d-%H:%M:%S")


def _round_bar(values: Bar, tick: float) -> Bar:
    # Bundled closes carry 4 decimals after rescaling; clients expect prices on the tick grid.
    o, h, lo, c, v, wap, n = values

    def r(x: float) -> float:
        return round(round(x / tick) * tick, 6)

    return r(o), r(h), r(lo), r(c), v, wap, n
