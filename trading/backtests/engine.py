"""Run one strategy config over bars in a Nautilus BacktestEngine and collect its fills.

The engine is configured for throughput, not for a different simulation: logging at ERROR and no built-in
post-run analysis (its pandas statistics grow trade by trade); metrics are computed from the fills afterwards
(trading.backtests.metrics).

Fill conventions (FILL_CONVENTIONS), recorded on every run:

- ``next_open`` (default, as live): a MARKET order decided on a bar fills at the next bar's open, for intraday
  bars the first price after the decision. Nautilus replays a bar as open, high, low, close and only then hands it
  to the strategy, so an order sent from on_bar would meet that bar's close. Two things move it to the next open:
  a 1 ns latency model, so the order is still in flight when the engine settles the venue after on_bar, and one
  opening trade tick per bar, fed to the venue only (strategies subscribe to bars), stamped at the bar's start
  (at least 1 ns after the previous bar's ts_init). The engine settles the venue after each data point, so the
  in-flight order reaches the matching engine right after the opening tick has set the market, and fills there.
  A signal on the final bar (and the close of any position when the run stops) has no next bar: it stays in
  flight and does not fill; the open position is marked to the last close.
- ``signal_close``: Nautilus's default, the order fills at the signal bar's close; the stop flattens at the last
  close.

Fills take the whole order at the market price whatever the bar's volume (FullFillModel): Nautilus otherwise sizes
its one-level book from the bar volume and fills the rest one tick worse, even with slippage off. Slippage, when
asked for, is Nautilus's own: each fill one tick worse with probability slippage_prob.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FeeModel, FillModel, LatencyModel
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import Bar, BookOrder, TradeTick
from nautilus_trader.model.enums import AccountType, AggressorSide, BookType, OmsType, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import TradeId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.trading.strategy import Strategy

# Bars fed to the engine per streaming step: bounds memory and gives long runs a progress signal.
CHUNK_BARS = 100_000
NEXT_OPEN, SIGNAL_CLOSE = "next_open", "signal_close"
FILL_CONVENTIONS = (NEXT_OPEN, SIGNAL_CLOSE)
DEFAULT_FILL_CONVENTION = NEXT_OPEN
# Liquidity offered to a MARKET order at the market price: more than any order a sleeve sends.
UNLIMITED_SHARES = 1_000_000_000


@dataclass(frozen=True)
class BacktestCosts:
    """Capital and trading costs of a simulated run (defaults: IB fixed pricing, no slippage)."""

    capital: float = 100_000.0  # starting cash in the instrument's currency
    commission_per_share: float = 0.005  # IB fixed: USD 0.005 per share ...
    commission_minimum: float = 1.0  # ... at least USD 1.00 per order ...
    commission_max_pct: float = 0.01  # ... and at most 1% of the order's value
    slippage_prob: float = 0.0  # probability a MARKET fill is one tick worse (Nautilus FillModel)
    seed: int = 42  # random seed of the fill model, so slipped runs are reproducible

    def __post_init__(self) -> None:
        checks = (
            ("capital", self.capital > 0, "must be positive"),
            ("commission_per_share", self.commission_per_share >= 0, "must not be negative"),
            ("commission_minimum", self.commission_minimum >= 0, "must not be negative"),
            ("commission_max_pct", self.commission_max_pct >= 0, "must not be negative"),
            ("slippage_prob", 0 <= self.slippage_prob <= 1, "must be between 0 and 1"),
        )
        for name, ok, rule in checks:
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise ValueError(f"{name}: {rule}, got {value!r}")

    def as_dict(self) -> dict:
        """The costs as a JSON-ready dict."""
        return asdict(self)

    def scaled(self, commission_multiplier: float) -> BacktestCosts:
        """These costs with the per-share rate, minimum and cap of commissions multiplied (stress tests)."""
        if not (commission_multiplier >= 0 and math.isfinite(commission_multiplier)):
            raise ValueError(f"commission_multiplier: must not be negative, got {commission_multiplier!r}")
        return BacktestCosts(
            capital=self.capital,
            commission_per_share=self.commission_per_share * commission_multiplier,
            commission_minimum=self.commission_minimum * commission_multiplier,
            commission_max_pct=self.commission_max_pct * commission_multiplier,
            slippage_prob=self.slippage_prob,
            seed=self.seed,
        )


def order_commission(per_share: float, minimum: float, max_pct: float, quantity: float, value: float) -> float:
    """IB fixed commission of a whole order: clamp(per_share x qty, minimum, max_pct x value), to the cent."""
    # The cap wins over the minimum, as at IB; a max_pct of 0 means no cap.
    if quantity <= 0:
        return 0.0
    amount = max(per_share * quantity, minimum)
    if max_pct:
        amount = min(amount, max_pct * value)
    return round(amount, 2)


class PerShareFeeModel(FeeModel):
    """IB-style fixed commissions: a rate per share, a minimum per order and a cap as a fraction of the order's
    value. The minimum and cap apply to the order as a whole: each fill is charged the order's commission so far
    minus what its earlier fills were charged, so an order's fills sum to order_commission of its totals."""

    def __init__(self, per_share: float, minimum: float, max_pct: float) -> None:
        super().__init__()
        self.per_share, self.minimum, self.max_pct = per_share, minimum, max_pct

    def get_commission(self, order, fill_qty, fill_px, instrument: Instrument) -> Money:
        """Commission for one fill of an order (called before the order counts the fill)."""
        multiplier = instrument.multiplier.as_double()
        before_qty = order.filled_qty.as_double()
        before_value = before_qty * (order.avg_px or 0.0) * multiplier if before_qty else 0.0
        qty = fill_qty.as_double()
        after_value = before_value + qty * fill_px.as_double() * multiplier
        rates = (self.per_share, self.minimum, self.max_pct)
        amount = order_commission(*rates, before_qty + qty, after_value) - order_commission(
            *rates, before_qty, before_value
        )
        return Money(max(amount, 0.0), instrument.quote_currency)


