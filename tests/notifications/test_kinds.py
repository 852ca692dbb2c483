"""Every alert the product raises reaches every configured channel through the service that raises it: gateway
broken/restored, loss breaker tripped, flatten incomplete (account and session), attribution mismatch, fill inferred,
session failed or lost, approval granted/revoked, the audit anchor (webhook only) and the test notification."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from ats_site.config import GatewayConfig
from audit.models import Action, AuditEntry
from notifications.models import Alert, DeliveryStatus
from tests.conftest import TEST_OVERRIDE
from tests.notifications.conftest import RECIPIENTS, finished, wait_until
from tests.notifications.test_delivery import closed_port
from trading.sessions.models import SessionStatus, TradingSession

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
EVERY_CHANNEL = {"webhook", "email", "slack", "discord"}


def make_session(status=SessionStatus.RUNNING, **extra) -> TradingSession:
    return TradingSession.objects.create(
        environment="paper",
        account_id="DU1234567",
        sleeves=[{"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST", "params": {}}],
        risk_caps={},
        started_by="user:ops",
        status=status,
        **extra,
    )


def reached_everywhere(channels, kind: str, count: int = 1) -> list[Alert]:
    """The alerts of this kind, each finished with every channel delivered, and each receiver holding it."""
    receivers, smtp = channels
    alerts = wait_until(
        lambda: (
            list(Alert.objects.filter(kind=kind).order_by("id"))
            if Alert.objects.filter(kind=kind).count() >= count
            else []
        ),
        10,
    )
    assert len(alerts) == count, f"{kind}: {len(alerts)} alert(s) raised"
    for alert in alerts:
        assert finished(alert.pk), f"{kind}: alert #{alert.pk} did not finish"
        states = {d.channel: d.status for d in alert.deliveries.all()}
        assert states == dict.fromkeys(EVERY_CHANNEL, DeliveryStatus.DELIVERED), (kind, states)
        (entry,) = AuditEntry.objects.filter(target=f"alert:{alert.pk}")
        assert entry.action == Action.NOTIFICATION_DELIVERED and entry.payload["kind"] == kind
    assert [b for b in receivers["webhook"].bodies() if b["kind"] == kind]
    assert [b for b in receivers["slack"].bodies() if b["text"].endswith(f"({kind})")]
    assert [b for b in receivers["discord"].bodies() if b["content"].endswith(f"({kind})")]
    assert [m for m in smtp.messages if f"] {kind}: " in m["data"] and m["to"] == list(RECIPIENTS)]
    return alerts


def test_gateway_broken_and_restored(all_channels):
    from trading.monitoring.services import do_record_check

    do_record_check("paper", True, "", ["DU1234567"])  # the start: no alert
    do_record_check("paper", False, "connection refused", [])
    do_record_check("paper", True, "", ["DU1234567"])
    (down,) = reached_everywhere(all_channels, "gateway_down")
    (up,) = reached_everywhere(all_channels, "gateway_up")
    assert down.message == "paper gateway is broken: connection refused" and down.actor == "system:gateway-monitor"
    assert up.message == "paper gateway is healthy again"


def test_loss_breaker_tripped(all_channels):
    from trading.sessions.breaker_services import do_trip_breaker

    session = make_session()
    do_trip_breaker(session.pk, "loss breaker: the day's loss 2600.00 is over 2500", {"daily": "-2600"}, "system:s-1")
    (alert,) = reached_everywhere(all_channels, "risk.breaker_tripped")
    assert "2600.00" in alert.message and alert.details["daily"] == "-2600" and alert.actor == "system:s-1"


def test_account_flatten_incomplete(all_channels, settings):
    from trading.sessions.account_flatten import do_flatten_account

    gateway = GatewayConfig("paper", "127.0.0.1", closed_port(), "DU1234567")
    settings.ATS = dataclasses.replace(settings.ATS, paper=gateway)
    result = do_flatten_account(environment="paper", actor="user:ops", reason="end of day")
    assert not result.ok
    (alert,) = reached_everywhere(all_channels, "account.flatten_incomplete")
    assert alert.actor == "user:ops" and alert.details["reason"] == "end of day"


def test_session_flatten_incomplete(all_channels):
    from trading.sessions.host_kill import SessionKill

    session = make_session()
    host = SimpleNamespace(actor="system:session-host", session_id=session.pk, session=session)
    SessionKill(host)._alert_incomplete("flatten incomplete: QQQ +12 still open", {"QQQ": Decimal(12)})
    (alert,) = reached_everywhere(all_channels, "session.flatten_incomplete")
    assert alert.details["positions"] == {"QQQ": "12"}


@pytest.fixture
def host_loop():
    """An event loop running in a thread, standing in for a session host's node loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _host(session, loop):
    from trading.sessions.host_events import HostEvents

    emitted = []
    host = SimpleNamespace(
        session_id=session.pk,
        session=session,
        node=SimpleNamespace(get_event_loop=lambda: loop),
        sink=SimpleNamespace(emit=lambda kind, payload, audit_action=None: emitted.append((kind, audit_action))),
    )
    host.events = HostEvents(host)
    return host, emitted


