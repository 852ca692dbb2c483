"""Site-wide views outside any bounded context: the favicon and the friendly error pages (400/403/404/500).

Django uses these when DEBUG is off (403 always); with DEBUG on (the embedded demo a new user runs) the 404 page is
still this one (FriendlyNotFoundMiddleware), while a 500 keeps Django's debug page for the developer. The 400 and 500
pages render without a request context, so they need no user and no database (templates/error_base.html); 403 and
404 keep the console's top bar."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
)
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.urls import Resolver404
from django.views.decorators.csrf import requires_csrf_token


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers and tools that do not read the pages' <link rel=icon>."""
    return HttpResponsePermanentRedirect(static("ats/favicon.ico"))


def _message(exception: Exception | None) -> str:
    """The one-line reason a view gave (Http404("no such session")), never the URL resolver's internals."""
    if exception is None or isinstance(exception, Resolver404) or not exception.args:
        return ""
    first = exception.args[0]
    return first.splitlines()[0] if isinstance(first, str) and first else ""


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Http404 | None = None) -> HttpResponse:
    """404: what was not found, in one line, and a link home."""
    response = render(request, "404.html", {"message": _message(exception), "path": request.path}, status=404)
    response.ats_error_page = True
    return response


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: PermissionDenied | None = None) -> HttpResponse:
    """403: which permission is missing, in one line, and a link home."""
    return render(request, "403.html", {"message": _message(exception)}, status=403)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 (e.g. a refused Host header): no request context, the request may be the problem."""
    return HttpResponseBadRequest(loader.get_template("400.html").render())


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """500: no request context, no user and no database (either may be what failed)."""
    return HttpResponseServerError(loader.get_template("500.html").render())


class FriendlyNotFoundMiddleware:
    """With DEBUG on, answer a missing page with the console's 404 page rather than Django's technical one (which
    lists every URL pattern). Listed after the CSP middleware, so the page it returns still carries the policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        technical = (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, "ats_error_page", False)
            and response.get("Content-Type", "").startswith("text/html")
        )
        return page_not_found(request) if technical else response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's Http404 keeps its one-line reason ("no such session")."""
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
