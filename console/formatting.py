"""How the console writes numbers, times and durations: the rules static/ats/format.js repeats in the browser.

Both sides round the same way (the shortest decimal that reads back as the same double, halves away from zero,
as Intl.NumberFormat does: 1.005 -> 1.01), never show a negative zero, group thousands with commas, and write a
time in the operator's zone with the zone's UTC offset after it ("2026-11-27 09:13:29 UTC+1"), because
abbreviations such as "CET" differ between Python and browsers. tests/console/test_formatting.py runs the same
cases through both and compares them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any
from zoneinfo import ZoneInfo

DASH = "—"
WIDE = Context(prec=400)


def to_number(value: Any) -> float | None:
    """A finite float from a number, Decimal or string ("123.45 USD" reads as 123.45); None when there is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        parts = value.strip().split()
        if not parts:
            return None
        value = parts[0].replace(",", "")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fixed(number: float, places: int, signed: bool = False) -> str:
    exact = Decimal(repr(number))  # enough precision for any double at any places asked (the default 28 is not)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=WIDE)
    if rounded == 0:
        rounded = abs(rounded)
    text = f"{rounded:,.{places}f}"
    return f"+{text}" if signed and rounded > 0 else text


def num(value: Any, places: int = 2, signed: bool = False) -> str:
    """A plain number with thousands separators: 1,234.57 (signed: +1,234.57)."""
    number = to_number(value)
    return DASH if number is None else _fixed(number, places, signed)


def _currency_of(value: Any, currency: str | None) -> str:
    if currency:
        return currency
    parts = value.strip().split() if isinstance(value, str) else []
    return parts[1] if len(parts) > 1 else "USD"


def money(value: Any, currency: str | None = None, signed: bool = False) -> str:
    """An amount with its currency: 110,000.00 USD; a Nautilus Money string keeps its own currency."""
    number = to_number(value)
    if number is None:
        return DASH
    return f"{_fixed(number, 2, signed)} {_currency_of(value, currency)}"


def pct(value: Any, places: int = 2, signed: bool = True) -> str:
    """A fraction as a percentage with its sign: 0.0931 -> +9.31%."""
    number = to_number(value)
    return DASH if number is None else f"{_fixed(number * 100, places, signed)}%"


def qty(value: Any) -> str:
    """A quantity: whole numbers grouped (1,000,000), fractions to at most 8 places without trailing zeros."""
    number = to_number(value)
    if number is None:
        return DASH
    return _trimmed(_fixed(number, 8))


def _trimmed(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def sig(value: Any, digits: int = 4) -> str:
    """A statistic to `digits` significant digits, grouped, trailing zeros dropped: 1,235; 0.03125; 1.5e-7."""
    number = to_number(value)
    if number is None:
        return DASH
    if number == 0:
        return "0"
    shortest = Decimal(repr(number))
    exponent = shortest.adjusted()
    if exponent < -4:  # tiny (a p-value): the digits and the power of ten, as the browser's toExponential writes it
        mantissa = _trimmed(_fixed(float(shortest.scaleb(-exponent)), digits - 1))
        return f"{mantissa}e{exponent}"
    return _trimmed(_fixed(number, max(0, digits - 1 - exponent)))


def offset_label(offset: dt.timedelta | None) -> str:
    """A UTC offset as the console writes it: UTC, UTC+1, UTC-5, UTC+5:30."""
    minutes = int((offset or dt.timedelta()).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def to_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from a datetime, an ISO string or epoch milliseconds (naive values are UTC)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def when(value: Any, zone: dt.tzinfo | str = "UTC", seconds: bool = True) -> str:
    """A moment in the operator's zone with the zone shown: 2026-11-27 09:13:29 UTC+1."""
    moment = to_datetime(value)
    if moment is None:
        return DASH
    local = moment.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} {offset_label(local.utcoffset())}"


def clock(value: Any, zone: dt.tzinfo | str = "UTC") -> str:
    """The time of day of a moment in the operator's zone: 09:13:29 UTC+1."""
    moment = to_datetime(value)
    if moment is None:
        return DASH
    local = moment.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    return f"{local.strftime('%H:%M:%S')} {offset_label(local.utcoffset())}"


def day(value: Any) -> str:
    """A market-data date as stored (UTC calendar day): 2026-11-27."""
    moment = to_datetime(value) if not isinstance(value, dt.date) or isinstance(value, dt.datetime) else value
    if moment is None:
        return DASH
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d")


def duration(value: Any) -> str:
    """Seconds as a duration: 850 ms, 4.2 s, 45 s, 12m 05s, 3h 07m, 4d 03h."""
    seconds = to_number(value.total_seconds() if isinstance(value, dt.timedelta) else value)
    if seconds is None:
        return DASH
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 1:
        return f"{sign}{_fixed(seconds * 1000, 0)} ms"
    if seconds < 10:
        return f"{sign}{_fixed(seconds, 1)} s"
    whole = int(seconds)
    if whole < 60:
        return f"{sign}{whole} s"
    if whole < 3600:
        return f"{sign}{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{sign}{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{sign}{whole // 86400}d {whole % 86400 // 3600:02d}h"


def setting(value: Any, number: Callable[[Any], str] = qty) -> str:
    """A parameter, setting or metric as an operator reads it: yes/no, a dash for none, numbers by `number`
    (quantities by default), lists and mappings as sorted JSON."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)