class FullFillModel(FillModel):
    """Nautilus's FillModel, except that a MARKET order meets unlimited size at the best bid and ask, so it fills
    whole at the market price however small the bar's volume (slippage still applies per fill)."""

    def get_orderbook_for_fill_simulation(self, instrument, order, best_bid, best_ask):
        """A book with unlimited size at the best bid and ask for MARKET orders; None (Nautilus's logic) otherwise."""
        if order.order_type != OrderType.MARKET:
            return None
        book = OrderBook(instrument_id=instrument.id, book_type=BookType.L2_MBP)
        size = Quantity(UNLIMITED_SHARES, instrument.size_precision)
        book.add(BookOrder(side=OrderSide.BUY, price=best_bid, size=size, order_id=1), 0, 0)
        book.add(BookOrder(side=OrderSide.SELL, price=best_ask, size=size, order_id=2), 0, 0)
        return book


@dataclass(frozen=True)
class Fill:
    """One execution, as needed for equity and trade accounting."""

    ts: int  # nanoseconds, the engine clock at the fill (a bar's ts_init, or an opening tick's time for next_open)
    side: int  # +1 buy, -1 sell
    quantity: float
    price: float
    commission: float
    order: str = ""  # client order id: fills of one order share it


@dataclass
class EngineResult:
    """What a run produced, before metrics."""

    fills: list[Fill] = field(default_factory=list)
    final_balance: float = 0.0  # the venue account's total balance after the run (cross-check for metrics)
    orders: int = 0
    denied_or_rejected: int = 0
    unfilled_at_end: int = 0  # orders still in flight when the data ended (next_open: no next bar to fill on)
    # Every order the strategy sent, as {"ts": creation ns, "side": "BUY"/"SELL", "quantity"}: its decisions, filled
    # or not (the research ladder's causality rung compares them across truncated runs).
    decisions: list[dict] = field(default_factory=list)


def engine_config() -> BacktestEngineConfig:
    """Our engine configuration: quiet logging and no built-in analysis; everything else is Nautilus's default."""
    return BacktestEngineConfig(
        logging=LoggingConfig(log_level="ERROR"),
        run_analysis=False,
    )


def check_fill_convention(fill_convention: str) -> str:
    """The convention if it is known; ValueError naming the known ones otherwise."""
    if fill_convention not in FILL_CONVENTIONS:
        raise ValueError(f"fill_convention: expected one of {', '.join(FILL_CONVENTIONS)}, got {fill_convention!r}")
    return fill_convention


def opening_ticks(bars: list[Bar], instrument: Instrument) -> list[TradeTick]:
    """One trade at each bar's open, stamped at its start and at least 1 ns after the previous bar's ts_init."""
    # An intraday bar starts when the previous one ends: its open is the first price after that close.
    ticks = []
    previous_init = -1
    size = Quantity(1, instrument.size_precision)  # any size: FullFillModel does not read it
    for bar in bars:
        ts = max(bar.ts_event, previous_init + 1)
        previous_init = bar.ts_init
        ticks.append(
            TradeTick(instrument.id, bar.open, size, AggressorSide.NO_AGGRESSOR, TradeId(f"open-{ts}"), ts, ts)
        )
    return ticks


