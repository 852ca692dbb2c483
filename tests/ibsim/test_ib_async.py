"""ib_async IB() against ibsim: connect, contracts, history, orders, account, faults, restart."""

import asyncio

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Stock

from ibsim import run_in_thread
from tests.ibsim.conftest import ACCOUNT, run

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def connect(port, client_id=1, timeout=3):
    ib = IB()
    # raiseSyncErrors: any startup request that times out fails the test.
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=timeout, raiseSyncErrors=True)
    return ib


async def wait_for(cond, timeout=3.0):
    for _ in range(int(timeout / 0.01)):
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


def test_connect_qualify_history_trade_cancel(sim):
    async def scenario():
        ib = await connect(sim.port)
        assert ib.managedAccounts() == [ACCOUNT]
        qqq, bogus = Stock("QQQ", "SMART", "USD"), Stock("NOPE", "SMART", "USD")
        assert (await ib.qualifyContractsAsync(qqq))[0].conId == 320227571
        assert await ib.qualifyContractsAsync(bogus) == [None]
        bars = await ib.reqHistoricalDataAsync(qqq, "", "1 Y", "1 day", "TRADES", True)
        assert 240 <= len(bars) <= 262 and all(b.high >= b.low for b in bars)
        intraday = await ib.reqHistoricalDataAsync(qqq, "", "3600 S", "5 mins", "TRADES", True, formatDate=2)
        assert intraday is not None

        order = MarketOrder("BUY", 100)
        order.orderRef = "strategy-1:abc"
        trade = ib.placeOrder(qqq, order)
        assert await wait_for(lambda: trade.isDone() and trade.fills and trade.fills[-1].commissionReport.execId)
        assert trade.orderStatus.status == "Filled" and trade.orderStatus.filled == 100
        assert trade.fills[0].commissionReport.commission == 1.0  # IB fixed: max(100 * 0.005, 1.00)
        assert trade.order.orderRef == "strategy-1:abc"

        resting = ib.placeOrder(qqq, LimitOrder("BUY", 5, 1.00, tif="GTC"))
        assert await wait_for(lambda: resting.orderStatus.status == "Submitted")
        ib.cancelOrder(resting.order)
        assert await wait_for(lambda: resting.orderStatus.status == "Cancelled")

        positions = ib.positions()
        assert [(p.contract.symbol, p.position) for p in positions] == [("QQQ", 100.0)]
        assert len(ib.fills()) == 1
        values = {v.tag for v in ib.accountValues()}
        assert {"NetLiquidation", "TotalCashValue", "BuyingPower"} <= values
        ib.disconnect()

    run(scenario())
    log = sim.received("PLACE_ORDER")
    assert "strategy-1:abc" in log[0]["fields"]
    assert [o["status"] for o in sim.orders()] == ["Filled", "Cancelled"]
    assert sim.positions(ACCOUNT)["QQQ"]["qty"] == 100


def test_limit_fills_when_market_moves_and_sell_realizes_pnl(sim):
    async def scenario():
        ib = await connect(sim.port)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        buy = ib.placeOrder(qqq, MarketOrder("BUY", 50))
        assert await wait_for(buy.isDone)
        # A limit a few cents above the current bid, which the seeded path reaches at a known step ahead.
        market = sim.sim.market
        k0 = sim.call(market.current_index)
        current = sim.call(market.quote, "QQQ")[0]
        limit = round(current + 0.05, 2)
        steps = sim.call(lambda: next(n for n in range(1, 50_000) if market.quote("QQQ", k0 + n)[0] >= limit))
        sell = ib.placeOrder(qqq, LimitOrder("SELL", 50, limit, tif="GTC"))
        assert await wait_for(lambda: sell.orderStatus.status == "Submitted")
        for _ in range(steps + 1):
            if sell.isDone():
                break
            await asyncio.to_thread(sim.advance, 5)
        assert await wait_for(lambda: sell.isDone() and sell.fills and sell.fills[0].commissionReport.execId)
        assert sell.fills[0].execution.price >= limit
        assert sell.fills[0].commissionReport.realizedPNL != 0
        assert ib.positions() == []
        ib.disconnect()

    run(scenario())
    assert sim.positions(ACCOUNT) == {}


def test_rejects_with_real_error_codes(sim):
    async def scenario():
        ib = await connect(sim.port)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        errors = []
        ib.errorEvent += lambda req_id, code, msg, *a: errors.append((req_id, code))
        foreign = MarketOrder("BUY", 1)
        foreign.account = "DU9999999"
        t1 = ib.placeOrder(qqq, foreign)
        sim.reject_next_orders(1)
        t2 = ib.placeOrder(qqq, MarketOrder("BUY", 1))
        t3 = ib.placeOrder(Stock("NOPE", "SMART", "USD", conId=0), MarketOrder("BUY", 1))
        assert await wait_for(lambda: len(errors) >= 3)
        assert (t1.order.orderId, 321) in errors and (t2.order.orderId, 201) in errors
        assert (t3.order.orderId, 200) in errors
        ib.disconnect()

    run(scenario())
    assert sim.positions(ACCOUNT) == {} and sim.executions() == []


