"""Gateway fidelity of data, requests and errors (issue 16 findings 1, 7-11; issue 12 item 6).

Through nautilus-ibapi's EClient (the official decoder: a malformed field kills its reader thread), ib_async and
raw frames on the socket.
"""

import asyncio
import math
import socket
import struct
import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from ib_async import IB, MarketOrder, Stock
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.order import Order

from ibsim import protocol as P
from ibsim import run_in_thread
from tests.ibsim.conftest import ACCOUNT, run
from tests.ibsim.test_eclient import App, connected

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
NY = ZoneInfo("America/New_York")


class DataApp(App):
    """The EClient app of test_eclient, recording the data callbacks these tests need too."""

    def historicalSchedule(self, reqId, startDateTime, endDateTime, timeZone, sessions):
        self.events.append(
            ("schedule", reqId, timeZone, [(s.startDateTime, s.endDateTime, s.refDate) for s in sessions])
        )

    def tickPrice(self, reqId, tickType, price, attrib):
        self.events.append(("tick", reqId, tickType, price))

    def tickSnapshotEnd(self, reqId):
        self.events.append(("snapshot_end", reqId))

    def marketDataType(self, reqId, marketDataType):
        self.events.append(("md_type", reqId, marketDataType))

    def currentTime(self, time_):
        self.events.append(("time", time_))

    def displayGroupList(self, reqId, groups):
        self.events.append(("groups", reqId, groups))

    def accountSummary(self, reqId, account, tag, value, currency):
        self.events.append(("summary", reqId, tag, value, currency))

    def accountSummaryEnd(self, reqId):
        self.events.append(("summary_end", reqId))

    def commissionAndFeesReport(self, report):
        self.events.append(("commission", report.execId, report.commissionAndFees, report.realizedPNL))


def stock(symbol, exchange="SMART"):
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, "STK", exchange, "USD"
    return c


@pytest.fixture
def app_for(monkeypatch):
    """Opens an EClient session on a sim with the DataApp callbacks."""
    import tests.ibsim.test_eclient as te

    monkeypatch.setattr(te, "App", DataApp)

    def open_(sim, client_id=3):
        return connected(sim.port, client_id)

    return open_


def wait_ready(app):
    deadline = time.time() + 5
    while app.next_id is None and time.time() < deadline:
        time.sleep(0.01)
    assert app.next_id is not None


# ---------------------------------------------------------------- finding 1


def test_daily_bars_of_every_symbol_decode_in_the_official_client(sim, app_for):
    """Finding 1: AAPL/MSFT/IWM daily bars carried 'np.float64(...)' WAPs; ibapi's reader thread died on them."""
    with app_for(sim) as app:
        wait_ready(app)
        for i, symbol in enumerate(["AAPL", "MSFT", "IWM", "QQQ"]):
            app.reqHistoricalData(10 + i, stock(symbol), "", "10 D", "1 day", "TRADES", 1, 1, False, [])
            app.wait(lambda e, i=i: e == ("bars_end", 10 + i))
        bars = [e[2] for e in app.events if e[0] == "bar"]
        assert len(bars) == 40
        assert all(isinstance(b.wap, Decimal) and b.wap > 0 and b.low <= b.close <= b.high for b in bars)


# ---------------------------------------------------------------- finding 7 and issue 12 item 6


def test_unsupported_requests_answer_with_their_own_id_and_silent_ones_stay_silent(sim, app_for):
    """Finding 7: errors carried reqId -1 (clients hung); setServerLogLevel & co. got spurious errors."""
    with app_for(sim) as app:
        wait_ready(app)
        app.reqFundamentalData(21, stock("QQQ"), "ReportSnapshot", [])
        app.reqHistogramData(22, stock("QQQ"), True, "3 days")
        app.reqNewsArticle(23, "BZ", "BZ$123", [])
        for req_id, code in ((21, 430), (22, 162), (23, 10276)):
            app.wait(lambda e, req_id=req_id, code=code: e == ("error", req_id, code))
        before = [e for e in app.events if e[0] == "error"]
        app.setServerLogLevel(5)
        app.reqNewsBulletins(True)
        app.cancelNewsBulletins()
        app.subscribeToGroupEvents(24, 1)
        app.updateDisplayGroup(24, "8314@SMART")
        app.unsubscribeFromGroupEvents(24)
        app.queryDisplayGroups(25)
        app.reqCurrentTime()  # answered after everything above: a marker that all of it was processed
        app.wait(lambda e: e[0] == "time")
        assert ("groups", 25, "") in app.events
        assert [e for e in app.events if e[0] == "error"] == before


