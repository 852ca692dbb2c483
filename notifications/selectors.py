"""Reads for the notification panel, the test button and send_test_alert: what is configured, how alerts fared."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from notifications.channels import configured_targets
from notifications.models import Alert, Delivery, DeliveryStatus

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class DeliveryState:
    """One channel's state for one alert, secrets already redacted."""

    channel: str
    destination: str
    status: str
    attempts: int
    last_error: str

    def line(self, max_attempts: int) -> str:
        """`slack delivered`, `email FAILED after 3 attempt(s): ...`, `webhook retrying (attempt 1 of 6 ...)`."""
        if self.status == DeliveryStatus.DELIVERED:
            return f"{self.channel} delivered" + (f" (attempt {self.attempts})" if self.attempts > 1 else "")
        if self.status == DeliveryStatus.FAILED:
            return f"{self.channel} FAILED after {self.attempts} attempt(s): {self.last_error}"
        if self.attempts == 0:
            return f"{self.channel} not tried yet"
        return f"{self.channel} retrying (attempt {self.attempts} of {max_attempts} failed: {self.last_error})"


def channel_list() -> list[dict[str, str]]:
    """The channels configured in this process: name and redacted destination."""
    return [{"channel": t.channel, "destination": t.destination} for t in configured_targets()]


def delivery_states(alert_id: int) -> list[DeliveryState]:
    """Where each channel of one alert stands."""
    rows = Delivery.objects.filter(alert_id=alert_id).order_by("id")
    return [
        DeliveryState(d.channel, d.destination, d.status, d.attempts, d.last_error)
        for d in rows.only("channel", "destination", "status", "attempts", "last_error")
    ]


def wait_for_alert(alert_id: int, timeout: float, *, final: bool = False) -> list[DeliveryState]:
    """Poll until every channel of the alert was tried once (or, with `final`, is delivered or failed for good), or
    the timeout passes; return the states then."""
    deadline = time.monotonic() + timeout
    while True:
        states = delivery_states(alert_id)
        done = all(s.status != DeliveryStatus.PENDING if final else s.attempts > 0 for s in states)
        if done or time.monotonic() >= deadline:
            return states
        time.sleep(POLL_SECONDS)


def outcome_line(alert_id: int, states: list[DeliveryState]) -> str:
    """One line for an operator: `test notification #12: webhook delivered; email FAILED after ...`."""
    max_attempts = settings.ATS.alert_max_attempts
    parts = "; ".join(s.line(max_attempts) for s in states) or "no channel"
    return f"test notification #{alert_id}: {parts}"


def recent_alerts(limit: int = 10) -> list[dict]:
    """The latest alerts with each channel's state, newest first, for the panel."""
    max_attempts = settings.ATS.alert_max_attempts
    alerts = Alert.objects.order_by("-id").prefetch_related("deliveries")[:limit]
    return [
        {
            "id": a.pk,
            "created_at": a.created_at,
            "kind": a.kind,
            "environment": a.environment,
            "message": a.message,
            "deliveries": [
                {
                    "status": d.status,
                    "line": DeliveryState(d.channel, d.destination, d.status, d.attempts, d.last_error).line(
                        max_attempts
                    ),
                }
                for d in sorted(a.deliveries.all(), key=lambda d: d.pk)
            ],
        }
        for a in alerts
    ]