def backtest_oms(strategy_class: type[Strategy]) -> OmsType:
    """NETTING, as an IB account nets; HEDGING for a strategy that declares it holds one position at a time and
    closes it by its id (POSITIONS_CLOSED_BY_ID), where the fills are the same either way.

    Nautilus snapshots a NETTING position with pickle each time it reopens after a close: most of a backtest's
    per-trade cost (0.95 s instead of 1.4 s for 296 round trips on 5,031 daily bars).
    """
    return OmsType.HEDGING if getattr(strategy_class, "POSITIONS_CLOSED_BY_ID", False) else OmsType.NETTING


def run_engine(
    strategy_class: type[Strategy],
    config: StrategyConfig,
    instrument: Instrument,
    bars: list[Bar],
    costs: BacktestCosts,
    progress: Callable[[int], None] | None = None,
    fill_convention: str = DEFAULT_FILL_CONVENTION,
    fill_model: FillModel | None = None,
) -> EngineResult:
    """Run one strategy over the bars in a fresh BacktestEngine (disposed afterwards); return its fills."""
    # fill_model replaces FullFillModel: tests pass Nautilus's own, whose volume-sized book splits orders.
    next_open = check_fill_convention(fill_convention) == NEXT_OPEN
    engine = BacktestEngine(config=engine_config())
    try:
        venue = Venue(instrument.id.venue.value)
        engine.add_venue(
            venue=venue,
            oms_type=backtest_oms(strategy_class),
            # IB accounts are margin accounts; leverage 1 keeps buying power equal to cash.
            account_type=AccountType.MARGIN,
            base_currency=instrument.quote_currency,
            starting_balances=[Money(costs.capital, instrument.quote_currency)],
            default_leverage=Decimal(1),
            fill_model=fill_model or FullFillModel(prob_slippage=costs.slippage_prob, random_seed=costs.seed),
            fee_model=PerShareFeeModel(costs.commission_per_share, costs.commission_minimum, costs.commission_max_pct),
            latency_model=LatencyModel(base_latency_nanos=1) if next_open else None,
        )
        # The portfolio analyzer grows pandas Series with pd.concat on every closed position (quadratic in trades)
        # even with run_analysis off; our metrics come from the fills, so it records nothing here.
        engine.portfolio.analyzer.record_trade = _skip_record
        engine.add_instrument(instrument)
        engine.add_strategy(strategy_class(config))
        for offset in range(0, len(bars), CHUNK_BARS):
            chunk = bars[offset : offset + CHUNK_BARS]
            # Catalog bars are already valid for this instrument; sorting a sorted chunk is cheap.
            engine.add_data(chunk, validate=False, sort=not next_open)
            if next_open:
                previous = bars[offset - 1 : offset] if offset else []
                ticks = opening_ticks(previous + chunk, instrument)[len(previous) :]
                engine.add_data(ticks, validate=False, sort=True)  # sorts ticks and bars together
            engine.run(streaming=True)
            engine.clear_data()
            if progress:
                progress(len(chunk))
        # Orders sent while the data ran are the strategy's decisions; those its on_stop sends as the run ends are not.
        decided = {order.client_order_id for order in engine.cache.orders()}
        engine.end()
        return _collect(engine, venue, instrument, decided)
    finally:
        engine.dispose()


def _collect(engine: BacktestEngine, venue: Venue, instrument: Instrument, decided: set) -> EngineResult:
    result = EngineResult()
    # The cache returns orders unordered; replay them in creation order so same-instant fills stay in sequence.
    orders = sorted(engine.cache.orders(), key=_creation_order)
    result.orders = len(orders)
    for order in orders:
        if order.client_order_id in decided:
            result.decisions.append(
                {
                    "ts": order.ts_init,
                    "side": "BUY" if order.side == OrderSide.BUY else "SELL",
                    "quantity": order.quantity.as_double(),
                }
            )
        if order.is_closed and order.filled_qty.as_double() == 0:
            result.denied_or_rejected += 1
        elif not order.is_closed and order.filled_qty.as_double() == 0:
            result.unfilled_at_end += 1
        for event in order.events:
            if isinstance(event, OrderFilled):
                result.fills.append(
                    Fill(
                        ts=event.ts_event,
                        side=1 if event.order_side == OrderSide.BUY else -1,
                        quantity=event.last_qty.as_double(),
                        price=event.last_px.as_double(),
                        commission=event.commission.as_double(),
                        order=order.client_order_id.value,
                    )
                )
    result.fills.sort(key=lambda f: f.ts)  # stable: keeps creation order within one instant
    account = engine.cache.account_for_venue(venue)
    result.final_balance = account.balance_total(instrument.quote_currency).as_double()
    return result


def _creation_order(order) -> tuple[int, int]:
    # Client order ids end in the strategy's order counter (e.g. O-20100104-000000-001-000-7).
    tail = order.client_order_id.value.rsplit("-", 1)[-1]
    return order.ts_init, int(tail) if tail.isdigit() else 0


def _skip_record(*args, **kwargs) -> None:
    return None
