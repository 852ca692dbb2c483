"""A kill that does not need the host: the host is SIGKILLed (or stalled past its lease), and the kill is carried out
at the broker directly, end to end against ibsim with a real TradingNode."""

import dataclasses
import os
import signal

import pytest

from audit.models import Action, AuditEntry
from audit.services import verify_chain
from tests.monitoring.conftest import WebhookReceiver
from tests.sessions.conftest import PAPER_ACCOUNT, finish, wait_until
from trading.monitoring.services import do_reap_lost_sessions
from trading.sessions.client_ids import client_ids, kill_client_id
from trading.sessions.guards import SessionRefused
from trading.sessions.models import SessionStatus, TradingSession
from trading.sessions.orphan_kill import do_kill_without_host, host_gone, pid_alive
from trading.sessions.services import do_create_session, do_request_kill

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

BUY_AND_WORK = [
    {
        "strategy": "order_probe",
        "instrument_id": "QQQ.NASDAQ",
        "bar_spec": "5-SECOND-LAST",
        "params": {"action": "market_and_working", "count": 12},
    }
]


def working(sim) -> list[dict]:
    return [o for o in sim.orders() if o["status"] in ("Submitted", "PreSubmitted", "PendingSubmit")]


def start_long_with_a_working_order(stack):
    """A running session long 12 QQQ at ibsim with its limit buy working there, and its host process."""
    session = do_create_session(environment="paper", sleeves=BUY_AND_WORK, actor="user:tester")
    host = stack.host(session.pk)
    wait_until(
        lambda: stack.sim.positions(PAPER_ACCOUNT).get("QQQ", {}).get("qty") == 12 and working(stack.sim),
        60,
        message="the buy filled and the limit order working at ibsim",
    )
    # RUNNING reaches the database through the telemetry writer, which can trail the first fill.
    wait_until(
        lambda: TradingSession.objects.get(pk=session.pk).status == SessionStatus.RUNNING,
        30,
        message="the session recorded as running",
    )
    return session, host


def sigkill(host) -> None:
    os.kill(host.pid, signal.SIGKILL)
    host.wait()  # reaped: no zombie left behind


def alerts_to(settings) -> WebhookReceiver:
    """A webhook receiver the kill's alerts (sent from this process) go to."""
    webhook = WebhookReceiver()
    settings.ATS = dataclasses.replace(settings.ATS, alert_webhook_url=webhook.url)
    return webhook


def test_kill_with_flatten_of_a_sigkilled_host_ends_flat_at_the_broker(paper_stack):
    sim = paper_stack.sim
    session, host = start_long_with_a_working_order(paper_stack)
    sigkill(host)
    assert not pid_alive(host.pid)

    killed = do_request_kill(actor="user:tester", reason="host died", flatten=True, session_id=session.pk)

    assert killed == [session.pk]
    assert sim.positions(PAPER_ACCOUNT) == {}
    assert not working(sim), sim.orders()
    assert [o["status"] for o in sim.orders() if o["order_type"] == "LMT"] == ["Cancelled"]
    session.refresh_from_db()
    assert session.status == SessionStatus.KILLED
    assert session.stop_reason == (
        f"killed by user:tester: host died (halt and flatten) — carried out without its host (host process "
        f"{host.pid} on {session.host} is dead): working orders cancelled, positions closed, flat at the broker"
    )
    # The kill used a client id of its own, none of the session's, and closed once: one SELL of 12.
    sells = [m for m in sim.received("PLACE_ORDER", client_id=kill_client_id(session.pk)) if "SELL" in m["fields"]]
    assert len(sells) == 1 and kill_client_id(session.pk) not in client_ids(session.pk)
    intent = AuditEntry.objects.filter(action=Action.ORDER_INTENT, payload__without_host=True).get()
    assert intent.payload["side"] == "SELL" and intent.payload["quantity"] == "12"
    outcome = AuditEntry.objects.filter(action=Action.SESSION_KILL, payload__ok=True).get()
    assert outcome.payload["closes"][0]["status"] == "Filled" and outcome.payload["positions"] == {}
    assert AuditEntry.objects.filter(action=Action.SESSION_KILL, actor="user:tester").count() == 2  # asked, ended
    # A second request finds it killed: nothing is sent twice.
    with pytest.raises(SessionRefused, match="killed already"):
        do_request_kill(actor="user:tester", reason="again", flatten=True, session_id=session.pk)
    assert do_kill_without_host(session.pk) is None
    assert len(sim.received("PLACE_ORDER", client_id=kill_client_id(session.pk))) == 1
    assert verify_chain().ok


