"""Correctness: the Nautilus backtest of ibs_reversion against an independent plain-pandas reproduction.

Both sides use the same real data (data/daily/QQQ.csv, 2010-2018) and the same fill rule: Nautilus replays each
bar as open, high, low, close, so a MARKET order sent from on_bar fills at that bar's close; the reference
therefore trades at the signal bar's close too. Prices are rounded half up to the 0.01 tick on both sides (the catalog
stores them so). With zero costs the per-trade returns must agree to floating-point noise; with commissions the
compounded return differs only by commission drag, which the reference models exactly per order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading.backtests.engine import BacktestCosts
from trading.services import execute_backtest, prepare_backtest

QQQ_CSV = Path(__file__).resolve().parents[2] / "data" / "daily" / "QQQ.csv"

START, END = "2010-01-01", "2018-12-31"
BUY, SELL = 0.15, 0.8


def reference_ibs_trades(frame: pd.DataFrame, buy: float, sell: float) -> pd.DataFrame:
    """IBS rules in pandas: enter at the close when IBS < buy; exit at a close above the prior high or IBS > sell."""
    rng = frame["high"] - frame["low"]
    ibs = ((frame["close"] - frame["low"]) / rng).where(rng > 0)  # zero-range bar: NaN, no IBS signal
    prior_high = frame["high"].shift(1)
    trades, entry = [], None
    for day, close, bar_ibs, prev_high in zip(frame.index, frame["close"], ibs, prior_high, strict=True):
        if entry is None:
            if bar_ibs < buy:  # NaN compares False
                entry = (day, close)
        elif close > prev_high or bar_ibs > sell:
            trades.append((entry[0], day, entry[1], close))
            entry = None
    if entry is not None:  # on_stop closes the open position at the last close
        trades.append((entry[0], frame.index[-1], entry[1], frame["close"].iloc[-1]))
    out = pd.DataFrame(trades, columns=["entry", "exit", "entry_price", "exit_price"])
    out["return"] = out["exit_price"] / out["entry_price"] - 1
    return out


@pytest.fixture(scope="module")
def qqq_frame() -> pd.DataFrame:
    frame = pd.read_csv(QQQ_CSV, parse_dates=["date"], index_col="date").loc[START:END]
    prices = frame[["open", "high", "low", "close"]]
    # The catalog's documented rounding: half up to the 0.01 tick (136.925 -> 136.93); 1e-7 absorbs float error.
    return np.floor(prices * 100 + 0.5 + 1e-7) / 100


def run_nautilus(costs: BacktestCosts, params: dict) -> tuple[pd.DataFrame, dict]:
    prepared = prepare_backtest("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", params, START, END, costs)
    outcome = execute_backtest(prepared)
    trades = pd.DataFrame(outcome.trades)
    for column in ("entry_time", "exit_time"):
        trades[column] = pd.to_datetime(trades[column]).dt.tz_localize(None).dt.normalize()
    return trades, outcome.metrics


def test_same_trades_as_the_pandas_reference_without_costs(qqq_catalog, qqq_frame):
    free = BacktestCosts(commission_per_share=0, commission_minimum=0)
    trades, metrics = run_nautilus(free, {"buy_threshold": BUY, "sell_threshold": SELL, "quantity": 100})
    reference = reference_ibs_trades(qqq_frame, BUY, SELL)

    assert len(trades) == len(reference) == metrics["trades"]
    assert len(reference) > 150  # a real sample, not a handful
    assert list(trades["entry_time"]) == list(reference["entry"])
    assert list(trades["exit_time"]) == list(reference["exit"])
    # Same prices to the cent, so returns agree to float noise.
    np.testing.assert_allclose(trades["entry_price"], reference["entry_price"], atol=1e-9)
    np.testing.assert_allclose(trades["exit_price"], reference["exit_price"], atol=1e-9)
    np.testing.assert_allclose(trades["return"], reference["return"], atol=1e-9)
    # Fixed 100 shares, no costs: the account's P&L is the sum of per-trade price differences.
    expected_pnl = 100 * (reference["exit_price"] - reference["entry_price"]).sum()
    assert metrics["end_equity"] - metrics["start_equity"] == pytest.approx(expected_pnl, abs=0.01)


def test_returns_with_commissions_within_commission_drag(qqq_catalog, qqq_frame):
    costs = BacktestCosts(capital=100_000, commission_per_share=0.005, commission_minimum=1.0)
    trades, metrics = run_nautilus(costs, {"buy_threshold": BUY, "sell_threshold": SELL, "notional": 10_000})
    reference = reference_ibs_trades(qqq_frame, BUY, SELL)
    assert list(trades["entry_time"]) == list(reference["entry"])
    assert list(trades["exit_time"]) == list(reference["exit"])

    # Reference account: floor(10,000 / entry close) shares, IB fixed commission per order (max(1, 0.005/share)).
    shares = np.floor(10_000 / reference["entry_price"])
    commission = 2 * np.maximum(1.0, 0.005 * shares)
    reference_pnl = (shares * (reference["exit_price"] - reference["entry_price"]) - commission).sum()
    reference_return = reference_pnl / 100_000
    # Tolerance: the two accounts differ only by float rounding of money amounts (Nautilus keeps cents),
    # a few cents over ~230 trades; 0.01 percentage point is far above that and far below one trade's P&L.
    assert metrics["total_return"] == pytest.approx(reference_return, abs=1e-4)
    assert metrics["commissions"] == pytest.approx(commission.sum(), abs=0.05)
    # Without the commission drag the returns would differ by exactly the commissions paid.
    gross_reference = (shares * (reference["exit_price"] - reference["entry_price"])).sum() / 100_000
    assert gross_reference - metrics["total_return"] == pytest.approx(commission.sum() / 100_000, abs=1e-4)
