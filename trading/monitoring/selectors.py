"""Gateway-health reads for the pages."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from trading.monitoring.models import GatewayHealth

# The monitor checks every few seconds; a state older than this means the monitor itself is not running.
STALE_AFTER = timedelta(seconds=30)


def monitored_environments() -> list[str]:
    """The environments whose gateway is checked: paper always, live only when live trading is enabled."""
    return ["paper"] + (["live"] if settings.ATS.enable_live_trading else [])


def gateway_states() -> list[dict]:
    """One dict per monitored gateway: environment, healthy, message, checked_at, changed_at, needs_ack, stale."""
    rows = {h.environment: h for h in GatewayHealth.objects.all()}
    now = timezone.now()
    states = []
    for environment in monitored_environments():
        health = rows.get(environment) or GatewayHealth(environment=environment)
        stale = health.checked_at is None or now - health.checked_at > STALE_AFTER
        gateway = settings.ATS.gateway(environment)
        states.append(
            {
                "environment": environment,
                "healthy": health.healthy,
                "message": health.message
                if health.healthy is not None
                else "never checked: is monitor_gateways running?",
                "checked_at": health.checked_at,
                "changed_at": health.changed_at,
                "down_at": health.down_at,
                "needs_ack": health.needs_ack,
                "stale": stale,
                "managed_accounts": health.managed_accounts,
                "address": f"{gateway.host}:{gateway.port}",
            }
        )
    return states
