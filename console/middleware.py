"""Every page is written in the operator's time zone: activated here for the request, shown by the filters."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from console import zones
from console.selectors import operator_zone


class OperatorTimeZoneMiddleware:
    """Activate the saved zone, else the browser's (cookie ats_tz), else UTC. After AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = operator_zone(getattr(request, "user", None), request.COOKIES.get(zones.COOKIE))
        request.operator_zone = zone  # type: ignore[attr-defined]
        timezone.activate(ZoneInfo(zone.name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
