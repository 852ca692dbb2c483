"""Gateway fidelity of orders (issue 16, findings 2-6), through ib_async and nautilus-ibapi's EClient.

Each test places what a real client places and checks what a gateway does with it: nothing here calls ibsim's
internals to place or fill an order.
"""

import asyncio
from datetime import UTC, datetime

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Order, PriceCondition, Stock, StopOrder, TagValue

from tests.ibsim.conftest import ACCOUNT, run

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def connect(port, client_id=1):
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=5, raiseSyncErrors=True)
    return ib


async def wait_for(cond, timeout=3.0):
    for _ in range(int(timeout / 0.01)):
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


async def qualified(ib, symbol="QQQ"):
    return (await ib.qualifyContractsAsync(Stock(symbol, "SMART", "USD")))[0]


def errors_of(ib):
    seen = []
    ib.errorEvent += lambda req_id, code, msg, *a: seen.append((req_id, code, msg))
    return seen


def test_what_if_answers_margin_figures_and_never_executes(sim):
    """Finding 2: a what-if BUY 3 IWM filled; a gateway answers one openOrder with margin figures instead."""

    async def scenario():
        ib = await connect(sim.port)
        iwm = await qualified(ib, "IWM")
        state = await asyncio.wait_for(ib.whatIfOrderAsync(iwm, MarketOrder("BUY", 3)), 5)
        price = sim.call(sim.sim.market.last, "IWM")
        # Reg T: 50% of the position's value is the initial margin it adds.
        assert float(state.initMarginChange) == pytest.approx(0.5 * 3 * price, abs=0.02)
        assert float(state.initMarginBefore) == 0 and float(state.equityWithLoanAfter) > 0
        assert state.commission == 1.0 and state.commissionCurrency == "USD"
        await asyncio.to_thread(sim.advance, 60)
        await asyncio.sleep(0.2)
        assert ib.openTrades() == [] and ib.fills() == []
        ib.disconnect()

    run(scenario())
    assert sim.executions() == [] and sim.positions(ACCOUNT) == {} and sim.orders() == []


def test_untransmitted_order_is_held_and_never_fills(sim):
    """Finding 3: a transmit=False MKT order filled; a gateway keeps it until it is transmitted."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        held = MarketOrder("BUY", 10, transmit=False)
        trade = ib.placeOrder(qqq, held)
        await asyncio.to_thread(sim.advance, 30)
        await asyncio.sleep(0.3)
        assert trade.fills == [] and trade.orderStatus.status == "PendingSubmit"
        assert sim.executions() == []
        # Placing it again with transmit=True sends it: only then does it fill.
        held.transmit = True
        ib.placeOrder(qqq, held)
        assert await wait_for(lambda: trade.orderStatus.status == "Filled")
        ib.disconnect()

    run(scenario())
    assert sim.positions(ACCOUNT)["QQQ"]["qty"] == 10


def test_bracket_children_wait_for_their_parent(sim):
    """Finding 3: a bracket's child SELL filled while its parent BUY never did (a naked short of 100)."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        last = sim.call(sim.sim.market.last, "QQQ")
        # The parent buys far below the market (never fills); the take-profit sells below the market (marketable at
        # once if it were live), the stop-loss far below.
        bracket = ib.bracketOrder("BUY", 100, round(last * 0.5, 2), round(last * 0.9, 2), round(last * 0.4, 2))
        trades = [ib.placeOrder(qqq, o) for o in bracket]
        assert await wait_for(lambda: trades[0].orderStatus.status == "Submitted")
        await asyncio.to_thread(sim.advance, 30)
        await asyncio.sleep(0.3)
        assert [t.orderStatus.status for t in trades] == ["Submitted", "PreSubmitted", "PreSubmitted"]
        assert all(t.fills == [] for t in trades)
        # Cancelling the parent cancels the orders attached to it.
        ib.cancelOrder(bracket.parent)
        assert await wait_for(lambda: all(t.orderStatus.status == "Cancelled" for t in trades))
        ib.disconnect()

    run(scenario())
    assert sim.executions() == [] and sim.positions(ACCOUNT) == {}


