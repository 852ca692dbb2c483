"""nautilus-ibapi's EClient (the client inside the Nautilus adapter) against ibsim."""

import threading
import time
from contextlib import contextmanager

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper

from tests.ibsim.conftest import ACCOUNT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


class App(EWrapper, EClient):
    """Collects callbacks from a threaded EClient."""

    def __init__(self):
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.events: list[tuple] = []
        self.next_id = None

    def nextValidId(self, orderId):
        self.next_id = orderId

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        self.events.append(("error", reqId, errorCode))

    def contractDetails(self, reqId, contractDetails):
        self.events.append(("details", reqId, contractDetails))

    def contractDetailsEnd(self, reqId):
        self.events.append(("details_end", reqId))

    def historicalData(self, reqId, bar):
        self.events.append(("bar", reqId, bar))

    def historicalDataEnd(self, reqId, start, end):
        self.events.append(("bars_end", reqId))

    def orderStatus(self, orderId, status, filled, remaining, avgFillPrice, *rest):
        self.events.append(("status", orderId, status, filled))

    def openOrder(self, orderId, contract, order, orderState):
        self.events.append(("open", orderId, order.orderRef, orderState.status))

    def execDetails(self, reqId, contract, execution):
        self.events.append(("exec", execution.orderId, execution.execId, execution.shares))

    def commissionAndFeesReport(self, report):
        self.events.append(("commission", report.execId, report.commissionAndFees))

    def familyCodes(self, familyCodes):
        self.events.append(("family_codes", [(c.accountID, c.familyCodeStr) for c in familyCodes]))

    def wait(self, pred, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [e for e in list(self.events) if pred(e)]
            if found:
                return found
            time.sleep(0.01)
        raise AssertionError(f"timed out; events: {self.events[-10:]}")


@contextmanager
def connected(port: int, client_id: int):
    """An App connected to the gateway, its reader loop in a thread; disconnected on exit."""
    app = App()
    app.connect("127.0.0.1", port, clientId=client_id)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        app.disconnect()
        thread.join(5)


def qqq():
    c = Contract()
    c.symbol, c.secType, c.exchange, c.primaryExchange, c.currency = "QQQ", "STK", "SMART", "NASDAQ", "USD"
    return c


def test_eclient_contract_history_place_cancel_fill(sim):
    with connected(sim.port, 3) as app:
        deadline = time.time() + 5
        while app.next_id is None and time.time() < deadline:
            time.sleep(0.01)
        assert app.serverVersion() == 178 and app.next_id == 1

        # Nautilus's IB_SIMPLIFIED symbology: localSymbol only, no symbol, no currency.
        simplified = Contract()
        simplified.secType, simplified.exchange, simplified.primaryExchange = "STK", "SMART", "NASDAQ"
        simplified.localSymbol = "QQQ"
        app.reqContractDetails(1, simplified)
        details = app.wait(lambda e: e[0] == "details" and e[1] == 1)[0][2]
        app.wait(lambda e: e == ("details_end", 1))
        assert details.contract.conId == 320227571 and details.secIdList[0].value == "US46090E1038"
        unknown = Contract()
        unknown.symbol, unknown.secType, unknown.exchange = "ZZZZ", "STK", "SMART"
        app.reqContractDetails(2, unknown)
        app.wait(lambda e: e == ("error", 2, 200))

        app.reqHistoricalData(3, qqq(), "", "10 D", "1 day", "TRADES", 1, 1, False, [])
        app.wait(lambda e: e == ("bars_end", 3))
        bars = [e[2] for e in app.events if e[0] == "bar" and e[1] == 3]
        assert len(bars) == 10 and all(len(b.date) == 8 for b in bars)

        order = Order()
        order.action, order.orderType, order.totalQuantity = "BUY", "MKT", 25
        order.orderRef, order.account, order.tif = "O-123:1", ACCOUNT, "DAY"
        app.placeOrder(1, qqq(), order)
        execs = app.wait(lambda e: e[0] == "exec" and e[1] == 1)
        app.wait(lambda e: e[0] == "commission" and e[1] == execs[0][2])
        app.wait(lambda e: e[:3] == ("status", 1, "Filled"))
        assert ("open", 1, "O-123:1", "Filled") in app.events

        limit = Order()
        limit.action, limit.orderType, limit.totalQuantity, limit.lmtPrice = "BUY", "LMT", 5, 1.0
        limit.tif, limit.orderRef = "GTC", "O-124:2"
        app.placeOrder(2, qqq(), limit)
        app.wait(lambda e: e[:3] == ("status", 2, "Submitted"))
        from ibapi.order_cancel import OrderCancel

        app.cancelOrder(2, OrderCancel())
        app.wait(lambda e: e == ("error", 2, 202))
        app.wait(lambda e: e[:3] == ("status", 2, "Cancelled"))
    assert sim.positions(ACCOUNT)["QQQ"]["qty"] == 25
    assert [o["status"] for o in sim.orders()] == ["Filled", "Cancelled"]


def test_family_codes_name_each_managed_account(sim):
    with connected(sim.port, 4) as app:
        app.reqFamilyCodes()
        assert app.wait(lambda e: e[0] == "family_codes")[0][1] == [(ACCOUNT, "")]
