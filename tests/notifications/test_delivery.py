"""Delivery through real local receivers: each channel's payload, retries with backoff, final failures audited with
attempts and error, a dead SMTP server, a slow receiver, no database, and rows a dead process left behind."""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone

from audit.models import Action, AuditEntry
from notifications import courier
from notifications.channels import configured_targets
from notifications.models import Alert, Delivery, DeliveryStatus
from notifications.services import do_send_alert
from tests.notifications.conftest import (
    FAST_RETRY,
    MAX_ATTEMPTS,
    RECIPIENTS,
    SMTP_PASSWORD,
    SMTP_USER,
    TOKEN,
    HttpReceiver,
    finished,
    point_channels,
)

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.postgres,  # claims, the exactly-once audit and the savepoint behave per database: both run
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def audit_of(alert_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(target=f"alert:{alert_id}"))


def channels_of(entry: AuditEntry) -> dict[str, dict]:
    return {c["channel"]: c for c in entry.payload["channels"]}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and SMTP_PASSWORD not in text, text


def test_every_channel_gets_its_own_shape_and_the_alert_is_audited_once(all_channels):
    receivers, smtp = all_channels
    alert_id = do_send_alert(
        "gateway_down", "paper", "paper gateway is broken: connection refused", {"address": "127.0.0.1:4002"}
    )
    alert = finished(alert_id)
    assert alert is not None, "the alert did not finish"
    (webhook,) = receivers["webhook"].bodies()
    assert {k: webhook[k] for k in ("source", "alert", "kind", "environment", "message", "details", "text")} == {
        "source": "ats",
        "alert": alert_id,
        "kind": "gateway_down",
        "environment": "paper",
        "message": "paper gateway is broken: connection refused",
        "details": {"address": "127.0.0.1:4002"},
        "text": "[ATS paper] paper gateway is broken: connection refused",
    }
    assert webhook["raised_at"] == alert.created_at.isoformat() and webhook["sent_at"]
    assert receivers["slack"].bodies() == [
        {"text": "[ATS paper] paper gateway is broken: connection refused (gateway_down)"}
    ]
    assert receivers["discord"].bodies() == [
        {
            "content": "[ATS paper] paper gateway is broken: connection refused (gateway_down)",
            "allowed_mentions": {"parse": []},
        }
    ]
    assert all(r["content_type"] == "application/json" for rec in receivers.values() for r in rec.requests)
    (mail,) = smtp.messages
    assert mail["from"] == "ats@example.com" and mail["to"] == list(RECIPIENTS)
    assert "Subject: [ATS paper] gateway_down: paper gateway is broken: connection refused" in mail["data"]
    assert "kind:        gateway_down" in mail["data"] and '"address": "127.0.0.1:4002"' in mail["data"]
    assert smtp.auth_attempts == [SMTP_USER]
    (entry,) = audit_of(alert_id)
    assert entry.action == Action.NOTIFICATION_DELIVERED and entry.actor == "system:notifications"
    assert entry.payload["kind"] == "gateway_down" and entry.payload["environment"] == "paper"
    channels = channels_of(entry)
    assert set(channels) == {"webhook", "email", "slack", "discord"}
    assert all(c["ok"] and c["attempts"] == 1 and c["error"] == "" for c in channels.values())
    port = receivers["slack"].port
    assert channels["slack"]["to"] == f"http://127.0.0.1:{port}"  # where it went, the token cut off
    assert channels["email"]["to"] == f"ops@example.com, risk@example.com via 127.0.0.1:{smtp.port}"
    assert_no_secret(json.dumps(entry.payload))


