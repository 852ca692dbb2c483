"""The loss breaker of a session: the day's loss and the drawdown from the equity peak, on plain numbers.

The host feeds it the session's P&L (realized + unrealized, from fills and marks) every second. Past either limit
it trips once and stays tripped: the session then only reduces risk until an operator resets it (audited), which
re-arms it from the P&L of that moment. The trading day is the calendar day in New York, where the session's
exchanges keep their hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from console.formatting import money

TRADING_DAY_ZONE = ZoneInfo("America/New_York")
CENTS = Decimal("0.01")


def trading_day(now_utc: dt.datetime) -> dt.date:
    """The trading day a moment belongs to."""
    return now_utc.astimezone(TRADING_DAY_ZONE).date()


@dataclass(frozen=True)
class Trip:
    """Why the breaker tripped: the rule, one line, and the numbers."""

    rule: str
    reason: str
    numbers: dict[str, str] = field(default_factory=dict)


def judge_loss(
    pnl: Decimal,
    daily: Decimal,
    drawdown: Decimal,
    max_daily_loss: Decimal,
    max_drawdown: Decimal,
    scope: str = "",
    currency: str = "USD",
) -> Trip | None:
    """The trip when the day's P&L or the drawdown from the peak breaks its limit, else None (one rule for the
    session's breaker and the account's; the reason writes money in the account's `currency`)."""
    numbers = {
        "pnl": str(pnl.quantize(CENTS)),
        "daily": str(daily.quantize(CENTS)),
        "drawdown": str(drawdown.quantize(CENTS)),
        "max_daily_loss": str(max_daily_loss),
        "max_drawdown": str(max_drawdown),
    }
    prefix = f"{scope} loss breaker" if scope else "loss breaker"
    if -daily > max_daily_loss:
        loss, limit = money(-daily, currency), money(max_daily_loss, currency)
        return Trip("daily_loss", f"{prefix}: the day's loss {loss} is over the limit {limit}", numbers)
    if drawdown > max_drawdown:
        fall, limit = money(drawdown, currency), money(max_drawdown, currency)
        return Trip("drawdown", f"{prefix}: drawdown {fall} from the peak is over the limit {limit}", numbers)
    return None


@dataclass
class LossBreaker:
    """Watches one session's P&L against its daily-loss and drawdown limits."""

    max_daily_loss: Decimal
    max_drawdown: Decimal
    currency: str = "USD"  # the account's: the trip's reason writes money in it
    tripped: bool = False
    day: dt.date | None = None
    day_start: Decimal = Decimal(0)
    peak: Decimal | None = None
    daily: Decimal = Decimal(0)
    drawdown: Decimal = Decimal(0)

    def observe(self, pnl: Decimal, day: dt.date) -> Trip | None:
        """Take the session's P&L now; return the trip when this observation breaks a limit for the first time."""
        if self.day != day:  # a new trading day: its loss counts from here
            self.day, self.day_start = day, pnl
        self.peak = pnl if self.peak is None else max(self.peak, pnl)
        self.daily, self.drawdown = pnl - self.day_start, self.peak - pnl
        if self.tripped:
            return None
        trip = judge_loss(
            pnl, self.daily, self.drawdown, self.max_daily_loss, self.max_drawdown, currency=self.currency
        )
        self.tripped = trip is not None
        return trip

    def reset(self, pnl: Decimal) -> None:
        """An operator's reset: re-arm from the P&L of this moment."""
        self.tripped = False
        self.day_start = self.peak = pnl
        self.daily = self.drawdown = Decimal(0)
