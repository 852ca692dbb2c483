"""The order gate on a real Nautilus kernel (a BacktestEngine): every pre-trade rule, audit before send, fail closed.

The same gate sits on the live TradingNode (test_adversary.py drives it there against ibsim); here each rule is
checked alone, fast, with the market at 100 on the first bar and 101 on the second.
"""

import dataclasses
from decimal import Decimal

import environ
import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from ats_site.config import load_config
from trading.sessions.risk import OrderGate
from trading.sessions.risk_rules import SleeveScope

QQQ = TestInstrumentProvider.equity(symbol="QQQ", venue="NASDAQ")
SPY = TestInstrumentProvider.equity(symbol="SPY", venue="NASDAQ")  # loaded, but no data ever arrives for it
SAP = Equity(  # quoted in EUR: no EUR/USD rate is known to the node
    instrument_id=InstrumentId(Symbol("SAP"), Venue("NASDAQ")),
    raw_symbol=Symbol("SAP"),
    currency=Currency.from_str("EUR"),
    price_precision=2,
    price_increment=Price.from_str("0.01"),
    lot_size=Quantity.from_int(1),
    ts_event=0,
    ts_init=0,
)
BARS = BarType.from_str("QQQ.NASDAQ-1-DAY-LAST-EXTERNAL")
SAP_BARS = BarType.from_str("SAP.NASDAQ-1-DAY-LAST-EXTERNAL")
PAPER = load_config(environ.Env()).paper_risk


def caps(**overrides):
    """The paper defaults (25,000 per order, 50,000 per position, 10% collar, ...) with some changed."""
    defaults = {
        "max_notional_per_order": Decimal("25000"),
        "max_position_notional": Decimal("50000"),
        "max_gross_exposure": Decimal("100000"),
        "max_open_orders": 20,
        "max_price_deviation": Decimal("0.10"),
        "duplicate_window_seconds": Decimal("1"),
    }
    return dataclasses.replace(PAPER, **{**defaults, **overrides})


class Scripted(Strategy):
    """Runs `first(strategy)` on the first QQQ bar and `second(strategy)` on the next; records what came back."""

    def __init__(self, first, second=None):
        super().__init__()
        self.first, self.second = first, second
        self.denied, self.modify_rejected, self.filled, self.bars = [], [], [], 0

    def on_start(self):
        self.subscribe_bars(BARS)
        self.subscribe_bars(SAP_BARS)

    def on_bar(self, bar):
        if bar.bar_type != BARS:
            return
        self.bars += 1
        action = self.first if self.bars == 1 else self.second if self.bars == 2 else None
        if action:
            action(self)

    def market(self, side, quantity, instrument=QQQ, reduce_only=False):
        order = self.order_factory.market(instrument.id, side, Quantity.from_int(quantity), reduce_only=reduce_only)
        self.submit_order(order)
        return order

    def limit(self, side, quantity, price, reduce_only=False):
        order = self.order_factory.limit(
            QQQ.id, side, Quantity.from_int(quantity), Price.from_str(price), TimeInForce.GTC, reduce_only=reduce_only
        )
        self.submit_order(order)
        return order

    def on_order_denied(self, event):
        self.denied.append(event.reason)

    def on_order_modify_rejected(self, event):
        self.modify_rejected.append(event.reason)

    def on_order_filled(self, event):
        self.filled.append((event.order_side, int(event.last_qty)))


