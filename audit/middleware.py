"""Who is acting in this request, so audit entries written from model signals name the administrator."""

from __future__ import annotations

import contextvars
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_acting_user: contextvars.ContextVar[str] = contextvars.ContextVar("ats_acting_user", default="")


def acting_actor(default: str) -> str:
    """The actor string of the logged-in user whose request is running, else `default`."""
    return _acting_user.get() or default


class ActingUserMiddleware:
    """Remember the request's authenticated user for the request's duration (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        actor = f"user:{user.get_username()}" if user is not None and user.is_authenticated else ""
        token = _acting_user.set(actor)
        try:
            return self.get_response(request)
        finally:
            _acting_user.reset(token)
