"""The order gate on a real Nautilus kernel (a BacktestEngine): audit before send, notional cap, fail closed."""

from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from trading.sessions.risk import OrderGate

QQQ = TestInstrumentProvider.equity(symbol="QQQ", venue="NASDAQ")
SPY = TestInstrumentProvider.equity(symbol="SPY", venue="NASDAQ")  # loaded, but no data ever arrives for it
BARS = BarType.from_str("QQQ.NASDAQ-1-DAY-LAST-EXTERNAL")


class Scripted(Strategy):
    """On the first QQQ bar, submits the QQQ market orders it is given, and one SPY order (SPY has no price)."""

    def __init__(self, unpriced: int | None, on_first_bar: list[int]):
        super().__init__()
        self.unpriced, self.on_first_bar, self.denied, self.filled = unpriced, on_first_bar, [], []

    def on_start(self):
        self.subscribe_bars(BARS)

    def on_bar(self, bar):
        for quantity in self.on_first_bar:
            self.submit_order(self.order_factory.market(QQQ.id, OrderSide.BUY, Quantity.from_int(quantity)))
        if self.unpriced:
            self.submit_order(self.order_factory.market(SPY.id, OrderSide.BUY, Quantity.from_int(self.unpriced)))
        self.on_first_bar, self.unpriced = [], None

    def on_order_denied(self, event):
        self.denied.append(event.reason)

    def on_order_filled(self, event):
        self.filled.append(int(event.last_qty))


def run(strategy: Strategy, audit_intent, cap="25000"):
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(
        Venue("NASDAQ"), OmsType.NETTING, AccountType.CASH, starting_balances=[Money(10**7, QQQ.quote_currency)]
    )
    engine.add_instrument(QQQ)
    engine.add_instrument(SPY)
    engine.add_data(
        [
            Bar(
                BARS,
                Price.from_str(p),
                Price.from_str(p),
                Price.from_str(p),
                Price.from_str(p),
                Quantity.from_int(1000),
                ts,
                ts,
            )
            for p, ts in (("100.00", 10**18), ("101.00", 10**18 + 86400 * 10**9))
        ]
    )
    engine.add_strategy(strategy)
    denials = []
    gate = OrderGate(engine.kernel, Decimal(cap), audit_intent, lambda order, reason, numbers: denials.append(numbers))
    gate.install()
    engine.run()
    engine.dispose()
    return denials


def test_an_order_over_the_cap_is_denied_and_one_under_it_fills():
    intents = []
    strategy = Scripted(None, [100, 1000])  # 100 x 100 = 10,000 passes; 1000 x 100 = 100,000 does not
    denials = run(strategy, lambda order, notional: intents.append(notional))
    assert strategy.filled == [100]
    assert strategy.denied == ["notional 100000.00 (1000 x 100) exceeds the cap 25000"]
    assert denials == [
        {"rule": "notional", "notional": "100000.00", "cap": "25000", "quantity": "1000", "price": "100"}
    ]
    assert intents == [Decimal("10000"), Decimal("100000")]  # both intents were recorded before checks


def test_an_order_without_any_price_is_denied():
    strategy = Scripted(10, [])
    run(strategy, lambda order, notional: None)
    assert strategy.denied == ["no price to value the order (no limit price, quote, trade or bar yet): denied"]
    assert strategy.filled == []


def test_when_the_audit_write_fails_the_order_is_not_sent():
    def failing_audit(order, notional):
        raise RuntimeError("database is locked")

    strategy = Scripted(None, [10])
    run(strategy, failing_audit)
    assert strategy.filled == []
    assert strategy.denied == ["audit write failed, order not sent: RuntimeError: database is locked"]
