"""Trading sessions: when the simulated US stock market is open.

Two calendars:

``always`` (the default, used by ``make run`` and the project's end-to-end tests)
    Every weekday trades around the clock (the simulated clock already skips weekends): orders match at any
    hour, so a test run at 3 a.m. on a holiday still fills its MKT orders. Contract details report nominal
    hours (extended 04:00-20:00, regular 09:30-16:00 US/Eastern, weekends closed), and ``useRTH=1`` keeps
    the intraday bars inside those regular hours.
``XNYS``
    The New York Stock Exchange calendar of the ``exchange_calendars`` library: holidays closed, half days
    closing at 13:00 (after-hours until 17:00), regular hours 09:30-16:00, extended hours 04:00-20:00
    US/Eastern. Orders trade only in regular hours unless ``outsideRth`` is set (then in extended hours);
    an order outside its hours is acknowledged ``PreSubmitted`` and works from the next open. DAY orders
    expire at the end of the trading day (20:00 US/Eastern).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
CALENDARS = ("always", "XNYS")
PRE_OPEN = time(4, 0)
REG_OPEN = time(9, 30)
REG_CLOSE = time(16, 0)
POST_CLOSE = time(20, 0)
EARLY_POST_CLOSE = time(17, 0)


@dataclass(frozen=True)
class Session:
    """One trading day: extended and regular hours as epoch seconds."""

    day: date
    ext_open: float
    open: float
    close: float
    ext_close: float


def _at(day: date, t: time) -> float:
    return datetime.combine(day, t, NY).timestamp()


class SessionCalendar:
    """Sessions of the simulated market, from ``always`` nominal hours or an exchange calendar."""

    def __init__(self, name: str = "always"):
        if name not in CALENDARS:
            raise ValueError(f"calendar must be one of {CALENDARS}, got {name!r}")
        self.name = name
        self.always_open = name == "always"

    @functools.cached_property
    def _xc(self) -> Any:
        # Imported only when asked for: the default calendar needs no library (and the library has no type hints).
        xc: Any = importlib.import_module("exchange_calendars")
        return xc.get_calendar(self.name, start="2000-01-03", end="2040-12-31")

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one calendar per simulator, a few thousand days
    def session(self, day: date) -> Session | None:
        """The session of a calendar day (US/Eastern), or None when the market does not trade that day."""
        if self.always_open:
            if day.weekday() >= 5:
                return None
            return Session(day, _at(day, PRE_OPEN), _at(day, REG_OPEN), _at(day, REG_CLOSE), _at(day, POST_CLOSE))
        pd: Any = importlib.import_module("pandas")
        stamp = pd.Timestamp(day)
        if not self._xc.is_session(stamp):
            return None
        open_ = self._xc.session_open(stamp).timestamp()
        close = self._xc.session_close(stamp).timestamp()
        early = datetime.fromtimestamp(close, NY).time() < REG_CLOSE
        post = EARLY_POST_CLOSE if early else POST_CLOSE
        return Session(day, _at(day, PRE_OPEN), open_, close, _at(day, post))

    def sessions(self, start: date, end: date) -> list[Session]:
        """Sessions of the days in [start, end]."""
        out = []
        day = start
        while day <= end:
            s = self.session(day)
            if s is not None:
                out.append(s)
            day += timedelta(days=1)
        return out

    def is_open(self, epoch: float, outside_rth: bool) -> bool:
        """Whether an order trades at ``epoch``: regular hours, or extended hours with ``outside_rth``."""
        if self.always_open:
            return True
        s = self.session(datetime.fromtimestamp(epoch, NY).date())
        if s is None:
            return False
        if outside_rth:
            return s.ext_open <= epoch < s.ext_close
        return s.open <= epoch < s.close

    def in_regular_hours(self, epoch: float) -> bool:
        """Whether ``epoch`` falls in regular trading hours (used for ``useRTH``)."""
        s = self.session(datetime.fromtimestamp(epoch, NY).date())
        return s is not None and s.open <= epoch < s.close

    def day_key(self, epoch: float) -> str:
        """The trading day DAY orders belong to: UTC date (``always``) or the US/Eastern day ending at 20:00."""
        if self.always_open:
            return datetime.fromtimestamp(epoch, UTC).date().isoformat()
        return (datetime.fromtimestamp(epoch, NY) + timedelta(hours=4)).date().isoformat()

    def hours(self, start: date, days: int = 7) -> tuple[str, str]:
        """Trading (extended) and liquid (regular) hours in IB's contract-details format, closed days CLOSED."""
        trading, liquid = [], []
        for i in range(days):
            d = start + timedelta(days=i)
            ds = d.strftime("%Y%m%d")
            s = self.session(d)
            if s is None:
                trading.append(f"{ds}:CLOSED")
                liquid.append(f"{ds}:CLOSED")
                continue
            trading.append(f"{_hm(s.ext_open)}-{_hm(s.ext_close)}")
            liquid.append(f"{_hm(s.open)}-{_hm(s.close)}")
        return ";".join(trading), ";".join(liquid)


def _hm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, NY).strftime("%Y%m%d:%H%M")
