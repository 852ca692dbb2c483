"""Fills that predict paper and live: the next-open convention, whole fills on thin bars, commissions per order."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.model.objects import Price, Quantity

from trading.backtests.engine import BacktestCosts, PerShareFeeModel, order_commission, run_engine
from trading.marketdata.catalog import assumed_us_equity, make_bar
from trading.services import prepare_backtest
from trading.strategies.params import bar_type_for, build_config, load_strategy

INSTRUMENT = assumed_us_equity("TEST.NASDAQ")
IB = BacktestCosts()  # 0.005 per share, 1.00 minimum, 1% cap
WEAK = (10.0, 10.5, 9.5, 9.55)  # IBS 0.05: an entry signal
MIDDLE = (10.0, 10.5, 9.5, 10.0)
STRONG = (10.0, 10.5, 9.5, 10.45)  # IBS 0.95: an exit signal


def bars_of(rows, bar_spec: str = "1-DAY-LAST", volume: float = 1000, step: pd.Timedelta | None = None):
    bar_type = bar_type_for("TEST.NASDAQ", bar_spec)
    step = step if step is not None else pd.Timedelta(days=1)
    first = (
        pd.Timestamp("2020-01-01 14:30", tz="UTC").normalize()
        if "DAY" in bar_spec
        else pd.Timestamp("2020-01-02 14:30", tz="UTC")
    )
    return [
        make_bar(bar_type, INSTRUMENT, (first + i * step).value, o, h, lo, c, volume)
        for i, (o, h, lo, c) in enumerate(rows)
    ]


def run_ibs(rows, params, convention="next_open", costs=IB, fill_model=None, bar_spec="1-DAY-LAST", **bar_kwargs):
    strategy_class, _ = load_strategy("ibs_reversion")
    config = build_config("ibs_reversion", "TEST.NASDAQ", bar_spec, params)
    bars = bars_of(rows, bar_spec, **bar_kwargs)
    return run_engine(
        strategy_class, config, INSTRUMENT, bars, costs, fill_convention=convention, fill_model=fill_model
    ), bars


def test_a_signal_on_the_final_bar_does_not_fill():
    result, _ = run_ibs([MIDDLE, MIDDLE, WEAK], {"quantity": 10})
    assert result.orders == 1 and result.fills == [] and result.unfilled_at_end == 1
    result, _ = run_ibs([MIDDLE, MIDDLE, WEAK], {"quantity": 10}, "signal_close")
    assert len(result.fills) == 2 and result.unfilled_at_end == 0  # filled at the close, flattened by the stop


def test_intraday_next_open_fills_at_the_first_price_after_the_decision():
    minute = pd.Timedelta(minutes=1)
    result, bars = run_ibs(
        [MIDDLE, WEAK, (9.7, 10.5, 9.5, 10.0), STRONG, (10.3, 10.5, 9.5, 10.0)],
        {"quantity": 10},
        bar_spec="1-MINUTE-LAST",
        step=minute,
    )
    # Decided at the close of bar 1 (its ts_init, which is bar 2's start): filled 1 ns later at bar 2's open.
    assert [(f.ts, f.side, f.price) for f in result.fills] == [
        (bars[1].ts_init + 1, 1, 9.7),
        (bars[3].ts_init + 1, -1, 10.3),
    ]


def test_next_open_fill_is_the_open_whatever_happens_in_the_bar():
    gap_down = (9.0, 11.0, 8.0, 10.9)  # opens below the signal close, then trades through it
    result, _ = run_ibs([MIDDLE, WEAK, gap_down, STRONG], {"quantity": 10}, costs=BacktestCosts(commission_minimum=0))
    assert result.fills[0].price == 9.0


@pytest.mark.parametrize("volume", [0, 3])
def test_thin_bars_fill_the_whole_order_at_the_price(volume):
    # Nautilus's own fill model offers a quarter of the bar's volume (at least one share) per price, the rest one
    # tick worse; ours fills the whole order at the convention's price when slippage is off.
    for convention, buy_px, sell_px in (("signal_close", 9.55, 10.45), ("next_open", 10.0, 10.0)):
        result, _ = run_ibs([MIDDLE, WEAK, STRONG, MIDDLE], {"quantity": 400}, convention, volume=volume)
        assert [(f.side, f.quantity, f.price) for f in result.fills] == [(1, 400, buy_px), (-1, 400, sell_px)]
        nautilus, _ = run_ibs(
            [MIDDLE, WEAK, STRONG, MIDDLE], {"quantity": 400}, convention, fill_model=FillModel(), volume=volume
        )
        assert len(nautilus.fills) > 2  # the split this project does not model


@pytest.mark.parametrize(
    ("convention", "day", "side", "price"),
    [("signal_close", "2015-05-12", -1, 124.40), ("next_open", "2015-05-12", 1, 124.16)],
)
def test_qqq_zero_volume_day_fills_whole(qqq_catalog, convention, day, side, price):
    # 2015-05-12 has volume 0 in data/daily/QQQ.csv. IBS 2015-05-11 = 0.06 (buy); 2015-05-12 = 0.69 (sell > 0.6).
    prepared = prepare_backtest(
        "ibs_reversion",
        "QQQ.NASDAQ",
        "1-DAY-LAST",
        {"quantity": 400, "sell_threshold": 0.6},
        "2015-05-01",
        "2015-05-20",
        IB,
        fill_convention=convention,
    )
    for fill_model, whole in ((None, True), (FillModel(), False)):
        result = run_engine(
            prepared.strategy_class,
            prepared.config,
            prepared.instrument,
            prepared.bars,
            prepared.costs,
            fill_convention=convention,
            fill_model=fill_model,
        )
        on_day = [f for f in result.fills if pd.Timestamp(f.ts, tz="UTC").strftime("%Y-%m-%d") == day]
        assert sum(f.quantity for f in on_day) == 400 and all(f.side == side for f in on_day)
        if whole:
            assert [(f.quantity, f.price, f.commission) for f in on_day] == [(400, price, 2.0)]
        else:  # Nautilus's default: 1 share at the price, 399 one tick worse
            assert [(f.quantity, round(f.price, 2)) for f in on_day] == [
                (1, price),
                (399, round(price + side * 0.01, 2)),
            ]
            # ... and, since commissions apply per order, still 2.00 in total (not 1.00 + 399 x 0.005).
            assert sum(f.commission for f in on_day) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (400, 2.00),  # per share: 400 x 0.005
        (100, 1.00),  # the minimum, once per order
    ],
)
def test_an_order_split_into_parts_pays_one_order_commission(quantity, expected):
    # Volume 0 bars and Nautilus's volume-sized book: each order fills in several parts.
    result, _ = run_ibs(
        [MIDDLE, WEAK, STRONG, MIDDLE], {"quantity": quantity}, "signal_close", fill_model=FillModel(), volume=0
    )
    for side in (1, -1):
        fills = [f for f in result.fills if f.side == side]
        assert len(fills) >= 2  # really split
        assert len({f.order for f in fills}) == 1
        assert sum(f.commission for f in fills) == pytest.approx(expected, abs=1e-9)


def fake_order(filled: float, avg_px: float | None):
    return SimpleNamespace(filled_qty=Quantity(filled, 0), avg_px=avg_px)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([(1, 124.40), (399, 124.39)], 2.00),  # per-share rate on the whole order
        ([(1, 10.0), (50, 10.01), (49, 10.0)], 1.00),  # minimum once per order
        ([(10, 5.0), (5, 5.0)], 0.75),  # the cap: 1% of 75.00 is below the 1.00 minimum, and wins
        ([(300_000, 1.0), (100_000, 1.0)], 2000.0),  # per share, below the cap of 4000
        ([(60_000, 0.1), (40_000, 0.1)], 100.0),  # per share 500 capped at 1% of 10,000
    ],
)
def test_fee_model_charges_the_whole_order_across_its_fills(parts, expected):
    model = PerShareFeeModel(0.005, 1.0, 0.01)
    filled, value, charged = 0.0, 0.0, []
    for qty, px in parts:
        order = fake_order(filled, value / filled if filled else None)
        charged.append(model.get_commission(order, Quantity(qty, 0), Price(px, 2), INSTRUMENT).as_double())
        filled, value = filled + qty, value + qty * px
    assert all(c >= 0 for c in charged)
    assert sum(charged) == pytest.approx(expected, abs=1e-9)
    # The sum is the clamp of the order's totals, whatever the split.
    assert sum(charged) == pytest.approx(order_commission(0.005, 1.0, 0.01, filled, value), abs=1e-9)


def test_commission_multiplier_scales_rate_minimum_and_cap():
    doubled = IB.scaled(2)
    assert (doubled.commission_per_share, doubled.commission_minimum, doubled.commission_max_pct) == (0.01, 2.0, 0.02)
    with pytest.raises(ValueError, match="commission_multiplier"):
        IB.scaled(-1)


@pytest.mark.parametrize(
    ("convention", "buy_px", "sell_px"), [("next_open", 10.01, 9.99), ("signal_close", 9.56, 10.44)]
)
def test_slippage_still_applies_to_whole_fills(convention, buy_px, sell_px):
    slipped = BacktestCosts(slippage_prob=1.0)
    result, _ = run_ibs([MIDDLE, WEAK, STRONG, MIDDLE], {"quantity": 400}, convention, costs=slipped, volume=0)
    assert [(f.side, f.quantity, f.price) for f in result.fills] == [(1, 400, buy_px), (-1, 400, sell_px)]