def test_historical_ticks_are_served_to_ib_async(sim):
    """Finding 7: ib_async's reqHistoricalTicks blocked forever on an error it could not match."""

    async def scenario():
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=5)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        await asyncio.to_thread(sim.advance, 3600)
        end = datetime.fromtimestamp(sim.sim.clock.now(), NY).strftime("%Y%m%d %H:%M:%S US/Eastern")
        trades = await asyncio.wait_for(ib.reqHistoricalTicksAsync(qqq, "", end, 50, "TRADES", useRth=False), 5)
        quotes = await asyncio.wait_for(ib.reqHistoricalTicksAsync(qqq, "", end, 20, "BID_ASK", useRth=False), 5)
        ib.disconnect()
        return trades, quotes

    trades, quotes = run(scenario())
    assert len(trades) == 50 and all(t.price > 0 and t.exchange == "ISLAND" for t in trades)
    assert len(quotes) == 20 and all(q.priceBid < q.priceAsk for q in quotes)
    assert [t.time for t in trades] == sorted(t.time for t in trades)


def _handshake(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    greeting = b"v100..178"
    s.sendall(b"API\0" + struct.pack(">I", len(greeting)) + greeting)
    return s


def _recv_frames(s, wait=0.5):
    s.settimeout(wait)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except TimeoutError:
        pass
    frames = []
    while len(buf) >= 4:
        n = struct.unpack(">I", buf[:4])[0]
        frames.append(buf[4 : 4 + n].decode().split("\0")[:-1])
        buf = buf[4 + n :]
    return frames


def test_malformed_requests_get_ib_errors_and_the_connection_stays(sim):
    """Issue 12 item 6: to_int("inf") and an IndexError in reqExecutions dropped the connection."""
    s = _handshake(sim.port)
    _recv_frames(s)
    s.sendall(P.frame([71, 2, 9, ""]))
    _recv_frames(s)
    contract = [0, "QQQ", "STK", "", "", "", "", "SMART", "", "USD", "", ""]
    s.sendall(P.frame([1, 11, "inf", *contract, 0, "", 0, 0, ""]))  # reqMktData, reqId "inf"
    s.sendall(P.frame([7, 3, 42, 0, "", "2026010", "", "", "", ""]))  # reqExecutions, a cut-off time filter
    s.sendall(P.frame([62, 1, "nan", "All", "NetLiquidation"]))  # reqAccountSummary, reqId "nan"
    s.sendall(P.frame([49, 1]))  # reqCurrentTime: still served
    frames = _recv_frames(s)
    errors = [(f[2], f[3]) for f in frames if f[0] == "4"]
    assert errors == [("-1", "320"), ("42", "321"), ("-1", "320")]
    assert frames[-1][0] == "49"
    assert sim.client_ids() == [9]


# ---------------------------------------------------------------- finding 8


def test_schedule_and_use_rth_and_intraday_history_before_the_start(sim, app_for):
    """Finding 8: SCHEDULE answered with bars; useRTH ignored; 30 days of 1-minute bars gave error 162."""
    with app_for(sim) as app:
        wait_ready(app)
        app.reqHistoricalData(31, stock("QQQ"), "", "1 W", "1 day", "SCHEDULE", 1, 1, False, [])
        _, _, zone, sessions = app.wait(lambda e: e[0] == "schedule" and e[1] == 31)[0]
        assert zone == "US/Eastern" and 5 <= len(sessions) <= 6
        assert all(s[0].endswith("09:30:00") and s[1].endswith("16:00:00") for s in sessions)
        assert not [e for e in app.events if e[0] == "bar" and e[1] == 31]

        app.reqHistoricalData(32, stock("QQQ"), "", "30 D", "1 min", "TRADES", 0, 2, False, [])
        app.wait(lambda e: e == ("bars_end", 32), timeout=30)
        minutes = [e[2] for e in app.events if e[0] == "bar" and e[1] == 32]
        assert len(minutes) > 20 * 24 * 60  # around the clock on weekdays, all before the simulator's start

        app.reqHistoricalData(33, stock("QQQ"), "", "5 D", "1 hour", "TRADES", 1, 2, False, [])
        app.wait(lambda e: e == ("bars_end", 33))
        hours = [datetime.fromtimestamp(int(e[2].date), NY) for e in app.events if e[0] == "bar" and e[1] == 33]
        assert hours and all((9, 30) <= (h.hour, h.minute) < (16, 0) or h.hour == 9 for h in hours)
        assert all(h.hour < 16 and h.weekday() < 5 for h in hours)


# ---------------------------------------------------------------- finding 9


THANKSGIVING_EVE_2206 = datetime(2026, 11, 24, 22, 6, tzinfo=NY).timestamp()  # a Tuesday, 22:06 New York time


def test_calendar_holds_a_day_order_outside_regular_hours_until_the_open():
    """Finding 9: a DAY MKT order with outsideRth=False at 22:06 ET filled immediately."""

    async def scenario(sim):
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=5)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        trade = ib.placeOrder(qqq, MarketOrder("BUY", 10, tif="DAY"))
        await asyncio.sleep(0.3)
        assert trade.orderStatus.status == "PreSubmitted" and trade.fills == []
        await asyncio.to_thread(sim.advance, 11 * 3600)  # 09:06 next morning: still closed
        await asyncio.sleep(0.2)
        assert trade.fills == []
        await asyncio.to_thread(sim.advance, 30 * 60)  # 09:36: open
        for _ in range(300):
            if trade.orderStatus.status == "Filled":
                break
            await asyncio.sleep(0.01)
        details = await ib.reqContractDetailsAsync(qqq)
        ib.disconnect()
        return trade, details[0]

    with run_in_thread(accounts=[ACCOUNT], speed=0, start_time=THANKSGIVING_EVE_2206, calendar="XNYS") as sim:
        trade, details = run(scenario(sim))
        fill_time = sim.executions()[0]["epoch"]
    assert trade.orderStatus.status == "Filled"
    assert fill_time > 0
    assert "20261126:CLOSED" in details.tradingHours and "20261126:CLOSED" in details.liquidHours  # Thanksgiving
    assert "20261127:0930-20261127:1300" in details.liquidHours  # the half day after it
    assert "20261127:0400-20261127:1700" in details.tradingHours


