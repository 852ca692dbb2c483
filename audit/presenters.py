"""How an audit entry's payload reads on the pages: compact `key=value` text, numbers grouped, times in the
operator's zone (console/formatting.py's rules). Pure: no queries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from console import formatting

ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# Identifiers and hashes that happen to be digits stay as they are (#1234, not 1,234).
VERBATIM = re.compile(r"(^|_)(id|pk|seq|hash|key|code|account|token|session|report|run)s?$")


def _number(text: str) -> str:
    places = len(text.split(".", 1)[1]) if "." in text else 0
    return formatting.num(text, min(places, 8))


def _value(key: str, value: Any, zone: dt.tzinfo) -> str:
    if isinstance(value, dict):
        return "{" + _pairs(value, zone) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(key, v, zone) for v in value) + "]"
    if value is None:
        return formatting.DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if VERBATIM.search(key):
        return str(value)
    if isinstance(value, int):
        return formatting.num(value, 0)
    if isinstance(value, float):
        return formatting.sig(value)
    text = str(value)
    if NUMBER.match(text):
        return _number(text)
    if ISO_MOMENT.match(text) and formatting.to_datetime(text) is not None:
        return formatting.when(text, zone)
    return text


def _pairs(payload: dict[Any, Any], zone: dt.tzinfo) -> str:
    return ", ".join(f"{k}={_value(str(k), v, zone)}" for k, v in payload.items())


def compact_payload(payload: Any, zone: dt.tzinfo | str = "UTC") -> str:
    """A payload as `key=value, …` in its own order; nested objects in braces, lists in brackets."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return _pairs(payload, tz) if isinstance(payload, dict) else _value("", payload, tz)
