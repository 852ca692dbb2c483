"""Simulated market: a clock that can run fast, daily history and a seeded live price path.

Time model
    The simulated market trades continuously on weekdays (UTC) and skips weekends; it has no
    sessions or holidays. Internally time is counted in *weekday seconds* since Monday
    1970-01-05 00:00 UTC, so bars of any size stay aligned to wall-clock boundaries.
    ``speed`` multiplies the passage of time (``speed=0`` freezes the clock: only
    :meth:`SimClock.advance` moves it, which makes tests deterministic).

Prices
    * Daily history for QQQ, SPY and GOOG is the **real** OHLCV from ``data/daily/*.csv`` (see
      ``data/README.md`` for provenance and rescaling), re-dated so the last real bar falls on
      the weekday before the simulator's first day: prices and volumes are untouched, only the
      calendar is shifted.
    * Symbols without a CSV (AAPL, MSFT, IWM) get a **synthetic** seeded daily history.
    * From 00:00 UTC of the first day on, every symbol follows a **synthetic** seeded geometric
      random walk in 5-second steps that starts at the last daily close, with the volatility of
      the daily history. Same seed -> same sequence of prices.
"""

from __future__ import annotations

import csv
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

import numpy as np

from .contracts import CONTRACTS

STEP = 5  # seconds per path step: the real-time bar size
DAY = 86400
WEEK_W = 5 * DAY  # weekday seconds in a week
REF_MONDAY = 4 * DAY  # 1970-01-05 00:00 UTC in epoch seconds
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "daily"
# Starting prices for the synthetic daily histories (approximate late-2026-agnostic levels).
SYNTHETIC_BASE = {"AAPL": 190.0, "MSFT": 410.0, "IWM": 220.0}

# (open, high, low, close, volume, wap, count) of one bar of the live path.
Bar = tuple[float, float, float, float, float, float, int]
# A daily bar with its date, and an intraday bar with its start in epoch seconds.
DailyRow = tuple[date, float, float, float, float, float, float, int]
IntradayRow = tuple[int, float, float, float, float, float, float, int]


def epoch_to_w(t: float) -> float:
    """Epoch seconds -> weekday seconds (weekend instants map to the following Monday 00:00)."""
    rel = t - REF_MONDAY
    week, r = divmod(rel, 7 * DAY)
    return week * WEEK_W + min(r, WEEK_W)


def w_to_epoch(w: float) -> float:
    """Weekday seconds -> epoch seconds."""
    week, r = divmod(w, WEEK_W)
    return REF_MONDAY + week * 7 * DAY + r


def w_to_date(w: float) -> date:
    """The UTC calendar date of a weekday-seconds instant."""
    return datetime.fromtimestamp(w_to_epoch(w), UTC).date()


