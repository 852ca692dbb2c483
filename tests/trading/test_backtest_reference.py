"""Correctness: the Nautilus backtest of ibs_reversion against an independent plain-pandas reproduction.

Both sides use the same real data (data/daily/QQQ.csv, 2010-2018) and the same fill convention:

- next_open (the default, as live): a signal on a bar's close is a MARKET order that fills at the next bar's
  open; the position exists from that open, before the next bar's own signal is judged. A signal on the last
  bar never fills, and a position open at the end stays open (marked to the last close, no trade).
- signal_close: the order fills at the signal bar's close; the stop flattens at the last close.

Prices are rounded half up to the 0.01 tick on both sides (the catalog stores them so). The two must agree trade
for trade: dates, prices and quantities; with commissions the account differs only by float rounding of money.
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
CONVENTIONS = ("next_open", "signal_close")


def reference_ibs_trades(
    frame: pd.DataFrame, buy: float, sell: float, convention: str, notional: float | None = None, quantity: int = 100
) -> tuple[pd.DataFrame, dict | None]:
    """IBS rules in pandas: enter when IBS < buy; exit on a close above the prior high or IBS > sell. Returns
    the closed trades and the position still open at the end (None when flat)."""
    rng = frame["high"] - frame["low"]
    ibs = ((frame["close"] - frame["low"]) / rng).where(rng > 0)  # zero-range bar: NaN, no IBS signal
    prior_high = frame["high"].shift(1)
    trades, entry, pending = [], None, None  # pending: ("buy", shares) or ("sell",) decided on the previous bar
    rows = zip(frame.index, frame["open"], frame["close"], ibs, prior_high, strict=True)
    for day, open_, close, bar_ibs, prev_high in rows:
        if pending is not None:  # next_open: yesterday's decision fills at today's open
            if pending[0] == "buy":
                entry = (day, open_, pending[1])
            else:
                trades.append((entry[0], day, entry[1], open_, entry[2]))
                entry = None
            pending = None
        if entry is None:
            if bar_ibs < buy:  # NaN compares False
                shares = quantity if notional is None else int(np.floor(notional / close))  # sized at the close
                if convention == "next_open":
                    pending = ("buy", shares)
                else:
                    entry = (day, close, shares)
        elif close > prev_high or bar_ibs > sell:
            if convention == "next_open":
                pending = ("sell",)
            else:
                trades.append((entry[0], day, entry[1], close, entry[2]))
                entry = None
    still_open = None
    if entry is not None and convention == "signal_close":  # on_stop closes the position at the last close
        trades.append((entry[0], frame.index[-1], entry[1], frame["close"].iloc[-1], entry[2]))
    elif entry is not None:  # next_open: no next bar, the stop's order never fills
        still_open = {"entry": entry[0], "entry_price": entry[1], "quantity": entry[2]}
    out = pd.DataFrame(trades, columns=["entry", "exit", "entry_price", "exit_price", "quantity"])
    out["return"] = out["exit_price"] / out["entry_price"] - 1
    return out, still_open


@pytest.fixture(scope="module")
def qqq_frame() -> pd.DataFrame:
    frame = pd.read_csv(QQQ_CSV, parse_dates=["date"], index_col="date").loc[START:END]
    prices = frame[["open", "high", "low", "close"]]
    # The catalog's documented rounding: half up to the 0.01 tick (136.925 -> 136.93); 1e-7 absorbs float error.
    return np.floor(prices * 100 + 0.5 + 1e-7) / 100


def run_nautilus(costs: BacktestCosts, params: dict, convention: str) -> tuple[pd.DataFrame, dict]:
    prepared = prepare_backtest(
        "ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", params, START, END, costs, fill_convention=convention
    )
    outcome = execute_backtest(prepared)
    assert outcome.fill_convention == convention
    trades = pd.DataFrame(outcome.trades)
    for column in ("entry_time", "exit_time"):
        trades[column] = pd.to_datetime(trades[column]).dt.tz_localize(None).dt.normalize()
    return trades, outcome.metrics


def assert_same_trades(trades: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert len(trades) == len(reference)
    assert list(trades["entry_time"]) == list(reference["entry"])
    assert list(trades["exit_time"]) == list(reference["exit"])
    # Same prices to the cent and the same share counts, so returns agree to float noise.
    np.testing.assert_allclose(trades["entry_price"], reference["entry_price"], atol=1e-9)
    np.testing.assert_allclose(trades["exit_price"], reference["exit_price"], atol=1e-9)
    np.testing.assert_array_equal(trades["quantity"], reference["quantity"])
    np.testing.assert_allclose(trades["return"], reference["return"], atol=1e-9)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_same_trades_as_the_pandas_reference_without_costs(qqq_catalog, qqq_frame, convention):
    free = BacktestCosts(commission_per_share=0, commission_minimum=0)
    trades, metrics = run_nautilus(free, {"buy_threshold": BUY, "sell_threshold": SELL, "quantity": 100}, convention)
    reference, still_open = reference_ibs_trades(qqq_frame, BUY, SELL, convention)

    assert len(reference) > 150  # a real sample, not a handful
    assert len(trades) == metrics["trades"]
    assert_same_trades(trades, reference)
    # Fixed 100 shares, no costs: the account's P&L is the sum of per-trade price differences (plus the open
    # position marked to the last close).
    expected_pnl = 100 * (reference["exit_price"] - reference["entry_price"]).sum()
    if still_open is not None:
        expected_pnl += still_open["quantity"] * (qqq_frame["close"].iloc[-1] - still_open["entry_price"])
    assert metrics["end_equity"] - metrics["start_equity"] == pytest.approx(expected_pnl, abs=0.01)
    assert metrics["open_position"] == (0 if still_open is None else still_open["quantity"])


def test_the_conventions_trade_at_different_prices(qqq_catalog, qqq_frame):
    free = BacktestCosts(commission_per_share=0, commission_minimum=0)
    params = {"buy_threshold": BUY, "sell_threshold": SELL, "quantity": 100}
    next_open, _ = run_nautilus(free, params, "next_open")
    signal_close, _ = run_nautilus(free, params, "signal_close")
    # Each next_open entry is the day after the signal_close entry of the same signal, at that day's open.
    first_open, first_close = next_open.iloc[0], signal_close.iloc[0]
    assert first_open["entry_time"] == qqq_frame.index[qqq_frame.index.get_loc(first_close["entry_time"]) + 1]
    assert first_open["entry_price"] == qqq_frame.loc[first_open["entry_time"], "open"]
    assert first_close["entry_price"] == qqq_frame.loc[first_close["entry_time"], "close"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_returns_with_commissions_match_the_reference_account(qqq_catalog, qqq_frame, convention):
    costs = BacktestCosts(capital=100_000, commission_per_share=0.005, commission_minimum=1.0)
    params = {"buy_threshold": BUY, "sell_threshold": SELL, "notional": 10_000}
    trades, metrics = run_nautilus(costs, params, convention)
    reference, still_open = reference_ibs_trades(qqq_frame, BUY, SELL, convention, notional=10_000)
    assert_same_trades(trades, reference)

    # Reference account: floor(10,000 / signal close) shares, IB fixed commission per order (max(1, 0.005/share)).
    shares = reference["quantity"]
    commission = 2 * np.maximum(1.0, 0.005 * shares)
    reference_pnl = (shares * (reference["exit_price"] - reference["entry_price"]) - commission).sum()
    total_commission = commission.sum()
    if still_open is not None:
        entry_commission = max(1.0, 0.005 * still_open["quantity"])
        reference_pnl += still_open["quantity"] * (qqq_frame["close"].iloc[-1] - still_open["entry_price"])
        reference_pnl -= entry_commission
        total_commission += entry_commission
    np.testing.assert_allclose(trades["commission"], commission, atol=1e-9)
    # Tolerance: the two accounts differ only by float rounding of money amounts (Nautilus keeps cents).
    assert metrics["end_equity"] - metrics["start_equity"] == pytest.approx(reference_pnl, abs=0.05)
    assert metrics["commissions"] == pytest.approx(total_commission, abs=0.01)


def reference_sma_trades(frame: pd.DataFrame, fast: int, slow: int, quantity: int = 100) -> pd.DataFrame:
    """SMA cross in pandas, next_open: buy the cross of the fast average above the slow one, sell the cross back."""
    fast_ma, slow_ma = frame["close"].rolling(fast).mean(), frame["close"].rolling(slow).mean()
    trades, entry, pending, was_above = [], None, None, None
    for i, (day, open_) in enumerate(zip(frame.index, frame["open"], strict=True)):
        if pending == "buy":
            entry, pending = (day, open_), None
        elif pending == "sell":
            trades.append((entry[0], day, entry[1], open_, quantity))
            entry, pending = None, None
        if i < slow - 1:
            continue
        above = fast_ma.iloc[i] > slow_ma.iloc[i]
        if was_above is not None and above != was_above:
            pending = "buy" if above and entry is None else "sell" if not above and entry is not None else None
        was_above = above
    out = pd.DataFrame(trades, columns=["entry", "exit", "entry_price", "exit_price", "quantity"])
    out["return"] = out["exit_price"] / out["entry_price"] - 1
    return out


def test_sma_cross_matches_the_pandas_reference(qqq_catalog, qqq_frame):
    free = BacktestCosts(commission_per_share=0, commission_minimum=0)
    prepared = prepare_backtest(
        "sma_cross",
        "QQQ.NASDAQ",
        "1-DAY-LAST",
        {"fast_period": 10, "slow_period": 30, "quantity": 100},
        START,
        END,
        free,
    )
    outcome = execute_backtest(prepared)
    trades = pd.DataFrame(outcome.trades)
    for column in ("entry_time", "exit_time"):
        trades[column] = pd.to_datetime(trades[column]).dt.tz_localize(None).dt.normalize()
    reference = reference_sma_trades(qqq_frame, 10, 30)
    assert len(reference) > 40
    assert_same_trades(trades, reference)