def test_the_reaper_carries_out_a_kill_pending_on_a_host_that_died(paper_stack, settings):
    webhook = alerts_to(settings)
    sim = paper_stack.sim
    try:
        session, host = start_long_with_a_working_order(paper_stack)
        # The host runs on another machine: its process cannot be checked from here, only its lease.
        TradingSession.objects.filter(pk=session.pk).update(host="elsewhere", lease_owner="elsewhere:1")
        sigkill(host)
        do_request_kill(actor="user:tester", reason="end of day", flatten=True, session_id=session.pk)
        assert TradingSession.objects.get(pk=session.pk).status == SessionStatus.RUNNING  # its lease still runs
        assert working(sim) and sim.positions(PAPER_ACCOUNT)["QQQ"]["qty"] == 12

        TradingSession.objects.filter(pk=session.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
        assert do_reap_lost_sessions() == []  # killed, not merely lost

        session.refresh_from_db()
        assert session.status == SessionStatus.KILLED, session.stop_reason
        assert "carried out without its host (host elsewhere:1 stopped heartbeating" in session.stop_reason
        assert session.stop_reason.endswith("flat at the broker")
        assert sim.positions(PAPER_ACCOUNT) == {} and not working(sim)
        assert not AuditEntry.objects.filter(action=Action.SESSION_LOST).exists()
        assert webhook.wait_for("session.kill_without_host_failed", timeout=0.5) == []  # it worked: no alarm
    finally:
        webhook.close()


def test_a_flatten_the_broker_refuses_ends_as_incomplete_and_is_alerted(paper_stack, settings):
    webhook = alerts_to(settings)
    sim = paper_stack.sim
    try:
        session, host = start_long_with_a_working_order(paper_stack)
        sigkill(host)
        sim.reject_next_orders(1000)

        do_request_kill(actor="user:tester", reason="drill", flatten=True, session_id=session.pk)

        session.refresh_from_db()
        assert session.status == SessionStatus.KILLED
        assert session.stop_reason.endswith("working orders cancelled — flatten incomplete: QQQ +12"), (
            session.stop_reason
        )
        assert "carried out without its host" in session.stop_reason
        assert sim.positions(PAPER_ACCOUNT)["QQQ"]["qty"] == 12 and not working(sim)
        outcome = AuditEntry.objects.filter(action=Action.SESSION_KILL, payload__ok=False).get()
        assert outcome.payload["positions"] == {"QQQ": "12"}
        assert [c["status"] for c in outcome.payload["closes"]] == ["Inactive", "Inactive"]  # one retry, no more
        alert = webhook.wait_for("session.kill_without_host_failed", timeout=10)
        assert alert and "flatten incomplete: QQQ +12" in alert[0]["message"]
    finally:
        webhook.close()


def test_a_host_that_comes_back_after_its_kill_was_carried_out_closes_nothing_twice(paper_stack):
    sim = paper_stack.sim
    session, host = start_long_with_a_working_order(paper_stack)
    os.kill(host.pid, signal.SIGSTOP)  # stalled (a frozen VM, a long pause): alive, but silent past its lease
    try:
        TradingSession.objects.filter(pk=session.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
        do_request_kill(actor="user:tester", reason="host hung", flatten=True, session_id=session.pk)
        assert sim.positions(PAPER_ACCOUNT) == {}
        assert TradingSession.objects.get(pk=session.pk).status == SessionStatus.KILLED
    finally:
        os.kill(host.pid, signal.SIGCONT)
    # Back, it finds its lease gone and stops without a closing order of its own (its strategy closes on stop).
    finish(host, 60)
    session.refresh_from_db()
    assert session.status == SessionStatus.KILLED and "carried out without its host" in session.stop_reason
    assert sim.positions(PAPER_ACCOUNT) == {}
    assert len([m for m in sim.received("PLACE_ORDER") if "SELL" in m["fields"]]) == 1


def test_a_live_host_is_not_gone(paper_stack):
    session = do_create_session(environment="paper", sleeves=BUY_AND_WORK, actor="user:tester")
    host = paper_stack.host(session.pk)
    wait_until(lambda: TradingSession.objects.get(pk=session.pk).status == SessionStatus.RUNNING, 60, message="run")
    from django.utils import timezone

    assert host_gone(TradingSession.objects.get(pk=session.pk), timezone.now()) == ""
    do_request_kill(actor="user:tester", reason="done", flatten=True, session_id=session.pk)
    assert finish(host, 60) == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.KILLED and "without its host" not in session.stop_reason
    assert paper_stack.sim.positions(PAPER_ACCOUNT) == {}
