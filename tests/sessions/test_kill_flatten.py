"""Kill with flatten ends flat at the broker, or says exactly what is left: end to end against ibsim."""

import pytest

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import WebhookReceiver
from tests.sessions.conftest import PAPER_ACCOUNT, finish, wait_until
from trading.sessions.broker_flatten import describe_positions
from trading.sessions.models import SessionStatus, TradingSession
from trading.sessions.services import do_create_session, do_request_kill

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

BUYER = [
    {
        "strategy": "order_probe",
        "instrument_id": "QQQ.NASDAQ",
        "bar_spec": "5-SECOND-LAST",
        "params": {"action": "accumulate", "count": 10, "interval_ms": 200},
    }
]


def qqq_at_broker(sim) -> float:
    return sim.positions(PAPER_ACCOUNT).get("QQQ", {}).get("qty", 0)


def test_a_strategy_buying_during_the_flatten_is_refused_and_the_broker_ends_flat(paper_stack):
    sim = paper_stack.sim
    session = do_create_session(environment="paper", sleeves=BUYER, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: qqq_at_broker(sim) >= 12, 60, message="the buys")
        do_request_kill(actor="user:tester", reason="flatten test", flatten=True, session_id=session.pk)
        assert finish(host) == 0
        session.refresh_from_db()
        assert session.status == SessionStatus.KILLED and "incomplete" not in session.stop_reason
        assert qqq_at_broker(sim) == 0 and sim.positions(PAPER_ACCOUNT) == {}
        denied = AuditEntry.objects.filter(action=Action.ORDER_DENIED, payload__rule="kill")
        assert denied.exists(), "the probe's buys during the flatten must be refused"
        assert denied.first().payload["reason"].startswith("kill: the session is being killed")
    finally:
        finish(host)


def test_a_flatten_the_broker_refuses_ends_as_incomplete_naming_what_is_left(paper_stack):
    webhook = WebhookReceiver()
    paper_stack.env["ATS_ALERT_WEBHOOK_URL"] = webhook.url
    sim = paper_stack.sim
    session = do_create_session(environment="paper", sleeves=BUYER, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: qqq_at_broker(sim) >= 12, 60, message="the buys")
        sim.reject_next_orders(1000)  # every order from here on: the buys and the closing orders
        do_request_kill(actor="user:tester", reason="flatten test", flatten=True, session_id=session.pk)
        assert finish(host, timeout=60) == 0
        left = qqq_at_broker(sim)
        assert left >= 12
        session = TradingSession.objects.get(pk=session.pk)
        assert session.status == SessionStatus.KILLED
        assert session.stop_reason.endswith(f"— flatten incomplete: QQQ +{int(left)}"), session.stop_reason
        entry = AuditEntry.objects.filter(action=Action.SESSION_KILL, payload__positions__QQQ__isnull=False).get()
        assert "flatten incomplete" in entry.payload["reason"]
        alert = webhook.wait_for("session.flatten_incomplete", timeout=10)
        assert alert and f"QQQ +{int(left)}" in alert[0]["message"]
    finally:
        webhook.close()
        finish(host)


def test_positions_are_described_in_one_line():
    from decimal import Decimal

    assert describe_positions({"SPY": Decimal("5.0000"), "QQQ": Decimal("-10")}) == "QQQ -10, SPY +5"
