"""Gateway-health writes: each does its domain write and its audit entry in one transaction."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record, system_actor
from notifications.services import do_send_alert
from trading.monitoring.models import GatewayHealth
from trading.sessions.models import Environment
from trading.sessions.telemetry import publish

log = logging.getLogger(__name__)

MONITOR_ACTOR = system_actor("gateway-monitor")
MESSAGE_MAX = 500


class AcknowledgeRefused(Exception):
    """An acknowledgement was refused; the message is one line saying why."""


def one_line(text: str) -> str:
    """Collapse whitespace and newlines and cut to the stored length, so a reason always fits one banner line."""
    return " ".join(str(text or "").split())[:MESSAGE_MAX]


def _check_environment(environment: str) -> None:
    if environment not in Environment.values:
        raise ValueError(f"unknown environment {environment!r}: expected paper or live")


def do_record_check(
    environment: str,
    healthy: bool,
    message: str = "",
    managed_accounts: list[str] | None = None,
    details: dict | None = None,
) -> GatewayHealth:
    """Store one check's outcome; on a transition audit it and raise the alert (its outbox rows commit with it), then
    (after commit) publish it to the pages."""
    _check_environment(environment)
    message = "" if healthy else one_line(message) or "broken (no reason given)"
    now = timezone.now()
    with transaction.atomic():
        health, _ = GatewayHealth.objects.select_for_update().get_or_create(environment=environment)
        previous = health.healthy
        health.healthy, health.checked_at, health.message = bool(healthy), now, message
        health.managed_accounts = list(managed_accounts or [])
        changed = previous is None or previous != bool(healthy)
        # The first check finding the gateway down is an outage to report; finding it up is just the start.
        went_down = not healthy and previous is not False
        came_up = healthy and previous is False
        if changed:
            health.changed_at = now
        if went_down:
            health.down_at = now
        health.save()
        if went_down or came_up:
            payload = {
                "environment": environment,
                "healthy": bool(healthy),
                "message": message,
                "previous": previous,
                "managed_accounts": health.managed_accounts,
                **(details or {}),
            }
            record(
                Action.GATEWAY_DOWN if went_down else Action.GATEWAY_UP,
                actor=MONITOR_ACTOR,
                target=f"gateway:{environment}",
                payload=payload,
            )
            do_send_alert(
                "gateway_up" if came_up else "gateway_down",
                environment,
                transition_text(health),
                {
                    "message": health.message,
                    "changed_at": health.changed_at.isoformat(),
                    "managed_accounts": health.managed_accounts,
                    **(details or {}),
                },
                actor=MONITOR_ACTOR,
            )
            transaction.on_commit(lambda: announce_transition(health, previous))
    return health


def transition_text(health: GatewayHealth) -> str:
    """The one line an operator reads about a transition."""
    if health.healthy:
        return f"{health.environment} gateway is healthy again"
    return f"{health.environment} gateway is broken: {health.message}"


def announce_transition(health: GatewayHealth, previous: bool | None) -> None:
    """Tell the pages (telemetry) about a transition and log it; never raises (the alert went with the commit)."""
    environment = health.environment
    event = {
        "kind": "gateway",
        "transition": "up" if health.healthy else "down",
        "environment": environment,
        "healthy": health.healthy,
        "message": health.message,
        "previous": previous,
        "changed_at": health.changed_at.isoformat(),
        "ts": health.changed_at.isoformat(),
        "needs_ack": health.needs_ack,
    }
    try:
        publish(environment, event)
    except Exception:  # the pages resync from GatewayHealth
        log.warning("%s gateway: channel-layer publish failed", environment, exc_info=True)
    (log.info if health.healthy else log.error)("%s", transition_text(health))


def do_acknowledge(environment: str, actor: str) -> GatewayHealth:
    """Acknowledge the latest broken transition (clears the banner), with an audit entry; refuse if none is open."""
    _check_environment(environment)
    with transaction.atomic():
        health = GatewayHealth.objects.select_for_update().filter(environment=environment).first()
        if health is None or health.down_at is None:
            raise AcknowledgeRefused(f"nothing to acknowledge: the {environment} gateway has never been seen broken")
        if not health.needs_ack:
            raise AcknowledgeRefused(
                f"nothing to acknowledge: the {environment} gateway outage of {health.down_at:%Y-%m-%d %H:%M:%S} UTC "
                f"was acknowledged by {health.acknowledged_by or 'someone'} already"
            )
        health.acknowledged_at, health.acknowledged_by = timezone.now(), actor
        health.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record(
            Action.GATEWAY_CONNECTIVITY,
            actor=actor,
            target=f"gateway:{environment}",
            payload={
                "acknowledged": True,
                "down_at": health.down_at.isoformat(),
                "healthy": health.healthy,
                "message": health.message,
            },
        )
    return health


def do_reap_lost_sessions() -> list[int]:
    """Mark active sessions whose lease expired as lost (audited and alerted by do_finish_session); never restart
    them."""
    from trading.sessions.services import do_mark_lost_sessions

    return do_mark_lost_sessions()
