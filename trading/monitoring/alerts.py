"""Operator alerts posted to the optional webhook (ATS_ALERT_WEBHOOK_URL)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 3.0  # an alert must never hold up the monitor for long


def redacted(url: str) -> str:
    """The URL reduced to scheme://host[:port]: webhook paths and queries often carry tokens."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "<unparseable webhook url>"


def alert_body(kind: str, environment: str, message: str, details: dict | None = None) -> dict:
    """The JSON posted for one alert; `text` makes it readable by Slack/Mattermost-style incoming webhooks."""
    return {
        "source": "ats",
        "kind": kind,
        "environment": environment,
        "message": message,
        "details": details or {},
        "sent_at": datetime.now(UTC).isoformat(),
        "text": f"[ATS {environment}] {message}",
    }


def send_alert(kind: str, environment: str, message: str, details: dict | None = None) -> bool:
    """Post one alert to the webhook if one is configured; return whether it was delivered. Never raises."""
    url = settings.ATS.alert_webhook_url
    if not url:
        return False
    target = redacted(url)
    if urlsplit(url).scheme not in ("http", "https"):
        log.error("alert %s (%s) not sent: webhook %s is not an http(s) URL", kind, environment, target)
        return False
    try:
        data = json.dumps(alert_body(kind, environment, message, details), default=str).encode()
        request = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "ats-monitor"}
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(1024)
        return True
    except urllib.error.HTTPError as exc:
        log.error("alert %s (%s) not delivered: webhook %s answered HTTP %s", kind, environment, target, exc.code)
    except Exception as exc:  # an unreachable webhook must not take the monitor down; the loss is logged loudly
        # str(exc) of URLError/socket errors names no URL, but keep only the class and reason to be safe.
        reason = getattr(exc, "reason", None) or type(exc).__name__
        log.error("alert %s (%s) not delivered: webhook %s failed: %s", kind, environment, target, reason)
    return False