def test_default_calendar_keeps_trading_around_the_clock():
    """The default (what the project's fixtures and `make run` use): the same order at 22:06 ET fills at once."""

    async def scenario(sim):
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=5)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        trade = ib.placeOrder(qqq, MarketOrder("BUY", 10, tif="DAY"))
        for _ in range(300):
            if trade.orderStatus.status == "Filled":
                break
            await asyncio.sleep(0.01)
        ib.disconnect()
        return trade

    with run_in_thread(accounts=[ACCOUNT], speed=0, start_time=THANKSGIVING_EVE_2206) as sim:
        assert run(scenario(sim)).orderStatus.status == "Filled"


# ---------------------------------------------------------------- finding 10


def test_delayed_data_and_regulatory_snapshots(sim, app_for):
    """Finding 10: reqMarketDataType was ignored and regulatory snapshots streamed."""
    with app_for(sim) as app:
        wait_ready(app)
        app.reqMarketDataType(3)
        app.reqMktData(41, stock("QQQ"), "", False, False, [])
        app.wait(lambda e: e == ("md_type", 41, 3))
        app.wait(lambda e: e[:3] == ("tick", 41, 66))  # delayed bid
        assert not [e for e in app.events if e[0] == "tick" and e[1] == 41 and e[2] in (1, 2, 4)]
        app.reqMarketDataType(1)
        app.reqMktData(42, stock("QQQ"), "", False, True, [])  # regulatory snapshot
        app.wait(lambda e: e == ("snapshot_end", 42))
        seen = len([e for e in app.events if e[0] == "tick" and e[1] == 42])
        sim.advance(30)
        time.sleep(0.3)
        assert len([e for e in app.events if e[0] == "tick" and e[1] == 42]) == seen  # never streams
        assert len([e for e in app.events if e[0] == "tick" and e[1] == 41]) > 3  # the delayed line does