def test_bracket_children_go_live_when_the_parent_fills_and_cancel_each_other(sim):
    """Findings 3 and 4: once the parent fills the children work; when one fills, its sibling is cancelled."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        last = sim.call(sim.sim.market.last, "QQQ")
        bracket = ib.bracketOrder("BUY", 100, round(last * 1.1, 2), round(last * 1.5, 2), round(last * 0.9, 2))
        trades = [ib.placeOrder(qqq, o) for o in bracket]
        assert await wait_for(lambda: trades[0].orderStatus.status == "Filled")
        assert await wait_for(lambda: [t.orderStatus.status for t in trades[1:]] == ["Submitted", "Submitted"])
        sim.move_price("QQQ", -0.2)  # through the stop-loss
        await asyncio.to_thread(sim.advance, 5)
        assert await wait_for(lambda: trades[2].orderStatus.status == "Filled")
        assert await wait_for(lambda: trades[1].orderStatus.status == "Cancelled")
        ib.disconnect()

    run(scenario())
    assert sim.positions(ACCOUNT) == {}
    assert [(e["side"], e["shares"]) for e in sim.executions()] == [("BOT", 100), ("SLD", 100)]


@pytest.mark.parametrize(
    ("oca_type", "other_after"),
    [(1, ("Cancelled", 10.0)), (2, ("Submitted", 6.0)), (3, ("Submitted", 6.0))],
)
def test_oca_group_types(sim, oca_type, other_after):
    """Finding 4: a filled OCA leg left its sibling working. Type 1 cancels the others; 2 and 3 reduce them."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        last = sim.call(sim.sim.market.last, "QQQ")
        resting = LimitOrder("BUY", 10, round(last * 0.5, 2), tif="GTC")
        marketable = LimitOrder("BUY", 4, round(last * 1.1, 2), tif="GTC")
        ib.oneCancelsAll([resting, marketable], f"grp-{oca_type}", oca_type)
        t_resting = ib.placeOrder(qqq, resting)
        assert await wait_for(lambda: t_resting.orderStatus.status == "Submitted")
        t_marketable = ib.placeOrder(qqq, marketable)
        assert await wait_for(lambda: t_marketable.orderStatus.status == "Filled")
        expected_status, expected_qty = other_after
        assert await wait_for(lambda: t_resting.orderStatus.status == expected_status)
        assert await wait_for(lambda: t_resting.order.totalQuantity == expected_qty)
        ib.disconnect()

    run(scenario())
    resting = next(o for o in sim.orders() if o["total_quantity"] != 4)
    assert (resting["status"], resting["total_quantity"], resting["oca_type"]) == (*other_after, oca_type)


def test_conditions_and_algos_are_refused_not_dropped(sim):
    """Finding 5: a conditional MKT order filled at once; an order carrying a feature ibsim lacks is refused."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        errors = errors_of(ib)
        conditional = MarketOrder("BUY", 10)
        conditional.conditions = [PriceCondition(price=10_000.0, conId=qqq.conId, exch="SMART", isMore=True)]
        algo = MarketOrder("BUY", 10, algoStrategy="Adaptive", algoParams=[TagValue("adaptivePriority", "Normal")])
        t1, t2 = ib.placeOrder(qqq, conditional), ib.placeOrder(qqq, algo)
        assert await wait_for(lambda: t1.isDone() and t2.isDone())
        codes = {(req_id, code) for req_id, code, _ in errors}
        assert {(t1.order.orderId, 201), (t2.order.orderId, 201)} <= codes
        texts = " ".join(msg for *_, msg in errors)
        assert "order conditions" in texts and "algoStrategy=Adaptive" in texts
        ib.disconnect()

    run(scenario())
    assert sim.executions() == [] and sim.orders() == []


def test_margin_check_rejects_with_201(sim):
    """Finding 6: a BUY of about 10x net liquidation filled; a gateway rejects it with error 201."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        errors = errors_of(ib)
        net_liq = sim.account_values()["NetLiquidation"]
        last = sim.call(sim.sim.market.last, "QQQ")
        huge = ib.placeOrder(qqq, MarketOrder("BUY", round(10 * net_liq / last)))
        assert await wait_for(huge.isDone)
        assert [(code, "EQUITY WITH LOAN VALUE" in msg) for _, code, msg in errors] == [(201, True)]
        # 0.9x net liquidation needs 45% of it as Reg T initial margin: accepted.
        ok = ib.placeOrder(qqq, MarketOrder("BUY", round(0.9 * net_liq / last)))
        assert await wait_for(lambda: ok.orderStatus.status == "Filled")
        # Closing is always allowed.
        close = ib.placeOrder(qqq, MarketOrder("SELL", ok.order.totalQuantity))
        assert await wait_for(lambda: close.orderStatus.status == "Filled")
        ib.disconnect()

    run(scenario())
    assert len(sim.executions()) == 2 and sim.positions(ACCOUNT) == {}