def test_a_500_is_retried_with_growing_backoff_until_the_200(settings, transactional_db):
    receiver = HttpReceiver(statuses=(500, 500, 204))
    try:
        point_channels(settings, webhook=receiver.url)
        alert_id = do_send_alert("risk.breaker_tripped", "paper", "session #3: loss breaker tripped")
        assert finished(alert_id)
        first, second, third = receiver.times()
        assert second - first >= FAST_RETRY * 0.9 and third - second >= 2 * FAST_RETRY * 0.9  # base, then 2 x base
        (delivery,) = Delivery.objects.filter(alert_id=alert_id)
        assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
        (entry,) = audit_of(alert_id)
        assert entry.action == Action.NOTIFICATION_DELIVERED
        assert channels_of(entry)["webhook"] == {
            "channel": "webhook",
            "to": f"http://127.0.0.1:{receiver.port}",
            "ok": True,
            "attempts": 3,
            "error": "",
        }
    finally:
        receiver.close()


def test_a_channel_that_keeps_failing_is_given_up_and_audited_with_attempts_and_error(all_channels, caplog):
    receivers, _ = all_channels
    receivers["slack"].statuses = [500]
    receivers["discord"].statuses = [404]  # a client error: trying again cannot help
    caplog.set_level(logging.INFO)
    alert_id = do_send_alert("session_failed", "paper", "paper session #4 failed: node crashed")
    assert finished(alert_id)
    (entry,) = audit_of(alert_id)
    assert entry.action == Action.NOTIFICATION_FAILED
    channels = channels_of(entry)
    assert channels["slack"] == {
        "channel": "slack",
        "to": f"http://127.0.0.1:{receivers['slack'].port}",
        "ok": False,
        "attempts": MAX_ATTEMPTS,
        "error": "HTTP 500",
    }
    assert channels["discord"]["ok"] is False and channels["discord"]["attempts"] == 1
    assert channels["discord"]["error"] == "HTTP 404" and len(receivers["discord"].requests) == 1
    assert channels["webhook"]["ok"] and channels["email"]["ok"]  # one broken channel does not hold up the rest
    assert len(receivers["slack"].requests) == MAX_ATTEMPTS
    assert (
        f"slack http://127.0.0.1:{receivers['slack'].port}: not delivered after 3 attempt(s): HTTP 500" in caplog.text
    )
    assert_no_secret(caplog.text, json.dumps(entry.payload))


def test_a_dead_smtp_server_fails_email_only_after_its_retries(settings, receivers, transactional_db):
    port = closed_port()
    point_channels(settings, webhook=receivers["webhook"].url, email_to=RECIPIENTS, smtp_port=port)
    alert_id = do_send_alert("account.flatten_incomplete", "paper", "account DU1234567 flatten incomplete: QQQ +5")
    assert finished(alert_id)
    channels = channels_of(audit_of(alert_id)[0])
    assert channels["email"]["ok"] is False and channels["email"]["attempts"] == MAX_ATTEMPTS
    assert "ConnectionRefusedError" in channels["email"]["error"]
    assert channels["webhook"]["ok"] and receivers["webhook"].bodies()[0]["kind"] == "account.flatten_incomplete"


