"""Secrets out of everything shown: webhook URLs reduced to their host, known secrets cut out of error text."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

REDACTED = "***"
MIN_SECRET_LENGTH = 4  # shorter fragments would blank out ordinary words
MIN_TOKEN_SEGMENT = 8  # a path segment this long may be a token; shorter ones ("hooks", "api") are words


def redacted(url: str) -> str:
    """The URL reduced to scheme://host[:port]: webhook paths and queries often carry tokens."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "<unparseable webhook url>"


def secret_parts(url: str) -> list[str]:
    """The pieces of a webhook URL that may be a token: the whole URL, its path, its query, its userinfo."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    pieces = [url, parts.path, parts.query, parts.password or "", parts.username or ""]
    pieces += [segment for segment in parts.path.split("/") if len(segment) >= MIN_TOKEN_SEGMENT]
    return [p for p in pieces if len(p) >= MIN_SECRET_LENGTH]


def scrub(text: str, secrets: Iterable[str], limit: int = 500) -> str:
    """`text` on one line with every secret (longest first) replaced by ***, cut to `limit` characters."""
    line = " ".join(str(text).split())
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        line = line.replace(secret, REDACTED)
    return line[:limit]
