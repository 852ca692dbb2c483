"""Strategy behaviour in a real Nautilus BacktestEngine on small hand-made bar series, under both fill conventions:
next_open (the default) fills a bar's decision at the next bar's open, signal_close at the signal bar's close."""

from __future__ import annotations

import pandas as pd
import pytest

from trading.backtests.engine import BacktestCosts, run_engine
from trading.marketdata.catalog import assumed_us_equity, make_bar
from trading.strategies.params import bar_type_for, build_config, load_strategy

FREE = BacktestCosts(commission_per_share=0, commission_minimum=0)
INSTRUMENT = assumed_us_equity("TEST.NASDAQ")
BAR_TYPE = bar_type_for("TEST.NASDAQ", "1-DAY-LAST")


def daily_bars(rows: list[tuple[float, float, float, float]]):
    """Bars on consecutive days from (open, high, low, close) tuples."""
    first = pd.Timestamp("2020-01-01", tz="UTC")
    return [
        make_bar(BAR_TYPE, INSTRUMENT, (first + pd.Timedelta(days=i)).value, o, h, lo, c, 1000)
        for i, (o, h, lo, c) in enumerate(rows)
    ]


def run(strategy: str, params: dict, rows, convention: str = "signal_close"):
    strategy_class, _ = load_strategy(strategy)
    config = build_config(strategy, "TEST.NASDAQ", "1-DAY-LAST", params)
    bars = daily_bars(rows)
    result = run_engine(strategy_class, config, INSTRUMENT, bars, FREE, fill_convention=convention)
    return result, bars


def day_of(ts: int) -> int:
    return (pd.Timestamp(ts, tz="UTC") - pd.Timestamp("2020-01-01", tz="UTC")).days


WEAK = (10.0, 10.5, 9.5, 9.55)  # IBS 0.05: an entry signal
MIDDLE = (10.0, 10.5, 9.5, 10.0)  # IBS 0.5: no signal, and not above a prior high of 10.5
STRONG = (10.0, 10.5, 9.5, 10.45)  # IBS 0.95: an exit signal
FLAT = (10.0, 10.0, 10.0, 10.0)  # zero range: no IBS at all


@pytest.mark.parametrize(
    ("convention", "expected"),
    [("signal_close", [(1, 1, 9.55), (3, -1, 10.45)]), ("next_open", [(2, 1, 10.0), (4, -1, 10.0)])],
)
def test_ibs_enters_on_weak_close_and_exits_on_strong_close(convention, expected):
    result, _ = run("ibs_reversion", {"quantity": 10}, [MIDDLE, WEAK, MIDDLE, STRONG, MIDDLE], convention)
    assert [(day_of(f.ts), f.side, f.price) for f in result.fills] == expected


@pytest.mark.parametrize(
    ("convention", "expected"),
    [("signal_close", [(0, 1, 9.55), (1, -1, 10.6)]), ("next_open", [(1, 1, 10.6), (2, -1, 10.0)])],
)
def test_ibs_exits_on_close_above_prior_high(convention, expected):
    above_prior_high = (10.6, 11.2, 10.0, 10.6)  # IBS 0.5 < sell_threshold, but close 10.6 > prior high 10.5
    result, _ = run("ibs_reversion", {"quantity": 10}, [WEAK, above_prior_high, MIDDLE], convention)
    assert [(day_of(f.ts), f.side, f.price) for f in result.fills] == expected


def test_zero_range_bars_never_signal_and_never_fail():
    result, _ = run("ibs_reversion", {"quantity": 10, "buy_threshold": 1.0}, [FLAT] * 20)
    assert result.fills == []
    # Zero-range bars while long: no IBS exit; the position is held until stop closes it at the last close.
    result, _ = run("ibs_reversion", {"quantity": 10}, [WEAK, FLAT, FLAT, FLAT])
    assert [(day_of(f.ts), f.side) for f in result.fills] == [(0, 1), (3, -1)]
    # next_open: the stop's closing order has no next bar to fill on; the position stays open.
    result, _ = run("ibs_reversion", {"quantity": 10}, [WEAK, FLAT, FLAT, FLAT], "next_open")
    assert [(day_of(f.ts), f.side) for f in result.fills] == [(1, 1)]
    assert result.unfilled_at_end == 1


def test_notional_sizing_uses_the_signal_close():
    result, _ = run("ibs_reversion", {"notional": 1000}, [MIDDLE, WEAK, STRONG])
    assert result.fills[0].quantity == 104  # floor(1000 / 9.55)


def test_notional_too_small_for_one_share_places_nothing():
    result, _ = run("ibs_reversion", {"notional": 5}, [WEAK, WEAK, STRONG])
    assert result.orders == 0


@pytest.mark.parametrize(("close_on_stop", "fills"), [(True, 2), (False, 1)])
def test_close_positions_on_stop_flag(close_on_stop, fills):
    result, _ = run("ibs_reversion", {"quantity": 10, "close_positions_on_stop": close_on_stop}, [MIDDLE, WEAK, MIDDLE])
    assert len(result.fills) == fills
    if close_on_stop:
        assert (day_of(result.fills[-1].ts), result.fills[-1].side, result.fills[-1].price) == (2, -1, 10.0)


@pytest.mark.parametrize(
    ("convention", "expected"), [("signal_close", [(5, 1), (10, -1)]), ("next_open", [(6, 1), (11, -1)])]
)
def test_sma_cross_buys_the_cross_up_and_sells_the_cross_down(convention, expected):
    closes = [10.0] * 5 + [11.0, 12.0, 13.0, 14.0] + [13.0, 11.0, 9.0, 8.0, 7.0]
    rows = [(c, c + 0.5, c - 0.5, c) for c in closes]
    result, _ = run("sma_cross", {"fast_period": 2, "slow_period": 4, "quantity": 5}, rows, convention)
    # Day 5: fast (10.5) > slow (10.25) for the first time; day 10: fast (12) < slow (12.75).
    assert [(day_of(f.ts), f.side) for f in result.fills] == expected


@pytest.mark.parametrize("convention", ["signal_close", "next_open"])
def test_commissions_follow_ib_fixed_pricing(convention):
    strategy_class, _ = load_strategy("ibs_reversion")
    config = build_config("ibs_reversion", "TEST.NASDAQ", "1-DAY-LAST", {"quantity": 1000})
    bars = daily_bars([WEAK, STRONG, MIDDLE])
    result = run_engine(strategy_class, config, INSTRUMENT, bars, BacktestCosts(), fill_convention=convention)
    # 1000 shares x 0.005 = 5.00 per order (above the 1.00 minimum, below 1% of ~10,000), whole at the price.
    buys = [f for f in result.fills if f.side > 0]
    sells = [f for f in result.fills if f.side < 0]
    assert sum(f.commission for f in buys) == pytest.approx(5.0)
    assert sum(f.commission for f in sells) == pytest.approx(5.0)
    assert sum(f.quantity for f in buys) == sum(f.quantity for f in sells) == 1000
    cash_flow = sum(-f.side * f.quantity * f.price for f in result.fills)
    assert result.final_balance == pytest.approx(100_000 + cash_flow - 10.0)