def test_a_wrong_smtp_password_is_final_at_once_and_never_shown(settings, smtp, transactional_db, caplog):
    wrong = "wrong-pa55word-never-shown-9e1b"
    point_channels(settings, email_to=RECIPIENTS, smtp_port=smtp.port, password=wrong)
    caplog.set_level(logging.INFO)
    alert_id = do_send_alert("test", "test", "check")
    assert finished(alert_id)
    (delivery,) = Delivery.objects.filter(alert_id=alert_id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1  # 535: trying again cannot help
    assert delivery.last_error.startswith("SMTP 535") and smtp.messages == []
    entry = audit_of(alert_id)[0]
    for text in (caplog.text, json.dumps(entry.payload), delivery.last_error, delivery.destination):
        assert wrong not in text


def test_a_slow_receiver_never_holds_up_the_caller(settings, transactional_db):
    receiver = HttpReceiver(delay=2.0)
    try:
        point_channels(settings, webhook=receiver.url)
        started = time.monotonic()
        with transaction.atomic():  # as the services call it: inside their own transaction
            alert_id = do_send_alert("gateway_down", "live", "live gateway is broken: silent")
        assert time.monotonic() - started < 0.5
        assert finished(alert_id)  # and it still arrives
        assert receiver.bodies()[0]["alert"] == alert_id
    finally:
        receiver.close()


def test_an_alert_raised_in_a_transaction_that_rolls_back_is_never_sent(settings, receivers, transactional_db):
    point_channels(settings, webhook=receivers["webhook"].url)
    with pytest.raises(RuntimeError), transaction.atomic():
        do_send_alert("gateway_down", "paper", "rolled back")
        raise RuntimeError("the write it reports failed")
    time.sleep(0.3)
    assert not Alert.objects.exists() and receivers["webhook"].bodies() == []


def test_no_channel_configured_means_no_rows_and_no_audit(settings, transactional_db, caplog):
    point_channels(settings)
    caplog.set_level(logging.INFO)
    assert do_send_alert("gateway_down", "paper", "nobody listens") is None
    assert not Alert.objects.exists() and not AuditEntry.objects.filter(target__startswith="alert:").exists()
    assert "not sent (no channel is configured)" in caplog.text


def test_without_the_database_the_alert_still_goes_out_unrecorded(settings, receivers, transactional_db, monkeypatch):
    point_channels(settings, webhook=receivers["webhook"].url)

    def database_gone(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(Alert.objects, "create", database_gone)
    assert do_send_alert("session_lost", "paper", "paper session #9 lost", {"session": 9}) is None
    (body,) = receivers["webhook"].wait_for()
    assert body["alert"] is None and body["kind"] == "session_lost" and body["details"] == {"session": 9}
    assert courier.flush(5)


def test_the_audit_anchor_goes_to_the_webhook_only_and_is_not_audited(all_channels):
    receivers, smtp = all_channels
    alert_id = do_send_alert("audit_anchor", "audit", "audit head #12 abc", {"time": "t"})
    assert finished(alert_id)
    assert [d.channel for d in Delivery.objects.filter(alert_id=alert_id)] == ["webhook"]
    assert receivers["webhook"].bodies()[0]["kind"] == "audit_anchor"
    assert receivers["slack"].bodies() == [] and smtp.messages == []
    assert audit_of(alert_id) == []  # its entry would move the very head it reports


def _left_row(key: str, *, due_ago: timedelta, attempts: int = 1) -> Delivery:
    """An alert and delivery as a process that died mid-retry leaves them: due, its claim expired."""
    now = timezone.now()
    alert = Alert.objects.create(
        kind="session_lost", environment="paper", message="left behind", actor="system:sessions", created_at=now
    )
    return Delivery.objects.create(
        alert=alert,
        channel="webhook",
        destination="http://127.0.0.1",
        destination_key=key,
        attempts=attempts,
        last_error="HTTP 500",
        next_attempt_at=now - due_ago,
        claimed_until=now - timedelta(seconds=1),
        claimed_by="dead-process",
    )


def test_rows_a_dead_process_left_are_finished_by_the_next_courier(settings, receivers, transactional_db):
    point_channels(settings, webhook=receivers["webhook"].url)
    (target,) = configured_targets()
    mine = _left_row(target.key, due_ago=timedelta(seconds=5))
    unknown_old = _left_row("configured-nowhere-now", due_ago=timedelta(hours=2))
    unknown_recent = _left_row("configured-nowhere-now", due_ago=timedelta(minutes=1))
    courier.wake()  # what the gateway monitor does every minute
    assert finished(mine.alert_id)
    assert receivers["webhook"].bodies()[0]["message"] == "left behind"
    mine.refresh_from_db()
    assert mine.status == DeliveryStatus.DELIVERED and mine.attempts == 2
    assert finished(unknown_old.alert_id)
    unknown_old.refresh_from_db()
    assert unknown_old.status == DeliveryStatus.FAILED and "no running process" in unknown_old.last_error
    assert audit_of(unknown_old.alert_id)[0].action == Action.NOTIFICATION_FAILED
    unknown_recent.refresh_from_db()
    assert unknown_recent.status == DeliveryStatus.PENDING  # maybe another process can still deliver it