def test_ack_delay_and_global_cancel(sim):
    sim.set_ack_delay(0.3)

    async def scenario():
        ib = await connect(sim.port)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        trades = [ib.placeOrder(qqq, LimitOrder("BUY", 1, 1.0 + i)) for i in range(3)]
        await asyncio.sleep(0.15)
        assert all(t.orderStatus.status == "PendingSubmit" for t in trades)
        assert await wait_for(lambda: all(t.orderStatus.status == "Submitted" for t in trades))
        sim.set_ack_delay(0)
        ib.reqGlobalCancel()
        assert await wait_for(lambda: all(t.orderStatus.status == "Cancelled" for t in trades))
        ib.disconnect()

    run(scenario())


def test_several_clients_and_client_id_in_use(sim):
    async def scenario():
        a = await connect(sim.port, client_id=1)
        b = await connect(sim.port, client_id=2)
        assert sim.client_ids() == [1, 2]
        with pytest.raises((ConnectionError, TimeoutError)):  # ib_async: the peer closed on error 326
            await connect(sim.port, client_id=1, timeout=3)
        assert any(e["name"] == "START_API" and e["client_id"] == 1 for e in sim.received()[4:])
        a.disconnect(), b.disconnect()

    run(scenario())


def test_silent_gateway_times_out_and_nothing_reaches_the_broker(sim):
    sim.go_silent(True)

    async def scenario():
        ib = IB()
        with pytest.raises((asyncio.TimeoutError, TimeoutError, ConnectionError)):
            await ib.connectAsync("127.0.0.1", sim.port, clientId=5, timeout=1.5)

    run(scenario())
    assert [e["name"] for e in sim.received()] == ["HANDSHAKE"]
    sim.go_silent(False)
    run(_quick_connect(sim.port))


async def _quick_connect(port):
    ib = await connect(port, client_id=6)
    ib.disconnect()


def test_state_survives_disconnect_and_restart(tmp_path):
    state = tmp_path / "state.json"

    async def place(port):
        ib = await connect(port)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        filled = ib.placeOrder(qqq, MarketOrder("BUY", 20))
        working = ib.placeOrder(qqq, LimitOrder("BUY", 3, 1.0, tif="GTC"))
        assert await wait_for(lambda: filled.isDone() and working.orderStatus.status == "Submitted")
        ib.disconnect()
        return working.order.orderId

    async def check(port, order_id):
        ib = await connect(port)
        assert [(p.contract.symbol, p.position) for p in ib.positions()] == [("QQQ", 20.0)]
        assert [t.order.orderId for t in ib.openTrades()] == [order_id]
        assert len(ib.fills()) == 1
        assert await ib.reqCompletedOrdersAsync(False)
        ib.disconnect()

    with run_in_thread(accounts=[ACCOUNT], state_file=str(state), speed=0) as first:
        order_id = run(place(first.port))
        run(check(first.port, order_id))  # survives a client disconnect
    assert state.exists()
    with run_in_thread(accounts=[ACCOUNT], state_file=str(state), speed=0) as second:
        run(check(second.port, order_id))  # survives a gateway restart
        assert len(second.executions()) == 1


def test_a_fill_pushes_its_portfolio_line_at_once_and_only_the_changed_account_values_batched(sim):
    async def scenario():
        ib = await connect(sim.port)
        qqq = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
        heard: list[tuple[str, str]] = []
        ib.accountValueEvent += lambda v: heard.append((v.tag, v.currency))
        cash_before = {v.tag: v.value for v in ib.accountValues() if v.currency == "USD"}["TotalCashValue"]
        trades = [ib.placeOrder(qqq, MarketOrder("BUY", 10)) for _ in range(5)]
        assert await wait_for(lambda: all(t.isDone() for t in trades))
        assert [(p.contract.symbol, p.position) for p in ib.portfolio()] == [
            ("QQQ", 50.0)
        ]  # no wait: sent with the fill
        assert await wait_for(lambda: ("TotalCashValue", "USD") in heard)
        await asyncio.sleep(0.3)
        # Five fills in a burst: pushes of what changed, batched (fewer than one per fill), never the unchanged rest.
        assert 1 <= heard.count(("TotalCashValue", "USD")) < len(trades)
        assert ("AccountType", "") not in heard and ("AccountCode", "") not in heard
        cash_after = {v.tag: v.value for v in ib.accountValues() if v.currency == "USD"}["TotalCashValue"]
        assert float(cash_after) < float(cash_before)

        close = ib.placeOrder(qqq, MarketOrder("SELL", 50))
        assert await wait_for(close.isDone)
        # A closed position is reported with position 0, so the client drops it from its portfolio.
        assert await wait_for(lambda: ib.portfolio() == [])
        ib.disconnect()

    run(scenario())
