"""Health-state writes, acknowledgement, the page selector, telemetry and the webhook sender."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import point_settings
from trading.monitoring.models import GatewayHealth
from trading.monitoring.selectors import gateway_states
from trading.monitoring.services import AcknowledgeRefused, do_acknowledge, do_record_check
from trading.sessions.telemetry import telemetry_group

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def configured(settings, webhook, transactional_db):
    return point_settings(settings, paper_port=4002, webhook_url=webhook.url)


def actions(environment="paper"):
    return list(
        AuditEntry.objects.filter(target=f"gateway:{environment}").order_by("seq").values_list("action", flat=True)
    )


def test_only_transitions_are_audited_and_alerted(configured, webhook):
    do_record_check("paper", True, "", ["DU1234567"])
    assert actions() == [] and webhook.bodies() == []  # the first healthy check is the start, not a recovery
    do_record_check("paper", True, "", ["DU1234567"])
    down = do_record_check("paper", False, "connection refused at 127.0.0.1:4002:\n no gateway", [])
    assert down.message == "connection refused at 127.0.0.1:4002: no gateway"  # one line
    do_record_check("paper", False, "no API handshake (timed out)", [])  # still broken: reason refreshed only
    assert GatewayHealth.objects.get(environment="paper").message == "no API handshake (timed out)"
    up = do_record_check("paper", True, "ignored when healthy", ["DU1234567"])
    do_record_check("paper", True, "", ["DU1234567"])
    assert actions() == [Action.GATEWAY_DOWN, Action.GATEWAY_UP]
    assert up.message == "" and up.changed_at > down.changed_at and up.down_at == down.down_at
    assert webhook.wait_for("gateway_up") and [b["kind"] for b in webhook.bodies()] == ["gateway_down", "gateway_up"]
    body = webhook.bodies("gateway_down")[0]
    assert body["source"] == "ats" and body["environment"] == "paper"
    assert body["message"] == "paper gateway is broken: connection refused at 127.0.0.1:4002: no gateway"
    assert body["text"].startswith("[ATS paper] ") and body["details"]["managed_accounts"] == []


def test_first_check_finding_the_gateway_down_is_an_outage(configured, webhook):
    health = do_record_check("live", False, "connection refused", [])
    assert health.healthy is False and health.needs_ack
    assert actions("live") == [Action.GATEWAY_DOWN]
    assert AuditEntry.objects.get(action=Action.GATEWAY_DOWN).payload["previous"] is None
    assert webhook.wait_for("gateway_down")[0]["environment"] == "live"


def test_a_failed_transaction_neither_alerts_nor_keeps_the_state(configured, webhook):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        do_record_check("paper", False, "refused", [])
        raise RuntimeError("rolled back")
    assert not GatewayHealth.objects.exists() and actions() == [] and webhook.bodies() == []


def test_unknown_environment_is_refused(configured):
    with pytest.raises(ValueError, match="unknown environment 'demo'"):
        do_record_check("demo", False, "x", [])
    with pytest.raises(ValueError, match="unknown environment"):
        do_acknowledge("demo", "user:ops")


def test_acknowledging_clears_needs_ack_until_the_next_outage(configured):
    with pytest.raises(AcknowledgeRefused, match="never been seen broken"):
        do_acknowledge("paper", "user:ops")
    do_record_check("paper", True, "", ["DU1234567"])
    assert gateway_states()[0]["needs_ack"] is False
    do_record_check("paper", False, "connection refused", [])
    do_record_check("paper", True, "", ["DU1234567"])  # recovered, but nobody has seen the outage yet
    (state,) = gateway_states()
    assert state["healthy"] is True and state["needs_ack"] is True
    do_acknowledge("paper", "user:ops")
    assert gateway_states()[0]["needs_ack"] is False
    ack = AuditEntry.objects.get(action=Action.GATEWAY_CONNECTIVITY)
    assert ack.actor == "user:ops" and ack.target == "gateway:paper" and ack.payload["acknowledged"] is True
    with pytest.raises(AcknowledgeRefused, match="acknowledged by user:ops already"):
        do_acknowledge("paper", "user:other")
    do_record_check("paper", False, "silent", [])
    assert gateway_states()[0]["needs_ack"] is True


def test_gateway_states_cover_every_monitored_gateway(settings, transactional_db):
    point_settings(settings, paper_port=4002, live_port=4001)
    unchecked = gateway_states()  # nothing checked yet: shown as unknown and stale, not as healthy
    assert [(s["environment"], s["healthy"], s["stale"]) for s in unchecked] == [
        ("paper", None, True),
        ("live", None, True),
    ]
    assert "never checked" in unchecked[0]["message"]
    do_record_check("paper", False, "connection refused", [])
    GatewayHealth.objects.filter(environment="paper").update(checked_at=timezone.now() - timedelta(minutes=5))
    paper = gateway_states()[0]
    assert paper["healthy"] is False and paper["message"] == "connection refused" and paper["stale"] is True
    assert set(paper) >= {"environment", "healthy", "message", "checked_at", "changed_at", "needs_ack"}
    point_settings(settings, paper_port=4002)
    assert [s["environment"] for s in gateway_states()] == ["paper"]


def test_transitions_are_published_to_the_environment_telemetry_group(configured, settings):
    # publish() only sends when a cross-process layer is configured; the in-memory layer from the settings
    # stands in for Redis here, so the real publish path runs.
    settings.REDIS_URL = "redis://stand-in-for-the-test"
    layer = get_channel_layer("paper")
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(telemetry_group("paper"), channel)
    do_record_check("paper", False, "connection refused", [])
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "telemetry.event" and message["kind"] == "gateway"
    assert message["transition"] == "down" and message["healthy"] is False and message["environment"] == "paper"
    assert message["message"] == "connection refused" and message["needs_ack"] is True
