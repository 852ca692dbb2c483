"""Template filters of the console's formatting rules (console/formatting.py; static/ats/format.js in the browser)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from console import formatting

register = template.Library()


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    """{{ v|money }} -> 110,000.00 USD; {{ v|money:"EUR" }} names the currency."""
    return formatting.money(value, currency)


@register.filter
def pnl(value: Any, currency: str | None = None) -> str:
    """A profit or loss with its sign: +1,234.50 USD."""
    return formatting.money(value, currency, signed=True)


@register.filter
def pct(value: Any, places: int = 2) -> str:
    """A fraction as a signed percentage: 0.0931 -> +9.31%."""
    return formatting.pct(value, int(places))


@register.filter
def share(value: Any, places: int = 2) -> str:
    """A fraction as a percentage without a plus sign (a limit, a weight): 0.1 -> 10.00%."""
    return formatting.pct(value, int(places), signed=False)


@register.filter
def num(value: Any, places: int = 2) -> str:
    """A number with thousands separators and fixed places: 1,234.57."""
    return formatting.num(value, int(places))


@register.filter
def qty(value: Any) -> str:
    """A quantity: 1,000,000 or 0.5."""
    return formatting.qty(value)


@register.filter
def sig(value: Any, digits: int = 4) -> str:
    """A statistic to 4 (or `digits`) significant digits: 1,235; 0.03125; 1.5e-7."""
    return formatting.sig(value, int(digits))


@register.filter
def when(value: Any, precision: str = "s") -> str:
    """A moment in the operator's zone with the zone shown; {{ t|when:"m" }} drops the seconds."""
    return formatting.when(value, timezone.get_current_timezone(), seconds=precision != "m")


@register.filter
def clock(value: Any) -> str:
    """The time of day in the operator's zone with the zone shown: 09:13:29 UTC+1."""
    return formatting.clock(value, timezone.get_current_timezone())


@register.filter
def day(value: Any) -> str:
    """A market-data date: 2026-11-27."""
    return formatting.day(value)


@register.filter
def duration(value: Any) -> str:
    """Seconds (or a timedelta) as 850 ms, 4.2 s, 12m 05s, 3h 07m, 4d 03h."""
    return formatting.duration(value)