def test_stop_order_waits_for_its_trigger(sim):
    """A stop order is matched only once the market touches it (a control for the bracket tests above)."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        last = sim.call(sim.sim.market.last, "QQQ")
        stop = ib.placeOrder(qqq, StopOrder("BUY", 5, round(last * 1.5, 2), tif="GTC"))
        assert await wait_for(lambda: stop.orderStatus.status == "Submitted")
        await asyncio.to_thread(sim.advance, 30)
        await asyncio.sleep(0.2)
        assert stop.fills == []
        ib.disconnect()

    run(scenario())


def test_unmodelled_order_types_and_tifs_are_rejected_with_their_order_id(sim):
    """Finding 11 (what ibsim does not model): TRAIL, MOC, MIT and OPG are refused with 201, never placed."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        errors = errors_of(ib)
        trail = Order(action="SELL", totalQuantity=5, orderType="TRAIL", auxPrice=1.0)
        moc = Order(action="BUY", totalQuantity=5, orderType="MOC")
        mit = Order(action="BUY", totalQuantity=5, orderType="MIT", auxPrice=1.0)
        opg = MarketOrder("BUY", 5, tif="OPG")
        trades = [ib.placeOrder(qqq, o) for o in (trail, moc, mit, opg)]
        assert await wait_for(lambda: all(t.isDone() for t in trades))
        assert sorted((r, c) for r, c, _ in errors) == sorted((t.order.orderId, 201) for t in trades)
        ib.disconnect()

    run(scenario())
    assert sim.orders() == [] and sim.executions() == []


def test_gtd_expires_and_fok_fills_in_full_or_not_at_all(sim):
    """Time in force GTD and FOK, which ibsim rejected before."""

    async def scenario():
        ib = await connect(sim.port)
        qqq = await qualified(ib)
        last = sim.call(sim.sim.market.last, "QQQ")
        until = datetime.fromtimestamp(sim.sim.clock.now() + 60, UTC).strftime("%Y%m%d %H:%M:%S UTC")
        gtd = ib.placeOrder(qqq, LimitOrder("BUY", 5, round(last * 0.5, 2), tif="GTD", goodTillDate=until))
        fok_rest = ib.placeOrder(qqq, LimitOrder("BUY", 5, round(last * 0.5, 2), tif="FOK"))
        fok_fill = ib.placeOrder(qqq, LimitOrder("BUY", 5, round(last * 1.1, 2), tif="FOK"))
        assert await wait_for(lambda: gtd.orderStatus.status == "Submitted")
        assert await wait_for(lambda: fok_rest.orderStatus.status == "Cancelled")
        assert await wait_for(lambda: fok_fill.orderStatus.status == "Filled")
        await asyncio.to_thread(sim.advance, 30)
        await asyncio.sleep(0.1)
        assert gtd.orderStatus.status == "Submitted"
        await asyncio.to_thread(sim.advance, 60)
        assert await wait_for(lambda: gtd.orderStatus.status == "Cancelled")
        ib.disconnect()

    run(scenario())
    assert [e["shares"] for e in sim.executions()] == [5]
