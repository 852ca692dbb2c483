"""Metrics against formulas written here independently (to 1e-9), and the conventions the module states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trading.backtests.engine import Fill
from trading.backtests.metrics import (
    MIN_CAGR_DAYS,
    MIN_RATIO_DAYS,
    NS_PER_DAY,
    BarSeries,
    compute_metrics,
    daily_returns,
    equity_and_position,
    round_trips,
)

CAPITAL = 100_000.0
DAY0 = 18_262  # 2020-01-01 in days since 1970


def daily_ts(n: int) -> np.ndarray:
    """ts_init of n daily bars on consecutive days: the last nanosecond of each day."""
    return (DAY0 + np.arange(n, dtype=np.int64) + 1) * NS_PER_DAY - 1


def metrics_of(equity: np.ndarray, position: np.ndarray | None = None, trades=None, fills=None) -> dict:
    n = len(equity)
    bars = BarSeries(ts=daily_ts(n), close=np.ones(n))
    position = np.zeros(n) if position is None else position
    return compute_metrics(bars, fills or [], trades or [], CAPITAL, equity, position)


def random_equity(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return CAPITAL * np.cumprod(1 + rng.normal(0.0004, 0.012, n))


def test_sharpe_sortino_cagr_drawdown_match_the_textbook_formulas():
    equity = random_equity(600)
    m = metrics_of(equity)
    r = np.concatenate(([CAPITAL], equity))
    r = r[1:] / r[:-1] - 1
    mean, std = sum(r) / len(r), math.sqrt(sum((x - sum(r) / len(r)) ** 2 for x in r) / (len(r) - 1))
    assert m["sharpe"] == pytest.approx(mean / std * math.sqrt(252), abs=1e-9)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    assert m["sortino"] == pytest.approx(mean * 252 / (downside * math.sqrt(252)), abs=1e-9)
    assert m["cagr"] == pytest.approx((equity[-1] / CAPITAL) ** (252 / len(r)) - 1, abs=1e-9)
    peak, deepest = CAPITAL, 0.0
    for value in equity:
        peak = max(peak, value)
        deepest = min(deepest, value / peak - 1)
    assert m["max_drawdown"] == pytest.approx(deepest, abs=1e-9) and deepest < -0.05
    assert m["total_return"] == pytest.approx(equity[-1] / CAPITAL - 1, abs=1e-12)
    assert m["daily_returns"] == 600


def test_max_drawdown_counts_from_the_starting_capital():
    assert metrics_of(np.array([90_000.0, 120_000.0, 90_000.0, 130_000.0]))["max_drawdown"] == pytest.approx(-0.25)
    assert metrics_of(np.array([90_000.0, 95_000.0]))["max_drawdown"] == pytest.approx(-0.10)
    assert metrics_of(np.array([101_000.0, 102_000.0]))["max_drawdown"] == 0.0


def test_ratios_need_a_minimum_sample():
    short = metrics_of(random_equity(MIN_RATIO_DAYS - 1))
    assert short["sharpe"] is None and short["sortino"] is None and short["cagr"] is None
    enough = metrics_of(random_equity(MIN_RATIO_DAYS))
    assert enough["sharpe"] is not None and enough["sortino"] is not None and enough["cagr"] is None
    assert metrics_of(random_equity(MIN_CAGR_DAYS - 1))["cagr"] is None
    assert metrics_of(random_equity(MIN_CAGR_DAYS))["cagr"] is not None
    flat = metrics_of(np.full(300, CAPITAL))  # no variation and no downside: undefined, not infinite
    assert flat["sharpe"] is None and flat["sortino"] is None and flat["cagr"] == 0.0


def test_exposure_is_the_fraction_of_closes_holding_a_position():
    position = np.array([0, 10, 10, 0, 0, 0, 5, 0, 0, 0], dtype=float)
    assert metrics_of(np.full(10, CAPITAL), position)["exposure"] == pytest.approx(0.3, abs=1e-12)


def fill(day: int, side: int, qty: float, price: float, commission: float) -> Fill:
    return Fill(ts=int(daily_ts(day + 1)[-1]), side=side, quantity=qty, price=price, commission=commission)


def test_a_win_is_pnl_after_commissions_above_zero():
    fills = [
        fill(0, 1, 100, 10.00, 1.0),
        fill(1, -1, 100, 10.01, 1.0),  # gross +1.00, net -1.00: a loss, however small
        fill(2, 1, 100, 10.00, 0.5),
        fill(3, -1, 100, 10.01, 0.5),  # gross +1.00, net 0.00: not a win
        fill(4, 1, 100, 10.00, 1.0),
        fill(5, -1, 100, 10.50, 1.0),  # net +48.00: a win
        fill(6, 1, 100, 10.00, 0.0),
        fill(7, -1, 100, 9.999, 0.0),  # net -0.10: a loss
    ]
    trades = round_trips(fills)
    assert [t["pnl"] for t in trades] == pytest.approx([-1.0, 0.0, 48.0, -0.1])
    m = metrics_of(np.full(8, CAPITAL), trades=trades, fills=fills)
    assert m["win_rate"] == pytest.approx(0.25, abs=1e-12)
    assert m["commissions"] == 5.0


def test_equity_marks_fills_from_the_first_close_at_or_after_them():
    ts = daily_ts(3)
    bars = BarSeries(ts=ts, close=np.array([10.0, 11.0, 12.0]))
    opening = Fill(ts=int(ts[0]) + 1, side=1, quantity=10, price=10.5, commission=1.0)  # next day's open
    equity, position = equity_and_position(bars, [opening], CAPITAL)
    assert list(position) == [0, 10, 10]
    assert list(equity) == pytest.approx([CAPITAL, CAPITAL - 105 - 1 + 110, CAPITAL - 105 - 1 + 120])


def test_daily_returns_come_with_their_dates():
    ts = daily_ts(3)
    daily = daily_returns(ts, np.array([101_000.0, 99_990.0, 102_000.0]), CAPITAL)
    assert [str(d) for d in daily.dates] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    np.testing.assert_allclose(daily.returns, [0.01, 99_990 / 101_000 - 1, 102_000 / 99_990 - 1], atol=1e-12)
    # Intraday bars: the last equity of each day.
    minute = 60 * 1_000_000_000
    intraday = np.array(
        [DAY0 * NS_PER_DAY + 15 * 3600 * 10**9 + i * minute for i in (1, 2)]
        + [(DAY0 + 1) * NS_PER_DAY + 15 * 3600 * 10**9]
    )
    daily = daily_returns(intraday, np.array([100_500.0, 101_000.0, 100_000.0]), CAPITAL)
    assert [str(d) for d in daily.dates] == ["2020-01-01", "2020-01-02"]
    np.testing.assert_allclose(daily.returns, [0.01, 100_000 / 101_000 - 1], atol=1e-12)
