"""The backtest page's chart series, computed from a stored run and the catalog's bars: drawdown, the buy-and-hold
benchmark, monthly returns, the price with its indicator lines and the trades' entry/exit markers. Pure functions
over arrays and the run's JSON; the bars are loaded by trading.selectors.backtest_market.

Times: the equity curve holds each bar's close time (ts_init) in epoch ms; charts get epoch seconds. A bar's
calendar day or month is that of its ts_init minus 1 ns (a daily bar's ts_init is the last nanosecond of its UTC
day), as in trading.backtests.metrics.daily_returns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_POINTS = 20_000  # points per series sent to the page; more are thinned to this many buckets (said on the page)
MAX_MARKERS = 20_000  # entry/exit markers drawn (two per trade); the latest are kept
HEAT_LEVELS = 5  # colour steps of the monthly-returns heatmap, each way
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# An ISO time with up to 9 decimals of seconds (Python's own parser keeps 6): date-time, fraction, zone.
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class RunMarket:
    """The catalog's bars over a run's data window (their close times and closes), its strategy's indicator lines
    over those bars, and what the page should say about them (bars missing, lines unavailable, data changed)."""

    ts: np.ndarray  # int64 ns, each bar's ts_init
    close: np.ndarray  # float64
    lines: dict[str, list[float | None]] = field(default_factory=dict)
    currency: str = "USD"
    price_places: int = 2
    notes: tuple[str, ...] = ()

    @classmethod
    def empty(cls, *notes: str) -> RunMarket:
        """No bars (the page draws no price chart and no benchmark, and says why in notes)."""
        return cls(np.array([], dtype=np.int64), np.array([], dtype=np.float64), notes=notes)


def seconds(ns: int) -> float:
    """A chart's x: epoch seconds to the millisecond, as the equity curve holds them (a daily bar's close at
    23:59:59.999 stays on its day; to the nanosecond a double would round it to the next midnight)."""
    return int(ns) // 1_000_000 / 1000


def curve_arrays(curve: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """A stored equity curve [[epoch_ms, equity], ...] as (int64 ms, float64 equity) arrays."""
    if not curve:
        return np.array([], dtype=np.int64), np.array([], dtype=np.float64)
    return (
        np.fromiter((int(p[0]) for p in curve), np.int64, len(curve)),
        np.fromiter((float(p[1]) for p in curve), np.float64, len(curve)),
    )


def drawdown(equity: np.ndarray, capital: float) -> np.ndarray:
    """The fall of equity from its running peak (the starting capital included) at each point, as a fraction <= 0."""
    if len(equity) == 0:
        return np.array([], dtype=np.float64)
    peak = np.maximum.accumulate(np.concatenate(([capital], equity)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(peak > 0, equity / peak - 1, 0.0)
    return np.minimum(out, 0.0)


def benchmark(curve_ms: np.ndarray, bar_ts: np.ndarray, close: np.ndarray, capital: float) -> list[float | None]:
    """Buy-and-hold of the instrument over the same bars, scaled to the starting capital: capital x close / the
    close at the curve's first point, at each point of the curve (None where no bar closed by then)."""
    if len(curve_ms) == 0 or len(bar_ts) == 0:
        return []
    # The bar whose close a curve point marks: the last one that closed by then (the curve holds ts_init in ms).
    index = np.searchsorted(bar_ts // 1_000_000, curve_ms, side="right") - 1
    if index[0] < 0 or not close[index[0]] > 0:
        return [None] * len(curve_ms)
    scaled = capital * close[np.maximum(index, 0)] / close[index[0]]
    return [None if i < 0 else round(float(v), 2) for i, v in zip(index, scaled, strict=True)]


def _level(value: float, scale: float) -> str:
    """The heatmap colour class of a return: pos-1..5, neg-1..5 by size against the table's largest, or zero."""
    if value == 0 or scale <= 0:
        return "zero"
    step = min(HEAT_LEVELS, max(1, math.ceil(HEAT_LEVELS * abs(value) / scale - 1e-9)))
    return f"{'pos' if value > 0 else 'neg'}-{step}"


def _period_returns(ends: np.ndarray, capital: float) -> list[float | None]:
    """Each period's last equity over the one before it (the first over the starting capital)."""
    previous = np.concatenate(([capital], ends[:-1]))
    return [float(e / p - 1) if p > 0 else None for e, p in zip(ends, previous, strict=True)]


def monthly_returns(curve_ms: np.ndarray, equity: np.ndarray, capital: float) -> list[dict[str, Any]]:
    """Years x months of returns from the equity curve: each month's last equity over the previous month's (the
    first month's over the starting capital), and each year's total the same way; months without points are None.

    Rows: {"year", "cells": 12 x ({"value", "level"} | None), "total": {"value", "level"}}, oldest year first.
    """
    if len(curve_ms) == 0:
        return []
    month = (curve_ms - 1).astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    last_of_month = np.flatnonzero(np.diff(month, append=month[-1] + 1))
    last_of_year = np.flatnonzero(np.diff(month // 12, append=month[-1] // 12 + 1))
    months = _period_returns(equity[last_of_month], capital)
    years = _period_returns(equity[last_of_year], capital)
    month_scale = max((abs(v) for v in months if v is not None), default=0.0)
    year_scale = max((abs(v) for v in years if v is not None), default=0.0)
    rows: dict[int, dict[str, Any]] = {}
    for m, value in zip(month[last_of_month], months, strict=True):
        row = rows.setdefault(int(m // 12) + 1970, {"cells": [None] * 12})
        row["cells"][int(m % 12)] = None if value is None else {"value": value, "level": _level(value, month_scale)}
    for y, value in zip(month[last_of_year] // 12, years, strict=True):
        total = None if value is None else {"value": value, "level": _level(value, year_scale)}
        rows[int(y) + 1970]["total"] = total
    return [{"year": year, **rows[year]} for year in sorted(rows)]


def bucket_ends(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """The last index of each of at most max_points equal buckets of n points (every index when n fits)."""
    step = max(1, math.ceil(n / max_points)) if n else 1
    return np.minimum(np.arange(step - 1, n + step - 1, step), n - 1) if n else np.array([], dtype=np.int64)


def thinned(values: Sequence[float | None], ends: np.ndarray, places: int) -> list[float | None]:
    """A series at the bucket ends, rounded."""
    return [None if (v := values[i]) is None or not math.isfinite(v) else round(float(v), places) for i in ends]


def to_ns(value: Any) -> int | None:
    """A stored trade time (ISO text, or ns for runs stored before the ISO times) in ns since the epoch."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _ISO.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        moment = dt.datetime.fromisoformat(whole + ("+00:00" if zone in (None, "Z") else zone))
    except ValueError:
        return None
    return (moment - EPOCH) // dt.timedelta(seconds=1) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def trade_times(trade: dict[str, Any]) -> tuple[int | None, int | None]:
    """A stored trade's entry and exit times in ns."""
    return to_ns(trade.get("entry_time", trade.get("entry_ts"))), to_ns(trade.get("exit_time", trade.get("exit_ts")))


def trade_markers(trades: Sequence[dict[str, Any]], bar_ts: np.ndarray, ends: np.ndarray) -> list[dict[str, Any]]:
    """An entry and an exit marker per trade at its fill price, placed on the (shown) bar its fill belongs to (the
    first whose close is at or after the fill: a next-open fill sits on the bar it opened): {t, price, side, kind}."""
    if len(bar_ts) == 0:
        return []
    step = int(ends[0]) + 1 if len(ends) else 1
    markers = []
    for trade in trades:
        long = trade.get("side", "long") == "long"
        for kind, ns, price in zip(
            ("entry", "exit"), trade_times(trade), (trade.get("entry_price"), trade.get("exit_price")), strict=True
        ):
            if ns is None or not isinstance(price, int | float) or not math.isfinite(price):
                continue
            index = min(int(np.searchsorted(bar_ts, ns, side="left")), len(bar_ts) - 1)
            shown = int(ends[min(index // step, len(ends) - 1)])
            buy = long == (kind == "entry")
            markers.append(
                {"t": seconds(bar_ts[shown]), "price": float(price), "side": "buy" if buy else "sell", "kind": kind}
            )
    return markers[-MAX_MARKERS:]
