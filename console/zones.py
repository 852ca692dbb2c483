"""The time zones an operator may choose: the IANA names Python's zoneinfo knows."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

COOKIE = "ats_tz"  # the browser's own zone, set by static/ats/format.js
DEFAULT = "UTC"


@cache
def zone_names() -> tuple[str, ...]:
    """Every zone name, sorted (about 600)."""
    return tuple(sorted(available_timezones()))


def is_zone(name: object) -> bool:
    """Whether `name` is a zone name zoneinfo knows (anything else, including paths and odd types, is not)."""
    return isinstance(name, str) and name in _known()


@cache
def _known() -> frozenset[str]:
    return frozenset(zone_names())
