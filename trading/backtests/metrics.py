"""Performance metrics, round-trip trades and the equity curve, computed from fills and bar closes.

Conventions (also in README.md, "Backtest conventions"):

- Equity is marked to market at every bar close: cash + position x close, commissions paid at their fill.
- Daily returns: the last equity of each UTC day over the previous day's (the first day over the starting
  capital); one return per day that has bars, so days without bars (weekends, holidays) are not zero returns.
- Sharpe, Sortino, CAGR and max drawdown come from empyrical-reloaded, a library used widely for exactly these
  numbers, so our formulas are not a second, private convention:
  - Sharpe = mean(daily) / std(daily, ddof=1) x sqrt(252); risk-free rate 0.
  - Sortino = mean(daily) x 252 / (sqrt(mean(min(daily, 0)^2)) x sqrt(252)): downside deviation against a
    required return of 0, averaged over all days (not only the losing ones).
  - CAGR = (end equity / capital) ^ (252 / number of daily returns) - 1: years counted in trading days.
  - Max drawdown: the deepest fall of equity from its running peak, the starting capital included, over every
    bar close (a negative fraction; 0 when equity never falls).
- Minimum samples: Sharpe and Sortino need MIN_RATIO_DAYS daily returns and CAGR MIN_CAGR_DAYS (a year);
  with fewer, or when undefined (no variation, no downside, equity at or below 0), they are None (shown "—").
- Exposure: the fraction of bar closes at which a position is held.
- A trade is a round trip from flat back to flat; its P&L is net of both sides' commissions. A win is a trade
  whose P&L after commissions is > 0; win rate = wins / closed trades. A position still open at the end is no
  trade (it is in the equity, marked at the last close).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import empyrical  # type: ignore[import-untyped]
import numpy as np

from trading.backtests.engine import Fill

NS_PER_DAY = 86_400 * 1_000_000_000
TRADING_DAYS = 252
MIN_RATIO_DAYS = 63  # about a quarter of trading days: fewer and Sharpe/Sortino are noise
MIN_CAGR_DAYS = TRADING_DAYS  # annualising less than a year extrapolates
MAX_CURVE_POINTS = 5_000


@dataclass(frozen=True)
class BarSeries:
    """The bar closes a run was marked against."""

    ts: np.ndarray  # int64 ns, each bar's ts_init
    close: np.ndarray  # float64


@dataclass(frozen=True)
class DailyReturns:
    """One return per UTC day that has bars, with its date."""

    dates: np.ndarray  # datetime64[D]
    returns: np.ndarray  # float64


def equity_and_position(bars: BarSeries, fills: list[Fill], capital: float) -> tuple[np.ndarray, np.ndarray]:
    """Equity and position at every bar close, given the fills (each counts from the first close at or after it)."""
    n = len(bars.ts)
    if not fills:
        return np.full(n, capital), np.zeros(n)
    fill_ts = np.fromiter((f.ts for f in fills), np.int64, len(fills))
    signed_qty = np.fromiter((f.side * f.quantity for f in fills), np.float64, len(fills))
    cash_flow = np.fromiter((-f.side * f.quantity * f.price - f.commission for f in fills), np.float64, len(fills))
    # How many fills have happened by each bar's close.
    done = np.searchsorted(fill_ts, bars.ts, side="right")
    cum_qty = np.concatenate(([0.0], np.cumsum(signed_qty)))
    cum_cash = np.concatenate(([0.0], np.cumsum(cash_flow)))
    position = cum_qty[done]
    equity = capital + cum_cash[done] + position * bars.close
    return equity, position


def round_trips(fills: list[Fill]) -> list[dict[str, Any]]:
    """Trades as flat-to-flat round trips: times, average prices, quantity, commission, P&L and return."""
    trades: list[dict[str, Any]] = []
    position = 0.0
    current: dict[str, Any] | None = None
    for fill in fills:
        if current is None:
            current = {
                "entry_ts": fill.ts,
                "buy_qty": 0.0,
                "buy_value": 0.0,
                "sell_qty": 0.0,
                "sell_value": 0.0,
                "commission": 0.0,
                "direction": fill.side,
            }
        key = "buy" if fill.side > 0 else "sell"
        current[f"{key}_qty"] += fill.quantity
        current[f"{key}_value"] += fill.quantity * fill.price
        current["commission"] += fill.commission
        position += fill.side * fill.quantity
        if abs(position) < 1e-9:
            position = 0.0
            trades.append(_trade_record(current, fill.ts))
            current = None
    return trades


def _trade_record(t: dict[str, Any], exit_ts: int) -> dict[str, Any]:
    buy_px = t["buy_value"] / t["buy_qty"]
    sell_px = t["sell_value"] / t["sell_qty"]
    long = t["direction"] > 0
    entry_px, exit_px = (buy_px, sell_px) if long else (sell_px, buy_px)
    gross = t["sell_value"] - t["buy_value"]
    return {
        "side": "long" if long else "short",
        "entry_ts": t["entry_ts"],
        "exit_ts": exit_ts,
        "quantity": t["buy_qty"],
        "entry_price": round(entry_px, 6),
        "exit_price": round(exit_px, 6),
        "commission": round(t["commission"], 6),
        "pnl": round(gross - t["commission"], 6),
        "return": (exit_px / entry_px - 1) if long else (entry_px / exit_px - 1),
    }


def compute_metrics(
    bars: BarSeries,
    fills: list[Fill],
    trades: list[dict[str, Any]],
    capital: float,
    equity: np.ndarray,
    position: np.ndarray,
) -> dict[str, Any]:
    """The summary metrics of a run (see the module docstring for definitions and minimum samples)."""
    end_equity = float(equity[-1]) if len(equity) else capital
    daily = daily_returns(bars.ts, equity, capital).returns
    enough_for_ratios = len(daily) >= MIN_RATIO_DAYS
    wins = sum(1 for t in trades if t["pnl"] > 0)
    return {
        "trades": len(trades),
        "fills": len(fills),
        "start_equity": capital,
        "end_equity": round(end_equity, 2),
        "total_return": end_equity / capital - 1,
        "cagr": _finite(empyrical.annual_return(daily, period="daily"))
        if len(daily) >= MIN_CAGR_DAYS and end_equity > 0
        else None,
        "sharpe": _finite(empyrical.sharpe_ratio(daily, risk_free=0, period="daily")) if enough_for_ratios else None,
        "sortino": _finite(empyrical.sortino_ratio(daily, required_return=0, period="daily"))
        if enough_for_ratios
        else None,
        "max_drawdown": max_drawdown(equity, capital),
        "win_rate": wins / len(trades) if trades else None,
        "exposure": float(np.count_nonzero(position) / len(position)) if len(position) else 0.0,
        "commissions": round(sum(f.commission for f in fills), 2),
        "avg_trade_return": float(np.mean([t["return"] for t in trades])) if trades else None,
        "daily_returns": len(daily),
        "open_position": float(position[-1]) if len(position) else 0.0,
    }


def max_drawdown(equity: np.ndarray, capital: float) -> float:
    """The deepest fall from a running peak (starting capital included) over the bar closes, as a fraction <= 0."""
    if len(equity) == 0:
        return 0.0
    marks = np.concatenate(([capital], equity))
    return min(0.0, float(empyrical.max_drawdown(marks[1:] / marks[:-1] - 1)))


def daily_returns(ts: np.ndarray, equity: np.ndarray, capital: float) -> DailyReturns:
    """Returns of the last equity of each UTC day (the first day against the starting capital)."""
    if len(ts) == 0:
        return DailyReturns(np.array([], dtype="datetime64[D]"), np.array([], dtype=np.float64))
    # ts_init of a daily bar is the last nanosecond of its day; of an intraday bar, its end: -1 keeps both in-day.
    day = (ts - 1) // NS_PER_DAY
    last_of_day = np.flatnonzero(np.diff(day, append=day[-1] + 1))
    closes = np.concatenate(([capital], equity[last_of_day]))
    return DailyReturns(day[last_of_day].astype("datetime64[D]"), closes[1:] / closes[:-1] - 1)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def downsample_curve(ts: np.ndarray, equity: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> list[list[Any]]:
    """The equity curve as [[epoch_ms, equity], ...], thinned to at most max_points (always keeping the last)."""
    n = len(ts)
    if n == 0:
        return []
    step = max(1, math.ceil(n / max_points))
    index = np.arange(0, n, step)
    if index[-1] != n - 1:
        index = np.append(index[: max_points - 1], n - 1)
    return [[int(ts[i] // 1_000_000), round(float(equity[i]), 2)] for i in index]
