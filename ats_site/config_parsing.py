"""The configuration error and the generic value parsers shared by every settings module (Django-free)."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message is one line naming the variable."""


def parse_count(name: str, raw: str) -> int:
    """Parse a positive whole number."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{name}: must be at least 1, got {raw!r}")
    return value


def parse_bool(name: str, raw: str) -> bool:
    """Parse a boolean strictly: a typo in a safety flag must not silently mean 'off' or 'on'."""
    lowered = str(raw).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def parse_port(name: str, raw: str) -> int:
    """Parse a TCP port number."""
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}: port {port} is out of range 1..65535")
    return port
