"""Rung 0: data integrity of the bars a backtest runs on.

Hard faults fail at any count: duplicate or out-of-order stamps, negative volume, non-positive prices, and
OHLC inconsistencies (high below max(open, close) or low above min(open, close)). Soft anomalies are listed
with their dates and pass while each stays within its share of the bars (defaults 0.5%, GauntletThresholds):
zero-volume bars, zero-range bars (high == low), gaps against the exchange calendar, and the largest change
tick rounding made relative to the lowest close (default 0.1%).

Gaps: daily bars (median spacing 20 h or more) are dated by the UTC calendar date of their stamp (the project
stamps a daily bar 23:59:59.999999999 UTC of its session, a real close stamp is 20:00/21:00 UTC of the same
date) and compared with the calendar's sessions between the first and last bar; a bar on a non-session date
counts as a gap too. Intraday bars are expected at every bar-close instant open + k x spacing up to each
session's close (early closes included, bars aligned to the open), the spacing being the commonest one; a
bar outside every session (extended hours) is listed but not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import exchange_calendars  # type: ignore[import-untyped]
import numpy as np
from numpy.typing import ArrayLike, NDArray

from console import formatting
from research.stats._common import FloatArray, finite_array, finite_number
from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds
from research.verdicts import RungVerdict, Verdict, not_run

RUNG = "data_integrity"
NS_PER_DAY = 86_400 * 1_000_000_000
DAILY_SPACING_NS = 20 * 3_600 * 1_000_000_000
MAX_LISTED = 50  # stamps listed per anomaly; counts are always complete
IntArray = NDArray[np.int64]


@lru_cache(maxsize=4)
def _calendar(name: str, start_year: int) -> Any:
    # Building XNYS back to the 1990s takes most of a second, so calendars are kept per (name, start year).
    return exchange_calendars.get_calendar(name, start=f"{start_year}-01-01")


def _stamp(ts: int, daily: bool) -> str:
    moment = datetime.fromtimestamp(int(ts) // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%d") if daily else formatting.when(moment, "UTC", seconds=False)


def _listed(stamps: IntArray, daily: bool) -> list[str]:
    return [_stamp(t, daily) for t in stamps[:MAX_LISTED]]


def _daily_gaps(ts: IntArray, calendar_name: str) -> tuple[IntArray, IntArray, int]:
    """Missing sessions and bars on non-session dates (both as midnight-UTC ns), and the sessions expected."""
    days = np.unique(ts - ts % NS_PER_DAY)
    first, last = _iso_day(days[0]), _iso_day(days[-1])
    calendar = _calendar(calendar_name, int(first[:4]))
    last = min(last, str(calendar.last_session.date()))
    sessions = np.asarray(calendar.sessions_in_range(first, last).asi8, dtype=np.int64)
    return np.setdiff1d(sessions, days), np.setdiff1d(days, sessions), int(sessions.size)


def _iso_day(ns: int) -> str:
    return datetime.fromtimestamp(int(ns) // 1_000_000_000, tz=UTC).strftime("%Y-%m-%d")


def _intraday_gaps(ts: IntArray, calendar_name: str) -> tuple[IntArray, IntArray, int]:
    """Missing bar closes inside sessions, bars outside every session, and the bar closes expected."""
    steps = np.diff(ts)
    values, counts = np.unique(steps[steps > 0], return_counts=True)
    spacing = int(values[np.argmax(counts)])
    first, last = _iso_day(int(ts[0])), _iso_day(int(ts[-1]))
    calendar = _calendar(calendar_name, int(first[:4]))
    last = min(last, str(calendar.last_session.date()))
    schedule = calendar.schedule.loc[first:last]
    opens = np.asarray(schedule["open"].to_numpy().astype("datetime64[ns]").astype(np.int64))
    closes = np.asarray(schedule["close"].to_numpy().astype("datetime64[ns]").astype(np.int64))
    # Only sessions the data spans: the first and last may be partly covered.
    keep = (closes >= ts[0]) & (opens < ts[-1])
    opens, closes = opens[keep], closes[keep]
    if not closes.size:
        return ts[:0], ts, 0
    per_session = (closes - opens) // spacing
    offsets = np.arange(int(per_session.sum())) - np.repeat(np.cumsum(per_session) - per_session, per_session)
    expected = np.repeat(opens, per_session) + (offsets + 1) * spacing
    expected = expected[(expected >= ts[0]) & (expected <= ts[-1])]
    session_of = np.searchsorted(closes, ts, side="left")
    inside = (session_of < closes.size) & (ts > opens[np.minimum(session_of, closes.size - 1)])
    return np.setdiff1d(expected, ts), ts[~inside], int(expected.size)


def check_data_integrity(
    bars: Mapping[str, ArrayLike],
    rounding: Mapping[str, float] | None = None,
    calendar: str = "XNYS",
    thresholds: GauntletThresholds = DEFAULT_THRESHOLDS,
) -> RungVerdict:
    """Bars {ts, open, high, low, close, volume}: fail on hard faults or soft anomalies beyond their limits."""
    ts = np.asarray(bars["ts"])
    if ts.ndim != 1 or (ts.size and not np.issubdtype(ts.dtype, np.integer)):
        raise ValueError(f"ts: expected 1-D integer ns stamps, got {ts.dtype} of shape {ts.shape}")
    ts = ts.astype(np.int64)
    columns: dict[str, FloatArray] = {k: finite_array(bars[k], k) for k in ("open", "high", "low", "close", "volume")}
    for name, column in columns.items():
        if column.size != ts.size:
            raise ValueError(f"{name}: {column.size} values for {ts.size} stamps")
    limits = {
        "max_zero_volume_frac": thresholds.max_zero_volume_frac,
        "max_zero_range_frac": thresholds.max_zero_range_frac,
        "max_gap_frac": thresholds.max_gap_frac,
        "max_rounding_rel_change": thresholds.max_rounding_rel_change,
    }
    n = int(ts.size)
    if n == 0:
        return not_run(RUNG, "no bars")
    o, h, lo, c, v = (columns[k] for k in ("open", "high", "low", "close", "volume"))
    ordered = np.sort(ts)
    daily = n < 2 or float(np.median(np.diff(ordered))) >= DAILY_SPACING_NS
    tol = 1e-9 * np.maximum(np.abs(h), 1.0)  # float noise from parsing, not a fault
    hard = {
        "duplicate_stamps": ordered[1:][np.diff(ordered) == 0],
        "out_of_order": ts[1:][np.diff(ts) < 0],
        "negative_volume": ts[v < 0],
        "non_positive_price": ts[(np.minimum(np.minimum(o, h), np.minimum(lo, c))) <= 0],
        "ohlc_inconsistent": ts[(h < np.maximum(o, c) - tol) | (lo > np.minimum(o, c) + tol) | (h < lo)],
    }
    soft = {"zero_volume": ts[v == 0], "zero_range": ts[h == lo]}
    expected = n
    off_calendar = ts[:0]
    if n >= 2:
        gaps, off_calendar, expected = (_daily_gaps if daily else _intraday_gaps)(np.unique(ordered), calendar)
        soft["gaps"] = gaps
        if daily:
            soft["off_calendar"] = off_calendar
    numbers: dict[str, Any] = {
        "n_bars": n,
        "daily": daily,
        "calendar": calendar,
        "first": _stamp(int(ordered[0]), daily),
        "last": _stamp(int(ordered[-1]), daily),
        "expected_bars": expected,
    }
    if n >= 2 and not daily:
        numbers["outside_session"] = {"count": int(off_calendar.size), "at": _listed(off_calendar, daily)}
    for name, stamps in {**hard, **soft}.items():
        numbers[name] = {"count": int(stamps.size), "at": _listed(np.sort(stamps), daily)}
    fractions = {
        "zero_volume": (soft["zero_volume"].size / n, thresholds.max_zero_volume_frac, "zero-volume bars"),
        "zero_range": (soft["zero_range"].size / n, thresholds.max_zero_range_frac, "zero-range bars"),
        "gaps": (
            (soft.get("gaps", ordered[:0]).size + soft.get("off_calendar", ordered[:0]).size) / max(expected, 1),
            thresholds.max_gap_frac,
            "calendar gaps",
        ),
    }
    if rounding is not None:
        changed = int(finite_number(rounding.get("prices_changed", 0), "prices_changed"))
        max_change = abs(finite_number(rounding.get("max_change", 0.0), "max_change"))
        relative = max_change / float(np.min(c[c > 0])) if np.any(c > 0) else 0.0
        numbers["rounding"] = {"prices_changed": changed, "max_change": max_change, "max_rel_change": relative}
        fractions["rounding"] = (relative, thresholds.max_rounding_rel_change, "tick-rounding change")
    faults = [f"{stamps.size} {name.replace('_', ' ')}" for name, stamps in hard.items() if stamps.size]
    if faults:
        first = min(int(np.min(stamps)) for stamps in hard.values() if stamps.size)
        reason = f"hard faults: {', '.join(faults)} (first {_stamp(first, daily)})"
        return RungVerdict(RUNG, Verdict.FAIL, reason, numbers, limits)
    over = [f"{label} {share:.2%} > {limit:.2%}" for share, limit, label in fractions.values() if share > limit]
    if over:
        return RungVerdict(RUNG, Verdict.FAIL, "soft anomalies over limits: " + "; ".join(over), numbers, limits)
    listed = ", ".join(f"{label} {share:.2%}" for share, _, label in fractions.values())
    reason = f"{n:,} bars, no hard faults; soft anomalies within limits ({listed})"
    return RungVerdict(RUNG, Verdict.PASS, reason, numbers, limits)
