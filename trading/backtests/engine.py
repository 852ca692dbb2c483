"""Run one strategy config over bars in a Nautilus BacktestEngine and collect its fills.

The engine is configured for throughput, not for a different simulation: logging at ERROR and no built-in
post-run analysis (its pandas statistics grow trade by trade); metrics are computed from the fills afterwards
(trading.backtests.metrics). Fill semantics are Nautilus's own: a MARKET order sent from on_bar fills at that
bar's close (bars are replayed open, high, low, close), through the venue's fee and fill models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FeeModel, FillModel
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.trading.strategy import Strategy

# Bars fed to the engine per streaming step: bounds memory and gives long runs a progress signal.
CHUNK_BARS = 100_000


@dataclass(frozen=True)
class BacktestCosts:
    """Capital and trading costs of a simulated run (defaults: IB fixed pricing, no slippage)."""

    capital: float = 100_000.0  # starting cash in the instrument's currency
    commission_per_share: float = 0.005  # IB fixed: USD 0.005 per share ...
    commission_minimum: float = 1.0  # ... at least USD 1.00 per order ...
    commission_max_pct: float = 0.01  # ... and at most 1% of the trade value
    slippage_prob: float = 0.0  # probability a MARKET order fills one tick worse (Nautilus FillModel)
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


class PerShareFeeModel(FeeModel):
    """IB-style fixed commissions: a rate per share, a minimum per order and a cap as a fraction of value."""

    def __init__(self, per_share: float, minimum: float, max_pct: float) -> None:
        super().__init__()
        self.per_share, self.minimum, self.max_pct = per_share, minimum, max_pct

    def get_commission(self, order, fill_qty, fill_px, instrument: Instrument) -> Money:
        """Commission for one fill; the order minimum is charged on its first fill."""
        qty = fill_qty.as_double()
        value = qty * fill_px.as_double() * instrument.multiplier.as_double()
        amount = qty * self.per_share
        if order.filled_qty.as_double() == 0:
            amount = max(amount, self.minimum)
        if self.max_pct:
            amount = min(amount, value * self.max_pct)
        return Money(amount, instrument.quote_currency)


@dataclass(frozen=True)
class Fill:
    """One execution, as needed for equity and trade accounting."""

    ts: int  # nanoseconds, the engine clock at the fill (the ts_init of the bar it filled on)
    side: int  # +1 buy, -1 sell
    quantity: float
    price: float
    commission: float


@dataclass
class EngineResult:
    """What a run produced, before metrics."""

    fills: list[Fill] = field(default_factory=list)
    final_balance: float = 0.0  # the venue account's total balance after the run (cross-check for metrics)
    orders: int = 0
    denied_or_rejected: int = 0


def engine_config() -> BacktestEngineConfig:
    """Our engine configuration: quiet logging and no built-in analysis; everything else is Nautilus's default."""
    return BacktestEngineConfig(
        logging=LoggingConfig(log_level="ERROR"),
        run_analysis=False,
    )


def run_engine(
    strategy_class: type[Strategy],
    config: StrategyConfig,
    instrument: Instrument,
    bars: list[Bar],
    costs: BacktestCosts,
    progress: Callable[[int], None] | None = None,
) -> EngineResult:
    """Run one strategy over the bars in a fresh BacktestEngine (disposed afterwards); return its fills."""
    engine = BacktestEngine(config=engine_config())
    try:
        venue = Venue(instrument.id.venue.value)
        engine.add_venue(
            venue=venue,
            oms_type=OmsType.NETTING,
            # IB accounts are margin accounts; leverage 1 keeps buying power equal to cash.
            account_type=AccountType.MARGIN,
            base_currency=instrument.quote_currency,
            starting_balances=[Money(costs.capital, instrument.quote_currency)],
            default_leverage=Decimal(1),
            fill_model=FillModel(prob_slippage=costs.slippage_prob, random_seed=costs.seed),
            fee_model=PerShareFeeModel(costs.commission_per_share, costs.commission_minimum, costs.commission_max_pct),
        )
        # The portfolio analyzer grows pandas Series with pd.concat on every closed position (quadratic in trades)
        # even with run_analysis off; our metrics come from the fills, so it records nothing here.
        engine.portfolio.analyzer.record_trade = _skip_record
        engine.add_instrument(instrument)
        engine.add_strategy(strategy_class(config))
        for offset in range(0, len(bars), CHUNK_BARS):
            chunk = bars[offset : offset + CHUNK_BARS]
            # Catalog bars are already valid for this instrument; sorting a sorted chunk is cheap.
            engine.add_data(chunk, validate=False, sort=True)
            engine.run(streaming=True)
            engine.clear_data()
            if progress:
                progress(len(chunk))
        engine.end()
        return _collect(engine, venue, instrument)
    finally:
        engine.dispose()


def _collect(engine: BacktestEngine, venue: Venue, instrument: Instrument) -> EngineResult:
    result = EngineResult()
    # The cache returns orders unordered; replay them in creation order so same-instant fills stay in sequence.
    orders = sorted(engine.cache.orders(), key=_creation_order)
    result.orders = len(orders)
    for order in orders:
        if order.is_closed and order.filled_qty.as_double() == 0:
            result.denied_or_rejected += 1
        for event in order.events:
            if isinstance(event, OrderFilled):
                result.fills.append(
                    Fill(
                        ts=event.ts_event,
                        side=1 if event.order_side == OrderSide.BUY else -1,
                        quantity=event.last_qty.as_double(),
                        price=event.last_px.as_double(),
                        commission=event.commission.as_double(),
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
