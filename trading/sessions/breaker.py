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


@dataclass
class LossBreaker:
    """Watches one session's P&L against its daily-loss and drawdown limits."""

    max_daily_loss: Decimal
    max_drawdown: Decimal
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
        numbers = {
            "pnl": str(pnl.quantize(CENTS)),
            "daily": str(self.daily.quantize(CENTS)),
            "drawdown": str(self.drawdown.quantize(CENTS)),
            "max_daily_loss": str(self.max_daily_loss),
            "max_drawdown": str(self.max_drawdown),
        }
        if -self.daily > self.max_daily_loss:
            self.tripped = True
            return Trip(
                "daily_loss",
                f"loss breaker: the day's loss {-self.daily:.2f} is over the limit {self.max_daily_loss}",
                numbers,
            )
        if self.drawdown > self.max_drawdown:
            self.tripped = True
            return Trip(
                "drawdown",
                f"loss breaker: drawdown {self.drawdown:.2f} from the peak is over the limit {self.max_drawdown}",
                numbers,
            )
        return None

    def reset(self, pnl: Decimal) -> None:
        """An operator's reset: re-arm from the P&L of this moment."""
        self.tripped = False
        self.day_start = self.peak = pnl
        self.daily = self.drawdown = Decimal(0)