def test_attribution_mismatch_raised_on_the_hosts_loop(all_channels, host_loop):
    from trading.sessions.host_attribution import AttributionCheck

    session = make_session()
    host, emitted = _host(session, host_loop)
    line = "attribution: QQQ is +10 at the broker but +0 by this session's fills"
    host_loop.call_soon_threadsafe(AttributionCheck(host)._report, line, "QQQ")
    (alert,) = reached_everywhere(all_channels, "risk.attribution_mismatch")
    assert alert.message == f"session #{session.pk}: {line}"
    assert emitted == [("risk", Action.ATTRIBUTION_MISMATCH)]


def test_fill_inferred_raised_on_the_hosts_loop(all_channels, host_loop):
    session = make_session()
    host, _ = _host(session, host_loop)
    host_loop.call_soon_threadsafe(
        host.events.alert_off_loop, "order.fill_inferred", "reconciliation inferred a fill", {"last_qty": "5"}
    )
    reached_everywhere(all_channels, "order.fill_inferred")


def test_session_failed_and_lost(all_channels):
    from trading.sessions.services import do_finish_session, do_mark_lost_sessions

    failing = make_session()
    do_finish_session(failing.pk, SessionStatus.FAILED, "node crashed: RuntimeError: boom", "system:session-host")
    (failed,) = reached_everywhere(all_channels, "session_failed")
    assert failed.message == f"paper session #{failing.pk} failed: node crashed: RuntimeError: boom"
    now = timezone.now()
    gone = make_session(
        lease_owner="deadhost:4242", lease_expires_at=now - timedelta(seconds=20), heartbeat_at=now - timedelta(35)
    )
    assert do_mark_lost_sessions() == [gone.pk]
    (lost,) = reached_everywhere(all_channels, "session_lost")
    assert lost.details["lease_owner"] == "deadhost:4242" and lost.message.endswith("it is not restarted")
    stopped = make_session()
    do_finish_session(stopped.pk, SessionStatus.STOPPED, "stopped by the operator", "user:ops")  # not an alarm
    assert not Alert.objects.filter(details__session=stopped.pk).exists()


def test_approval_granted_and_revoked(all_channels, demo_strategy, known_instruments):
    from approvals.services import do_approve_live, do_revoke_live

    approval = do_approve_live(
        strategy="demo",
        instrument_id="QQQ.NASDAQ",
        note="paper rung passed",
        actor="user:approver",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    (granted,) = reached_everywhere(all_channels, "approval.granted")
    assert granted.environment == "live" and granted.actor == "user:approver"
    assert granted.details["approval_id"] == approval.pk and "ladder overridden" in granted.message
    do_revoke_live(strategy="demo", instrument_id="QQQ.NASDAQ", note="drawdown beyond plan", actor="user:risk")
    (revoked,) = reached_everywhere(all_channels, "approval.revoked")
    assert revoked.message == "demo on QQQ.NASDAQ: live approval revoked by user:risk: drawdown beyond plan"


def test_the_test_notification(all_channels):
    from notifications.services import do_send_test_alert

    do_send_test_alert("user:ops")
    (alert,) = reached_everywhere(all_channels, "test")
    assert alert.actor == "user:ops" and AuditEntry.objects.get(target=f"alert:{alert.pk}").actor == "user:ops"


def test_the_audit_anchor_goes_to_the_webhook_through_the_audit_watch(all_channels):
    from audit.services import record
    from trading.monitoring.audit_watch import watch_audit_once

    receivers, _ = all_channels
    record(Action.ORDER_INTENT, actor="system:test")  # not anchored at once: the watch publishes it
    watch_audit_once()
    alert = wait_until(lambda: Alert.objects.filter(kind="audit_anchor").first())
    assert alert and finished(alert.pk)
    assert receivers["webhook"].wait_for()[0]["kind"] == "audit_anchor" and receivers["slack"].bodies() == []
