"""The operator's settings page: the time zone every page is written in."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from console import zones
from console.selectors import saved_time_zone
from console.services import TimeZoneRefused, do_set_time_zone


def _render(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "zone": request.operator_zone,  # type: ignore[attr-defined]
        "saved": saved_time_zone(request.user),
        "browser_zone": request.COOKIES.get(zones.COOKIE, "")
        if zones.is_zone(request.COOKIES.get(zones.COOKIE))
        else "",
        "zone_names": zones.zone_names(),
        "now": timezone.now(),
        "error": error,
        "nav": "settings",
    }
    return render(request, "console/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """Show the zone in force and where it comes from; POST time_zone saves one ("" follows the browser)."""
    if request.method == "POST":
        try:
            zone = do_set_time_zone(request.user, request.POST.get("time_zone", ""))
        except TimeZoneRefused as exc:
            return _render(request, str(exc), status=400)
        messages.success(request, f"times are now shown in {zone}" if zone else "times now follow your browser's zone")
        return redirect("console:settings")
    return _render(request)
