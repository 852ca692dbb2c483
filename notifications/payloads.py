"""What each channel receives for one alert, and the retry schedule: pure functions, no Django."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DISCORD_CONTENT_MAX = 2000  # Discord refuses longer content
SUBJECT_MAX = 150
BACKOFF_CAP_SECONDS = 600.0  # no retry waits longer than this, however many came before


@dataclass(frozen=True)
class AlertMessage:
    """One alert as the channels render it."""

    alert_id: int | None
    kind: str
    environment: str
    message: str
    raised_at: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        """The one line every channel leads with: `[ATS paper] paper gateway is broken: ...`."""
        return f"[ATS {self.environment}] {self.message}"


def webhook_body(alert: AlertMessage, sent_at: str) -> dict[str, Any]:
    """The ATS webhook's JSON; `text` makes it readable by Slack/Mattermost-style incoming webhooks too."""
    return {
        "source": "ats",
        "alert": alert.alert_id,
        "kind": alert.kind,
        "environment": alert.environment,
        "message": alert.message,
        "details": alert.details,
        "raised_at": alert.raised_at,
        "sent_at": sent_at,
        "text": alert.headline,
    }


def slack_body(alert: AlertMessage) -> dict[str, Any]:
    """A Slack-compatible incoming webhook's JSON."""
    return {"text": f"{alert.headline} ({alert.kind})"}


def discord_body(alert: AlertMessage) -> dict[str, Any]:
    """A Discord-compatible webhook's JSON; mentions in the message never ping anyone."""
    return {"content": f"{alert.headline} ({alert.kind})"[:DISCORD_CONTENT_MAX], "allowed_mentions": {"parse": []}}


def email_subject(alert: AlertMessage) -> str:
    """One line: `[ATS paper] gateway_down: paper gateway is broken: ...`."""
    subject = " ".join(f"[ATS {alert.environment}] {alert.kind}: {alert.message}".split())
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def email_body(alert: AlertMessage) -> str:
    """The plain-text email: the message, what raised it, and its details."""
    lines = [
        alert.message,
        "",
        f"kind:        {alert.kind}",
        f"environment: {alert.environment}",
        f"alert:       #{alert.alert_id}" if alert.alert_id is not None else "alert:       (not recorded)",
        f"raised at:   {alert.raised_at}",
    ]
    if alert.details:
        lines += ["", "details:", json.dumps(alert.details, indent=2, sort_keys=True, default=str)]
    return "\n".join(lines) + "\n"


def backoff_seconds(failed_attempts: int, base: float, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """The wait before the next attempt after `failed_attempts` failures: base, 2×base, 4×base, ... up to cap."""
    return float(min(base * 2 ** max(failed_attempts - 1, 0), cap))
