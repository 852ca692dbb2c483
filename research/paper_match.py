"""Match a paper session's fills with a backtest's over the same bars, fill for fill (pure: no Django, no engine).

Two fills match when they have the same side and quantity and their times are within one bar: the backtest fills a
decision at the next bar (stamped at that bar's close), the session moments after the decision. A matched pair's
price difference is explained when the session's price lies within the range of the bar it filled in, widened by
`tolerance_ticks` ticks for the quote's spread and slippage; otherwise the pair is listed as unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SimpleFill:
    """One execution: when, which way, how much, at what price."""

    ts: int  # ns
    side: int  # +1 buy, -1 sell
    quantity: float
    price: float


@dataclass(frozen=True)
class BarRange:
    """A bar's close stamp and its price range."""

    ts: int
    low: float
    high: float


@dataclass(frozen=True)
class MatchResult:
    """The match table and its counts."""

    rows: list[dict[str, Any]]
    paired: int  # same side, size and time within a bar
    matched: int  # paired, and the price difference explained
    session_fills: int
    backtest_fills: int

    @property
    def match_ratio(self) -> float:
        """Matched fills over the larger of the two fill counts (0.0 when neither side traded)."""
        larger = max(self.session_fills, self.backtest_fills)
        return self.matched / larger if larger else 0.0


def match_fills(
    session: list[SimpleFill],
    backtest: list[SimpleFill],
    bars: list[BarRange],
    bar_ns: int,
    tick: float,
    tolerance_ticks: float = 2.0,
) -> MatchResult:
    """Pair each backtest fill with the earliest unused session fill of the same side and quantity within one bar."""
    used: set[int] = set()
    rows: list[dict[str, Any]] = []
    paired = matched = 0
    for bt in sorted(backtest, key=lambda f: f.ts):
        partner = next(
            (
                i
                for i, live in enumerate(session)
                if i not in used
                and live.side == bt.side
                and abs(live.quantity - bt.quantity) < 1e-9
                and abs(live.ts - bt.ts) <= bar_ns
            ),
            None,
        )
        if partner is None:
            rows.append(_row("backtest only", bt, None, "no session fill of this side and size within one bar"))
            continue
        used.add(partner)
        live = session[partner]
        paired += 1
        why = _price_explained(live, bars, bar_ns, tick * tolerance_ticks)
        matched += why == ""
        rows.append(_row("matched" if not why else "matched, price unexplained", bt, live, why))
    for i, live in enumerate(session):
        if i not in used:
            rows.append(_row("session only", None, live, "the backtest made no such fill within one bar"))
    rows.sort(key=lambda r: r["ts"])
    return MatchResult(rows, paired, matched, len(session), len(backtest))


def _price_explained(live: SimpleFill, bars: list[BarRange], bar_ns: int, tolerance: float) -> str:
    # The bar the session's fill happened in: the first bar closing at or after it.
    bar = next((b for b in bars if b.ts >= live.ts), None)
    if bar is None or bar.ts - live.ts > bar_ns:
        return "no bar covers the session's fill time"
    if bar.low - tolerance <= live.price <= bar.high + tolerance:
        return ""
    return f"session price {live.price:g} outside that bar's range {bar.low:g}..{bar.high:g} (+/- {tolerance:g})"


def _row(status: str, bt: SimpleFill | None, live: SimpleFill | None, note: str) -> dict[str, Any]:
    anchor = bt or live
    assert anchor is not None
    return {
        "ts": anchor.ts,
        "status": status,
        "side": "BUY" if anchor.side > 0 else "SELL",
        "quantity": anchor.quantity,
        "backtest_ts": bt.ts if bt else None,
        "backtest_price": bt.price if bt else None,
        "session_ts": live.ts if live else None,
        "session_price": live.price if live else None,
        "price_difference": round(live.price - bt.price, 10) if bt and live else None,
        "note": note,
    }