def test_pnl_is_a_subscription_with_daily_pnl(sim):
    """Finding 10: reqPnL/reqPnLSingle answered once and daily P&L was always 0."""

    async def scenario():
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=5)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        trade = ib.placeOrder(qqq, MarketOrder("BUY", 100))
        while trade.orderStatus.status != "Filled":
            await asyncio.sleep(0.01)
        pnl = ib.reqPnL(ACCOUNT)
        single = ib.reqPnLSingle(ACCOUNT, "", qqq.conId)
        updates = []
        ib.pnlEvent += lambda p: updates.append(p.dailyPnL)
        for _ in range(5):
            await asyncio.to_thread(sim.advance, 60)
            await asyncio.sleep(0.05)
        sim.move_price("QQQ", 0.01)
        await asyncio.to_thread(sim.advance, 5)
        await asyncio.sleep(0.2)
        ib.disconnect()
        return pnl, single, updates

    pnl, single, updates = run(scenario())
    assert len(updates) >= 5
    assert pnl.dailyPnL != 0 and not math.isnan(pnl.dailyPnL)
    assert pnl.dailyPnL == pytest.approx(pnl.unrealizedPnL + pnl.realizedPnL, abs=0.02)
    assert single.position == 100 and single.dailyPnL == pytest.approx(pnl.dailyPnL, abs=0.02)


def test_pacing_rules_when_switched_on():
    """Finding 10: 60 identical historical requests in 1 s and a 120-order burst were all accepted."""
    with run_in_thread(accounts=[ACCOUNT], speed=0, pacing=True) as sim, connected(sim.port, 5) as app:
        wait_ready(app)
        for i in range(3):
            app.reqHistoricalData(50 + i, stock("QQQ"), "", "10 D", "1 day", "TRADES", 1, 1, False, [])
        app.wait(lambda e: e == ("bars_end", 50))
        app.wait(lambda e: e == ("error", 51, 162))  # identical within 15 s: pacing violation
        app.wait(lambda e: e == ("error", 52, 162))
        for i in range(120):
            order = Order()
            order.action, order.orderType, order.totalQuantity, order.lmtPrice = "BUY", "LMT", 1, 1.0
            order.tif = "GTC"
            app.placeOrder(100 + i, stock("QQQ"), order)
        app.wait(lambda e: e[0] == "error" and e[2] == 100)
        time.sleep(0.5)
        refused = {e[1] for e in app.events if e[0] == "error" and e[2] == 100}
        assert len(refused) >= 60
        assert len(sim.orders()) == 120 - len(refused)


# ---------------------------------------------------------------- finding 11


def test_venue_ledger_all_tags_and_opening_fill_realized_pnl(sim, app_for):
    """Finding 11: ARCA details answered SMART, $LEDGER:EUR answered USD, AllTags lacked tags, and an opening
    fill reported realizedPNL 0 instead of unset."""
    with app_for(sim) as app:
        wait_ready(app)
        app.reqContractDetails(61, stock("SPY", "ARCA"))
        details = app.wait(lambda e: e[0] == "details" and e[1] == 61)[0][2]
        assert details.contract.exchange == "ARCA"
        app.reqAccountSummary(62, "All", "$LEDGER:EUR")
        app.wait(lambda e: e == ("summary_end", 62))
        assert not [e for e in app.events if e[0] == "summary" and e[1] == 62]
        app.reqAccountSummary(63, "All", "AccountType,NetLiquidation,LookAheadNextChange,DayTradesRemaining,Leverage")
        app.wait(lambda e: e == ("summary_end", 63))
        tags = {e[2] for e in app.events if e[0] == "summary" and e[1] == 63}
        assert tags == {"AccountType", "NetLiquidation", "LookAheadNextChange", "DayTradesRemaining", "Leverage"}
        order = Order()
        order.action, order.orderType, order.totalQuantity = "BUY", "MKT", 5
        app.placeOrder(app.next_id, stock("QQQ"), order)
        report = app.wait(lambda e: e[0] == "commission")[0]
        assert report[3] == UNSET_DOUBLE
