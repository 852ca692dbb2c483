"""A test-only URLconf: the site's routes and error handlers, plus one view that fails, for the 500 page."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from ats_site.urls import handler400, handler403, handler404, handler500
from ats_site.urls import urlpatterns as site_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


@login_not_required
def boom(request: HttpRequest) -> HttpResponse:
    """Fails the way an unexpected bug does."""
    raise RuntimeError("a bug with a SECRET-in-the-message")


urlpatterns = [path("test-only/boom/", boom), *site_urlpatterns]
