"""Reads of the console app: which time zone a request's pages are written in."""

from __future__ import annotations

from dataclasses import dataclass

from console import zones
from console.models import OperatorPreference


@dataclass(frozen=True)
class OperatorZone:
    """The zone the pages use and where it came from: "saved" (the settings page), "browser" (the ats_tz cookie)
    or "default" (UTC)."""

    name: str
    source: str


def saved_time_zone(user) -> str:
    """The zone the operator saved on the settings page; "" when they follow the browser."""
    if not user or not user.is_authenticated:
        return ""
    return OperatorPreference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""


def operator_zone(user, cookie: str | None) -> OperatorZone:
    """The saved zone, else the browser's (the cookie, when it names a real zone), else UTC."""
    saved = saved_time_zone(user)
    if zones.is_zone(saved):
        return OperatorZone(saved, "saved")
    if zones.is_zone(cookie):
        assert cookie is not None
        return OperatorZone(cookie, "browser")
    return OperatorZone(zones.DEFAULT, "default")
