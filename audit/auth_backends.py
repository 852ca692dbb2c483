"""The login throttle's authentication backend."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes's lockout check for every login that comes with a request (the login pages, the admin).

    A call without a request is in-process code (a shell, a test client's login), which no remote attacker can
    reach; axes would raise for it, so it is passed on to the next backend unthrottled.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        """Refuse (PermissionDenied) a locked-out username or address; authenticate nobody itself."""
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
