"""WebSocket origin check: the page that opens a socket must come from this very site (scheme, host and port)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) origin, default ports filled in; None when malformed."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _page_scheme(scope: dict[str, Any]) -> str:
    """The scheme of the pages this socket belongs to: https behind wss or a proxy that says so."""
    if scope.get("scheme") == "wss":
        return "https"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header = proxy[0].removeprefix("HTTP_").lower().replace("_", "-").encode()
        if _header(scope, header) == proxy[1]:
            return "https"
    return "http"


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether the socket's Origin is this site's own origin (Host header in ALLOWED_HOSTS) or a trusted one."""
    origin = _origin_key(_header(scope, b"origin") or "")
    if origin is None:
        return False
    trusted = {_origin_key(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    if origin in trusted:
        return True
    host = _header(scope, b"host")
    if not host:
        return False
    domain, _ = split_domain_port(host)
    allowed_hosts = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed_hosts):
        return False
    return origin == _origin_key(f"{_page_scheme(scope)}://{host}")


class SameOriginValidator:
    """ASGI middleware refusing a websocket whose Origin is not exactly this site's (scheme, host and port)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Pass the connection on, or deny it before it reaches authentication."""
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
