"""Notification settings: the alert channels (ATS_ALERT_*) and outgoing mail (EMAIL_*), validated at start-up.

Django-free like config.py, whose ConfigError it raises: one line naming the variable. A value that is a secret
(a webhook URL carries its token in the path or query, the SMTP password) is never echoed in an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from ats_site.config_parsing import ConfigError, parse_bool, parse_port

EMAIL_RE = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$|^[^@\s,<>]+@localhost$")
Raw = Callable[[str, str], str]


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@dataclass(frozen=True, repr=False)
class EmailSettings:
    """Outgoing mail, read from the EMAIL_* variables Django has always used; the settings turn it into MAILERS."""

    host: str
    port: int
    host_user: str
    host_password: str
    use_tls: bool
    use_ssl: bool
    timeout: int
    from_email: str


def parse_webhook_url(name: str, raw: str) -> str:
    """An http(s) URL with a host, or empty; the error never repeats the URL (its path is the secret)."""
    value = raw.strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise ConfigError(f"{name}: not a valid URL (value not shown: it may carry a token)") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{name}: must be an http:// or https:// URL with a host (value not shown)")
    return value


def parse_recipients(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated email addresses (empty = none); each must look like name@domain."""
    addresses = tuple(part.strip() for part in raw.split(",") if part.strip())
    for address in addresses:
        if not EMAIL_RE.match(address):
            raise ConfigError(f"{name}: {address!r} is not an email address (comma-separated list expected)")
    return addresses


def parse_positive_seconds(name: str, raw: str) -> float:
    """A positive number of seconds (fractions allowed)."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ConfigError(f"{name}: {raw!r} is not a number of seconds") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{name}: must be a positive number of seconds, got {raw!r}")
    return float(value)


def load_email_settings(raw: Raw) -> EmailSettings:
    """Read Django's EMAIL_* variables (and DEFAULT_FROM_EMAIL) as the email channel uses them."""
    host = raw("EMAIL_HOST", "localhost").strip()
    if not host:
        raise ConfigError("EMAIL_HOST: must not be empty")
    use_tls = parse_bool("EMAIL_USE_TLS", raw("EMAIL_USE_TLS", "false"))
    use_ssl = parse_bool("EMAIL_USE_SSL", raw("EMAIL_USE_SSL", "false"))
    if use_tls and use_ssl:
        raise ConfigError("EMAIL_USE_SSL: cannot be true together with EMAIL_USE_TLS (pick STARTTLS or implicit TLS)")
    try:
        timeout = int(raw("EMAIL_TIMEOUT", "10").strip())
    except ValueError:
        raise ConfigError(f"EMAIL_TIMEOUT: {raw('EMAIL_TIMEOUT', '10')!r} is not a whole number of seconds") from None
    if timeout < 1:
        raise ConfigError(f"EMAIL_TIMEOUT: must be at least 1 second, got {timeout}")
    from_email = raw("DEFAULT_FROM_EMAIL", "ats@localhost").strip()
    if not EMAIL_RE.match(from_email):
        raise ConfigError(f"DEFAULT_FROM_EMAIL: {from_email!r} is not an email address")
    return EmailSettings(
        host=host,
        port=parse_port("EMAIL_PORT", raw("EMAIL_PORT", "25")),
        host_user=raw("EMAIL_HOST_USER", "").strip(),
        host_password=raw("EMAIL_HOST_PASSWORD", ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
        timeout=timeout,
        from_email=from_email,
    )


def mailer_entry(email: EmailSettings) -> dict[str, Any]:
    """The MAILERS["default"] entry (Django 6.1's mail configuration) for these settings."""
    return {
        "BACKEND": SMTP_BACKEND,
        "OPTIONS": {
            "host": email.host,
            "port": email.port,
            "username": email.host_user,
            "password": email.host_password,
            "use_tls": email.use_tls,
            "use_ssl": email.use_ssl,
            "timeout": email.timeout,
        },
    }