def run(strategy, audit_intent=None, limits=None, allow_short=False, sleeve_instrument="QQQ.NASDAQ", on_gate=None):
    """Run the strategy behind the gate; return (intents, denials) as the gate reported them."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(
        Venue("NASDAQ"), OmsType.NETTING, AccountType.MARGIN, starting_balances=[Money(10**8, QQQ.quote_currency)]
    )
    for instrument in (QQQ, SPY, SAP):
        engine.add_instrument(instrument)
    engine.add_data(
        [
            Bar(bar_type, *(Price.from_str(p),) * 4, Quantity.from_int(10**7), ts, ts)
            for p, ts in (("100.00", 10**18), ("101.00", 10**18 + 86400 * 10**9))
            for bar_type in (BARS, SAP_BARS)
        ]
    )
    engine.add_strategy(strategy)
    intents, denials = [], []

    def record_intent(view, notional):
        intents.append((view, notional))
        if audit_intent:
            audit_intent(view, notional)

    sleeves = {str(strategy.id): SleeveScope(sleeve_instrument, allow_short=allow_short)}
    gate = OrderGate(engine.kernel, limits or caps(), sleeves, "USD", record_intent, lambda view, d: denials.append(d))
    gate.install()
    if on_gate:
        on_gate(gate)
    engine.run()
    engine.dispose()
    return intents, denials


def test_an_order_over_the_cap_is_denied_and_one_under_it_fills():
    strategy = Scripted(lambda s: (s.market(OrderSide.BUY, 100), s.market(OrderSide.BUY, 1000)))
    intents, denials = run(strategy)
    assert strategy.filled == [(OrderSide.BUY, 100)]
    assert strategy.denied == ["notional 100,000.00 USD (1,000 x 100) exceeds the cap 25,000.00 USD"]
    assert denials[0].rule == "notional" and denials[0].numbers == {
        "notional": "100000.00",
        "cap": "25000",
        "quantity": "1000",
        "price": "100",
    }
    assert [n for _, n in intents] == [Decimal("10000"), Decimal("100000")]  # both audited before the checks


def test_an_order_without_any_market_price_is_denied_even_with_its_own_price():
    def act(s):
        s.submit_order(
            s.order_factory.limit(SPY.id, OrderSide.BUY, Quantity.from_int(1), Price.from_str("1.00"), TimeInForce.GTC)
        )

    strategy = Scripted(act)
    _, denials = run(strategy, sleeve_instrument="SPY.NASDAQ")  # SPY never gets a quote, trade or bar
    assert [d.rule for d in denials] == ["no_market_price"] and strategy.filled == []


def test_no_market_price_for_the_sleeves_instrument_is_denied():
    strategy = Scripted(None)
    strategy.on_start = lambda: strategy.market(OrderSide.BUY, 1)  # before any bar has arrived
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["no_market_price"]
    assert denials[0].reason.startswith("no market price for QQQ.NASDAQ")


def test_when_the_audit_write_fails_the_order_is_not_sent():
    def failing_audit(view, notional):
        raise RuntimeError("database is locked")

    strategy = Scripted(lambda s: s.market(OrderSide.BUY, 10))
    run(strategy, failing_audit)
    assert strategy.filled == []
    assert strategy.denied == ["audit write failed, order not sent: RuntimeError: database is locked"]


def test_a_marketable_limit_is_valued_at_the_market_not_at_its_own_price():
    # SELL LIMIT 1,000 @ 95 with the market at 100: it would fill at the market, so it is worth 100,000, not 95,000.
    strategy = Scripted(lambda s: s.limit(OrderSide.SELL, 1000, "95.00"), None)
    _, denials = run(strategy, allow_short=True)
    assert denials[0].rule == "notional" and denials[0].numbers["price"] == "100"


@pytest.mark.parametrize(
    "act, reason",
    [
        (lambda s: s.limit(OrderSide.SELL, 1_000_000, "0.01"), "price collar: limit price 0.01 is 100.0% from"),
        (
            lambda s: s.submit_order(
                s.order_factory.stop_market(QQQ.id, OrderSide.BUY, Quantity.from_int(1_000_000), Price.from_str("0.01"))
            ),
            "price collar: trigger price 0.01 is 100.0% from",
        ),
        (
            lambda s: s.limit(OrderSide.BUY, 1, "111.00"),
            "price collar: limit price 111 is 11.0% from the market 100",
        ),
    ],
)
def test_prices_far_from_the_market_are_refused(act, reason):
    strategy = Scripted(act)
    _, denials = run(strategy, allow_short=True)
    assert denials[0].rule == "price_collar" and strategy.denied[0].startswith(reason), strategy.denied
    assert strategy.filled == []


def test_a_short_from_flat_is_refused_for_a_long_only_sleeve_and_allowed_when_configured():
    strategy = Scripted(lambda s: s.market(OrderSide.SELL, 10))
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["short_sale"] and strategy.filled == []
    allowed = Scripted(lambda s: s.market(OrderSide.SELL, 10))
    run(allowed, allow_short=True)
    assert allowed.filled == [(OrderSide.SELL, 10)]


def test_reduce_only_is_verified_against_the_position_not_trusted():
    strategy = Scripted(
        lambda s: s.market(OrderSide.BUY, 100),
        lambda s: (
            s.market(OrderSide.SELL, 1_000_000, reduce_only=True),  # would open a huge short: refused
            s.market(OrderSide.SELL, 100, reduce_only=True),  # closes the 100 exactly: passes
            s.market(OrderSide.SELL, 1, reduce_only=True),  # the 100 are already being sold: refused
        ),
    )
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["reduce_only", "reduce_only"]
    assert strategy.filled == [(OrderSide.BUY, 100), (OrderSide.SELL, 100)]


def test_a_sleeve_may_only_trade_its_own_instrument():
    strategy = Scripted(lambda s: s.market(OrderSide.BUY, 1, instrument=SPY))
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["scope"]
    assert strategy.denied[0].startswith("scope: ") and "SPY.NASDAQ is refused" in strategy.denied[0]


def test_an_identical_order_inside_the_window_is_a_duplicate():
    strategy = Scripted(
        lambda s: (s.market(OrderSide.BUY, 10), s.market(OrderSide.BUY, 10), s.market(OrderSide.BUY, 11))
    )
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["duplicate"]
    assert strategy.filled == [(OrderSide.BUY, 10), (OrderSide.BUY, 11)]


def test_just_under_cap_orders_cannot_build_a_position_past_its_limit():
    # 24,000, 23,900 and 23,800 each pass the per-order cap; the third would make the position 71,700 > 50,000.
    strategy = Scripted(lambda s: [s.market(OrderSide.BUY, q) for q in (240, 239, 238)])
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["position"]
    assert strategy.filled == [(OrderSide.BUY, 240), (OrderSide.BUY, 239)]


def test_working_orders_count_as_filled_towards_gross_exposure_and_open_orders():
    strategy = Scripted(lambda s: [s.limit(OrderSide.BUY, q, "95.00") for q in (200, 199, 198)])
    _, denials = run(strategy, limits=caps(max_gross_exposure=Decimal("45000"), max_position_notional=Decimal(10**6)))
    assert [d.rule for d in denials] == ["gross_exposure"]  # 20,000 + 19,900 + 19,800 at the ask of 100
    strategy = Scripted(lambda s: [s.limit(OrderSide.BUY, q, "95.00") for q in (1, 2, 3)])
    _, denials = run(strategy, limits=caps(max_open_orders=2))
    assert [d.rule for d in denials] == ["open_orders"]


def test_a_modify_is_judged_as_the_order_it_would_become():
    def modify_up(s):
        s.modified = s.cache.orders_open(instrument_id=QQQ.id)[0]
        s.modify_order(s.modified, quantity=Quantity.from_int(1_000_000))

    strategy = Scripted(lambda s: s.limit(OrderSide.BUY, 1, "99.00"), modify_up)
    intents, denials = run(strategy)
    assert strategy.modify_rejected and strategy.modify_rejected[0].startswith("notional 101,000,000.00 USD")
    assert [(v.is_modify, v.quantity) for v, _ in intents] == [(False, 1), (True, 1_000_000)]
    assert [d.rule for d in denials] == ["notional"]
    assert strategy.modified.quantity == 1  # the working order is as it was


def test_an_instrument_in_another_currency_needs_an_exchange_rate():
    strategy = Scripted(None, lambda s: s.market(OrderSide.BUY, 1, instrument=SAP))  # SAP has a bar by then
    _, denials = run(strategy, sleeve_instrument="SAP.NASDAQ")
    assert [d.rule for d in denials] == ["no_exchange_rate"] and strategy.filled == []


def test_an_order_sent_straight_to_the_execution_engine_is_refused():
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.execution.messages import SubmitOrder

    def around_the_gate(s):
        order = s.order_factory.market(QQQ.id, OrderSide.BUY, Quantity.from_int(1_000_000))
        s.cache.add_order(order)
        command = SubmitOrder(
            trader_id=s.trader_id,
            strategy_id=s.id,
            order=order,
            command_id=UUID4(),
            ts_init=s.clock.timestamp_ns(),
        )
        s.msgbus.send(endpoint="ExecEngine.execute", msg=command)  # past the RiskEngine endpoint the gate owns

    strategy = Scripted(around_the_gate)
    _, denials = run(strategy)
    assert [d.rule for d in denials] == ["bypass"]
    assert strategy.filled == []
    assert strategy.denied and strategy.denied[0].startswith("bypass: ")


def test_a_reduce_only_sell_while_short_is_refused_it_would_grow_the_short():
    # The fourth way through: short 10, then a reduce-only SELL of 1,000,000, which IB would simply fill.
    strategy = Scripted(
        lambda s: s.market(OrderSide.SELL, 10),
        lambda s: (
            s.market(OrderSide.SELL, 1_000_000, reduce_only=True),
            s.market(OrderSide.BUY, 10, reduce_only=True),
        ),
    )
    _, denials = run(strategy, allow_short=True)
    assert [d.rule for d in denials] == ["reduce_only"]
    assert denials[0].numbers["position"] == "-10"
    assert strategy.filled == [(OrderSide.SELL, 10), (OrderSide.BUY, 10)]  # the real close still passes