def date_to_w(d: date) -> float:
    """Weekday seconds at 00:00 UTC of a weekday."""
    return epoch_to_w(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


class SimClock:
    """Simulated time: wall time times ``speed``, plus manual advances; weekends skipped."""

    def __init__(self, speed: float = 1.0, start: float | None = None):
        start = time.time() if start is None else start
        self.origin_w = math.floor(epoch_to_w(start) / STEP) * STEP
        self.speed = float(speed)
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def elapsed(self) -> float:
        """Market seconds since the clock started."""
        return (time.monotonic() - self._mono0) * self.speed + self._offset

    def now_w(self) -> float:
        """Current time in weekday seconds."""
        return self.origin_w + self.elapsed()

    def now(self) -> float:
        """Current simulated epoch seconds."""
        return w_to_epoch(self.now_w())

    def advance(self, seconds: float) -> None:
        """Move simulated time forward at once."""
        self._offset += float(seconds)

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on, without a jump."""
        self._offset = self.elapsed()
        self._mono0 = time.monotonic()
        self.speed = float(speed)


@dataclass
class DailyBar:
    day: date
    open: float
    high: float
    low: float
    close: float
    volume: float
    synthetic: bool


def _stable_seed(seed: int, symbol: str) -> list[int]:
    return [seed, int.from_bytes(hashlib.sha256(symbol.encode()).digest()[:4], "big")]


def load_daily_csv(path: Path) -> list[tuple[float, float, float, float, float]]:
    """Read ``date,open,high,low,close,volume`` rows (dates dropped: they are re-dated)."""
    rows = []
    with path.open() as fh:
        for row in csv.DictReader(fh):
            rows.append(
                (float(row["open"]), float(row["high"]), float(row["low"]), float(row["close"]), float(row["volume"]))
            )
    return rows


def synthetic_daily(symbol: str, seed: int, n: int = 1260) -> list[tuple[float, float, float, float, float]]:
    """A seeded synthetic daily OHLCV history for a symbol with no bundled data."""
    rng = np.random.default_rng(_stable_seed(seed, "daily:" + symbol))
    rets = rng.normal(0.0003, 0.017, n)
    closes = SYNTHETIC_BASE.get(symbol, 100.0) * np.exp(np.cumsum(rets) - rets.sum())
    rows = []
    prev = closes[0] / math.exp(rets[0])
    for c in closes:
        o = prev * math.exp(rng.normal(0, 0.004))
        hi = max(o, c) * (1 + abs(rng.normal(0, 0.006)))
        lo = min(o, c) * (1 - abs(rng.normal(0, 0.006)))
        vol = float(int(rng.uniform(0.6, 1.4) * 300000))
        rows.append((round(o, 2), round(hi, 2), round(lo, 2), round(float(c), 2), vol))
        prev = c
    return rows


class SymbolPath:
    """The seeded 5-second price path of one symbol, generated lazily both ways from index 0.

    Index 0 is 00:00 UTC of the simulator's first day; negative indices (intraday history before the start) come
    from a second seeded walk going backwards from the same price, at most ``MAX_BACK`` steps.
    """

    CHUNK = 4096
    MAX_BACK = 60 * DAY // STEP  # 60 days of intraday history before the start

    def __init__(
        self, symbol: str, start_price: float, daily_sigma: float, daily_volume: float, seed: int, min_tick: float
    ):
        self.symbol = symbol
        self.min_tick = min_tick
        self._rng = np.random.default_rng(_stable_seed(seed, symbol))
        self._back_rng = np.random.default_rng(_stable_seed(seed, "back:" + symbol))
        self._sigma = daily_sigma * math.sqrt(STEP / DAY)
        self._step_volume = max(daily_volume / (DAY / STEP), 1.0)
        self._prices = np.empty(self.CHUNK)
        self._volumes = np.empty(self.CHUNK)
        self._prices[0] = start_price
        self._volumes[0] = 0.0
        self._n = 1
        self._back_prices = np.empty(0)  # [j] is the price at index -(j + 1)
        self._back_volumes = np.empty(0)

    def ensure(self, k: int) -> None:
        """Generate the path up to index ``k`` inclusive (down to ``k`` when negative)."""
        if k < 0:
            self._ensure_back(min(-k, self.MAX_BACK))
            return
        while self._n <= k:
            m = self.CHUNK
            if self._n + m > len(self._prices):
                self._prices = np.resize(self._prices, max(2 * len(self._prices), self._n + m))
                self._volumes = np.resize(self._volumes, len(self._prices))
            steps = self._rng.normal(-0.5 * self._sigma**2, self._sigma, m)
            base = self._prices[self._n - 1]
            self._prices[self._n : self._n + m] = base * np.exp(np.cumsum(steps))
            self._volumes[self._n : self._n + m] = np.floor(self._step_volume * self._rng.uniform(0.3, 1.7, m)) + 1
            self._n += m

    def _ensure_back(self, n: int) -> None:
        have = len(self._back_prices)
        if have >= n:
            return
        m = max(n - have, self.CHUNK)
        steps = self._back_rng.normal(0.5 * self._sigma**2, self._sigma, m)
        base = self._back_prices[-1] if have else self._prices[0]
        prices = base * np.exp(-np.cumsum(steps))
        volumes = np.floor(self._step_volume * self._back_rng.uniform(0.3, 1.7, m)) + 1
        self._back_prices = np.concatenate([self._back_prices, prices])
        self._back_volumes = np.concatenate([self._back_volumes, volumes])

    def shift(self, k_from: int, factor: float) -> None:
        """Scale the path from step ``k_from`` on (a gap); later steps keep walking from the new level."""
        self.ensure(k_from)
        self._prices[max(k_from, 0) : self._n] *= factor

    def _raw(self, k: int) -> float:
        if k >= 0:
            self.ensure(k)
            return float(self._prices[k])
        k = max(k, -self.MAX_BACK)
        self._ensure_back(-k)
        return float(self._back_prices[-k - 1])

    def price(self, k: int) -> float:
        """Price at step ``k`` rounded to the tick."""
        return round(round(self._raw(k) / self.min_tick) * self.min_tick, 6)

    def window(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Prices and volumes for indices ``k0..k1`` inclusive (clamped at ``-MAX_BACK``)."""
        k0 = max(k0, -self.MAX_BACK)
        if k0 >= 0:
            self.ensure(k1)
            return self._prices[k0 : k1 + 1], self._volumes[k0 : k1 + 1]
        self._ensure_back(-k0)
        # Negative indices, oldest first: back[-k0 - 1] ... back[0] is index -1.
        back_hi = -k0
        back_lo = max(-k1 - 1, 0) if k1 < 0 else 0
        prices = self._back_prices[back_lo:back_hi][::-1]
        volumes = self._back_volumes[back_lo:back_hi][::-1]
        if k1 < 0:
            return prices, volumes
        self.ensure(k1)
        return np.concatenate([prices, self._prices[: k1 + 1]]), np.concatenate([volumes, self._volumes[: k1 + 1]])


def _round_tick(x: float, tick: float) -> float:
    return round(round(x / tick) * tick, 6)


class Market:
    """Prices, quotes and bars for every known symbol."""

    def __init__(self, clock: SimClock, seed: int = 7, data_dir: Path | str | None = None):
        self.clock = clock
        self.seed = seed
        self.data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        # Day 0 of the live path is the UTC day the clock started on.
        self.day0_w = math.floor(clock.origin_w / DAY) * DAY
        self.day0 = w_to_date(self.day0_w)
        self.history: dict[str, list[DailyBar]] = {}
        self.paths: dict[str, SymbolPath] = {}
        for sym, c in CONTRACTS.items():
            csv_path = self.data_dir / f"{sym}.csv"
            synthetic = not csv_path.exists()
            rows = synthetic_daily(sym, seed) if synthetic else load_daily_csv(csv_path)
            day = self.day0
            bars = []
            for o, h, lo, cl, v in reversed(rows):
                day = _prev_weekday(day)
                bars.append(DailyBar(day, o, h, lo, cl, v, synthetic))
            bars.reverse()
            self.history[sym] = bars
            closes = np.array([b.close for b in bars[-250:]])
            sigma = float(np.std(np.diff(np.log(closes)))) if len(closes) > 2 else 0.015
            avg_vol = float(np.mean([b.volume for b in bars[-20:]]))
            self.paths[sym] = SymbolPath(sym, bars[-1].close, sigma, avg_vol, seed, c.min_tick)

    def is_synthetic_history(self, symbol: str) -> bool:
        """True when a symbol's daily history is synthetic (no bundled real data)."""
        return self.history[symbol][0].synthetic

    # ---------------------------------------------------------------- time <-> path index

    def index_at(self, w: float) -> int:
        """Path index of the last step at or before weekday-seconds ``w``."""
        return int(math.floor((w - self.day0_w) / STEP))

    def current_index(self) -> int:
        return self.index_at(self.clock.now_w())

    def index_time(self, k: int) -> float:
        """Epoch seconds at which step ``k`` starts."""
        return w_to_epoch(self.day0_w + k * STEP)

    # ---------------------------------------------------------------- quotes

    def move(self, symbol: str, fraction: float) -> float:
        """Gap the symbol's price by ``fraction`` (-0.2: down 20%) from the next step on; return the new last."""
        if not -1 < fraction < 10:
            raise ValueError(f"a move must be above -100%, got {fraction:+.0%}")
        k = self.current_index() + 1
        self.paths[symbol].shift(k, 1 + fraction)
        return self.last(symbol, k)

    def last(self, symbol: str, k: int | None = None) -> float:
        return self.paths[symbol].price(self.current_index() if k is None else k)

    def quote(self, symbol: str, k: int | None = None) -> tuple[float, float, float, float, float, float]:
        """(bid, ask, last, bid_size, ask_size, last_size) at step ``k`` (default: now)."""
        k = self.current_index() if k is None else k
        path = self.paths[symbol]
        mid = path.price(k)
        tick = path.min_tick
        half = max(tick, _round_tick(mid * 0.0001, tick))
        # Sizes derive from the seed and the step so quotes are reproducible.
        h = int.from_bytes(hashlib.blake2b(f"{self.seed}:{symbol}:{k}".encode(), digest_size=6).digest(), "big")
        bid_size = float((h % 20 + 1) * 100)
        ask_size = float(((h >> 8) % 20 + 1) * 100)
        last_size = float(((h >> 16) % 5 + 1) * 100)
        return (_round_tick(mid - half, tick), _round_tick(mid + half, tick), mid, bid_size, ask_size, last_size)

    # ---------------------------------------------------------------- bars

    def bar_between(self, symbol: str, w0: float, w1: float) -> Bar | None:
        """OHLCV+wap+count of the live path over [w0, w1) (truncated at now), or None."""
        now_k = self.current_index()
        k0 = max(self.index_at(w0), -SymbolPath.MAX_BACK)
        # The close is the path point at the end of the interval (or now, for the current bar).
        k1 = min(self.index_at(w1), now_k)
        if k1 <= k0:
            return None
        prices, vols = self.paths[symbol].window(k0, k1)
        tick = self.paths[symbol].min_tick
        o = _round_tick(float(prices[0]), tick)
        c = _round_tick(float(prices[-1]), tick)
        hi = _round_tick(float(prices.max()), tick)
        lo = _round_tick(float(prices.min()), tick)
        traded = vols[1:]
        vol = float(traded.sum())
        wap = round(float(np.average(prices[1:], weights=traded)) if vol > 0 else c, 4)
        return o, hi, lo, c, vol, wap, max(int(len(traded)), 1)

    def daily_bars(self, symbol: str, start: date, end: date) -> list[DailyRow]:
        """Daily bars with dates in [start, end]: history, then live days up to today."""
        out: list[DailyRow] = []
        for b in self.history[symbol]:
            if start <= b.day <= end:
                out.append(
                    (b.day, b.open, b.high, b.low, b.close, b.volume, round((b.high + b.low + b.close) / 3, 4), 1)
                )
        day = max(self.day0, start)
        today = w_to_date(self.clock.now_w())
        while day <= min(end, today):
            if day.weekday() < 5:
                w0 = date_to_w(day)
                bar = self.bar_between(symbol, w0, w0 + DAY)
                if bar:
                    out.append((day, *bar))
            day += timedelta(days=1)
        return out

    def intraday_bars(
        self, symbol: str, w_start: float, w_end: float, size: int, keep: Callable[[float], bool] | None = None
    ) -> list[IntradayRow]:
        """Bars of ``size`` seconds with start in [w_start, w_end) and ``keep(epoch start)``: (epoch, o,h,l,c,v,wap,n).

        From up to 60 days before the simulator's first day (the backward walk) to now.
        """
        out: list[IntradayRow] = []
        earliest = self.day0_w - SymbolPath.MAX_BACK * STEP
        w = max(math.floor(w_start / size) * size, math.ceil(earliest / size) * size)
        while w < w_end:
            bar = self.bar_between(symbol, w, w + size)
            if bar and (keep is None or keep(w_to_epoch(w))):
                out.append((int(w_to_epoch(w)), *bar))
            w += size
        return out

    def head_date(self, symbol: str) -> date:
        return self.history[symbol][0].day


def _prev_weekday(d: date) -> date:
    d -= timedelta(days=1)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def parse_duration(text: str) -> float:
    """IB duration string (``"30 D"``, ``"1 Y"``, ``"3600 S"``) -> weekday seconds."""
    num, _, unit = (text or "1 D").strip().partition(" ")
    n = float(num)
    unit = unit.strip().upper()[:1] or "D"
    per = {"S": 1, "D": DAY, "W": 5 * DAY, "M": 21 * DAY, "Y": 252 * DAY}.get(unit)
    if per is None:
        raise ValueError(f"bad duration {text!r}")
    return n * per


def parse_bar_size(text: str) -> int:
    """IB bar size (``"5 secs"``, ``"1 min"``, ``"1 hour"``, ``"1 day"``) -> seconds."""
    num, _, unit = (text or "").strip().partition(" ")
    n = int(num)
    unit = unit.strip().lower()
    if unit.startswith("sec"):
        return n
    if unit.startswith("min"):
        return n * 60
    if unit.startswith("hour"):
        return n * 3600
    if unit.startswith("day"):
        return n * DAY
    if unit.startswith("week"):
        return n * 7 * DAY
    raise ValueError(f"bad bar size {text!r}")


def parse_end_time(text: str, now: float) -> float:
    """IB endDateTime (empty = now; ``yyyymmdd hh:mm:ss [tz]`` or ``yyyymmdd-hh:mm:ss``) -> epoch."""
    text = (text or "").strip()
    if not text:
        return now
    if "-" in text[:9] and len(text) >= 17:
        dt = datetime.strptime(text[:17], "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
        return dt.timestamp()
    parts = text.split(" ")
    if len(parts[0]) == 8 and len(parts) == 1:
        return datetime.strptime(parts[0], "%Y%m%d").replace(tzinfo=UTC).timestamp() + DAY - 1
    dt = datetime.strptime(parts[0] + " " + parts[1], "%Y%m%d %H:%M:%S")
    tz = parts[2] if len(parts) > 2 else "UTC"
    zone: tzinfo
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz)
    except Exception:  # unknown zone names fall back to UTC
        zone = UTC
    return dt.replace(tzinfo=zone).timestamp()
