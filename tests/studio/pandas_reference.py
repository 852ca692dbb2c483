"""An independent reference for the Studio's rules: the bundled QQQ bars read with pandas, every indicator the spec
offers computed from its textbook definition (matched to the conventions documented in studio.spec.INDICATORS),
and a plain loop that trades a spec's rules the way the interpreter is documented to (next-open fills).

Nothing here imports studio.rules or studio.interpreter: the tests compare those against this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

QQQ_CSV = Path(__file__).resolve().parents[2] / "data" / "daily" / "QQQ.csv"
DAY_NS = 86_400 * 1_000_000_000
PRICES = ("open", "high", "low", "close")


def _cents(text: str) -> float:
    """A CSV price rounded half up to the instrument's 0.01 tick, as the importer stores it."""
    return float(Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@cache
def _qqq() -> pd.DataFrame:
    raw = pd.read_csv(QQQ_CSV, dtype=str)
    frame = pd.DataFrame({name: raw[name].map(_cents) for name in PRICES})
    frame["volume"] = raw["volume"].astype(float)
    start = pd.to_datetime(raw["date"], format="%Y-%m-%d").dt.tz_localize("UTC").astype("int64")
    frame["ts_event"] = start
    frame["ts_init"] = start + DAY_NS - 1  # a daily bar is stamped at the end of its day, as the IB adapter does
    frame.index = pd.DatetimeIndex(raw["date"], name="date")
    return frame


def qqq() -> pd.DataFrame:
    """The 5,031 QQQ daily bars: open, high, low, close (cents), volume, ts_event and ts_init (ns)."""
    return _qqq().copy()


# -- indicators, from their definitions ------------------------------------------------------------------------------


def sma(x: pd.Series, n: int) -> pd.Series:
    """Mean of the last n values (NaN before n values)."""
    return x.rolling(n).mean()


def ema(x: pd.Series, n: int) -> pd.Series:
    """EMA with alpha 2/(n+1), seeded with the first value: y0 = x0, y = a*x + (1-a)*y_prev."""
    return x.ewm(alpha=2.0 / (n + 1.0), adjust=False).mean()


def rsi(close: pd.Series, n: int) -> pd.Series:
    """RSI 0-100 from EMAs (alpha 2/(n+1)) of gains and losses, the first bar counting as a change of 0."""
    change = close.diff().fillna(0.0)
    gain = ema(change.clip(lower=0.0), n)
    loss = ema((-change).clip(lower=0.0), n)
    return (100.0 - 100.0 / (1.0 + gain / loss)).where(loss != 0.0, 100.0)


def typical(df: pd.DataFrame) -> pd.Series:
    return (df["high"] + df["low"] + df["close"]) / 3.0


def bbands(df: pd.DataFrame, n: int, k: float) -> pd.DataFrame:
    """SMA of the typical price +- k population standard deviations of it over n bars."""
    tp = typical(df)
    middle = tp.rolling(n).mean()
    std = tp.rolling(n).std(ddof=0)
    return pd.DataFrame({"upper": middle + k * std, "middle": middle, "lower": middle - k * std})


def true_range(df: pd.DataFrame) -> pd.Series:
    """max(high, previous close) - min(low, previous close); NaN on the first bar, which has no previous close."""
    previous = df["close"].shift(1)
    return np.maximum(df["high"], previous) - np.minimum(df["low"], previous)


def atr(df: pd.DataFrame, n: int) -> pd.Series:
    """Simple average of the true range over n bars (first defined on bar n, 0-based)."""
    return true_range(df).rolling(n).mean()


def macd(close: pd.Series, fast: int, slow: int, signal: int) -> pd.DataFrame:
    """EMA(fast) - EMA(slow); its signal line an EMA(signal) started on the bar the slow EMA has `slow` values."""
    value = ema(close, fast) - ema(close, slow)
    line = value.copy()
    line.iloc[: slow - 1] = np.nan  # the MACD is first defined with slow_period closes; the signal EMA starts there
    sig = ema(line.dropna(), signal).reindex(close.index)
    return pd.DataFrame({"value": value, "signal": sig, "histogram": value - sig})


def donchian(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """Highest high and lowest low of the last n bars, including this one, and their midpoint."""
    upper = df["high"].rolling(n).max()
    lower = df["low"].rolling(n).min()
    return pd.DataFrame({"upper": upper, "middle": (upper + lower) / 2.0, "lower": lower})


def roc(close: pd.Series, n: int) -> pd.Series:
    """Percent change of the close over n bars."""
    return (close - close.shift(n)) / close.shift(n) * 100.0


def stoch(df: pd.DataFrame, k_period: int, d_period: int) -> pd.DataFrame:
    """%K: where the close sits in the k_period high-low range (0-100); %D: 100 * sum(close - LL) / sum(HH - LL)
    over d_period bars (Nautilus's ratio method)."""
    highest = df["high"].rolling(k_period).max()
    lowest = df["low"].rolling(k_period).min()
    above = df["close"] - lowest
    span = highest - lowest
    k = 100.0 * above / span
    d = 100.0 * above.rolling(d_period).sum() / span.rolling(d_period).sum()
    return pd.DataFrame({"k": k, "d": d})


def ibs(df: pd.DataFrame) -> pd.Series:
    """Internal bar strength (close - low) / (high - low); NaN on a zero-range bar."""
    span = df["high"] - df["low"]
    return ((df["close"] - df["low"]) / span).where(span > 0)


# -- conditions -------------------------------------------------------------------------------------------------------


def crosses_above(a: pd.Series, b: pd.Series | float) -> pd.Series:
    """a > b now and a <= b on the previous bar (False where either side is undefined)."""
    b = _series(b, a.index)
    return (a > b) & (a.shift(1) <= b.shift(1))


def crosses_below(a: pd.Series, b: pd.Series | float) -> pd.Series:
    b = _series(b, a.index)
    return (a < b) & (a.shift(1) >= b.shift(1))


def between(a: pd.Series, low: pd.Series | float, high: pd.Series | float) -> pd.Series:
    return (a >= low) & (a <= high)


def _series(value: pd.Series | float, index: pd.Index) -> pd.Series:
    return value if isinstance(value, pd.Series) else pd.Series(float(value), index=index)


# -- trading the rules ------------------------------------------------------------------------------------------------


@dataclass
class Decision:
    """An order the rules send on the close of bar `bar` (0-based), to fill at the next bar's open."""

    bar: int
    side: str  # BUY / SELL
    quantity: float
    reason: str  # entry, or the exit's reason


@dataclass
class Simulation:
    decisions: list[Decision] = field(default_factory=list)

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.decisions:
            counts[d.reason] = counts.get(d.reason, 0) + 1
        return counts

    @property
    def entries(self) -> int:
        return sum(1 for d in self.decisions if d.reason == "entry")


def simulate(
    df: pd.DataFrame,
    entry: pd.Series,
    exit_rule: pd.Series | None = None,
    *,
    warmup: int,
    direction: str = "long",
    stop_loss_pct: float | None = None,
    take_profit_pct: float | None = None,
    trailing_stop_pct: float | None = None,
    max_bars_held: int | None = None,
    notional: float = 10_000.0,
) -> Simulation:
    """Trade the rules bar by bar: decide on a bar's close once `warmup` bars have closed, fill at the next open.

    In a position the exits are checked (percent moves of the close from the entry fill price, and for the trailing
    stop from the best close since the fill, in the position's favour; bars held counts closes in the position);
    flat, the entry. An order decided on the last bar never fills.
    """
    opens, closes = df["open"].to_numpy(), df["close"].to_numpy()
    enter = entry.fillna(False).to_numpy(dtype=bool)
    leave = None if exit_rule is None else exit_rule.fillna(False).to_numpy(dtype=bool)
    short = direction == "short"
    sign = -1.0 if short else 1.0
    sim = Simulation()
    position = 0.0  # shares held, signed
    pending: Decision | None = None
    entry_price = best = 0.0
    held = 0
    for t in range(len(df)):
        if pending is not None:  # the order decided on the previous close fills at this bar's open
            if pending.reason == "entry":
                position = sign * pending.quantity
                entry_price, best, held = opens[t], np.nan, 0
            else:
                position = 0.0
            pending = None
        close = closes[t]
        if position:
            held += 1
            best = close if np.isnan(best) else (min(best, close) if short else max(best, close))
        if t + 1 < warmup:
            continue
        if position:
            from_entry = sign * (close - entry_price) / entry_price * 100
            from_best = sign * (close - best) / best * 100
            reason = ""
            if stop_loss_pct is not None and from_entry <= -stop_loss_pct:
                reason = "stop_loss"
            elif take_profit_pct is not None and from_entry >= take_profit_pct:
                reason = "take_profit"
            elif trailing_stop_pct is not None and from_best <= -trailing_stop_pct:
                reason = "trailing_stop"
            elif max_bars_held is not None and held >= max_bars_held:
                reason = "max_bars_held"
            elif leave is not None and leave[t]:
                reason = "exit_condition"
            if reason:
                pending = Decision(t, "BUY" if short else "SELL", abs(position), reason)
        elif enter[t]:
            shares = float(np.floor(notional / close))
            pending = Decision(t, "SELL" if short else "BUY", shares, "entry")
        if pending is not None:
            sim.decisions.append(pending)
    return sim
