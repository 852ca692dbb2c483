"""The loss breaker end to end: ibsim gaps the price, the session's loss passes its limit, the session only reduces
risk, the operator is alerted, and an audited reset lets it trade again."""

import pytest

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import WebhookReceiver
from tests.sessions.conftest import finish, wait_until
from trading.sessions.guards import SessionRefused
from trading.sessions.models import SessionEvent, TradingSession
from trading.sessions.services import do_create_session, do_request_kill, do_reset_breaker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ACCUMULATE = [
    {
        "strategy": "order_probe",
        "instrument_id": "QQQ.NASDAQ",
        "bar_spec": "5-SECOND-LAST",
        "params": {"action": "accumulate", "count": 100, "interval_ms": 1500},
    }
]


def payloads(session_id: int, kind: str) -> list[dict]:
    return list(SessionEvent.objects.filter(session_id=session_id, kind=kind).values_list("payload", flat=True))


def test_a_loss_past_the_daily_limit_trips_the_breaker_until_an_audited_reset(paper_stack):
    webhook = WebhookReceiver()
    paper_stack.env["ATS_ALERT_WEBHOOK_URL"] = webhook.url
    sim = paper_stack.sim
    session = do_create_session(environment="paper", sleeves=ACCUMULATE, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: sim.positions("DU1234567").get("QQQ", {}).get("qty", 0) >= 100, 60, message="the buy")
        with pytest.raises(SessionRefused, match="is not tripped"):
            do_reset_breaker(session_id=session.pk, environment="paper", actor="user:tester", reason="too early")

        sim.move_price("QQQ", -0.25)  # 100+ shares at ~166 lose ~4,150 > the paper daily limit of 2,500
        tripped = wait_until(
            lambda: AuditEntry.objects.filter(action=Action.BREAKER_TRIPPED).first(), 30, message="the breaker"
        )
        assert tripped.payload["rule"] == "daily_loss" and float(tripped.payload["daily"]) < -2500
        assert TradingSession.objects.get(pk=session.pk).breaker_tripped_at is not None
        assert [p for p in payloads(session.pk, "status") if p.get("status") == "reducing"]
        alert = webhook.wait_for("risk.breaker_tripped", timeout=10)
        assert alert and "loss breaker" in alert[0]["message"]

        # While tripped the probe's one-share buys are refused before the broker, each with the breaker rule.
        placed_at_trip = len(sim.received("PLACE_ORDER"))
        wait_until(
            lambda: AuditEntry.objects.filter(action=Action.ORDER_DENIED, payload__rule="breaker").count() >= 2,
            30,
            message="buys refused by the breaker",
        )
        assert len(sim.received("PLACE_ORDER")) <= placed_at_trip + 1  # at most one was already on its way

        with pytest.raises(SessionRefused, match="a reason is required"):
            do_reset_breaker(session_id=session.pk, environment="paper", actor="user:tester", reason="  ")
        with pytest.raises(SessionRefused, match="no live session"):
            do_reset_breaker(session_id=session.pk, environment="live", actor="user:tester", reason="x")
        do_reset_breaker(session_id=session.pk, environment="paper", actor="user:risk", reason="loss accepted")
        with pytest.raises(SessionRefused, match="is not tripped"):  # a double click
            do_reset_breaker(session_id=session.pk, environment="paper", actor="user:risk", reason="again")
        reset = AuditEntry.objects.get(action=Action.BREAKER_RESET)
        assert reset.actor == "user:risk" and reset.payload["reason"] == "loss accepted"

        # Re-armed from here: the buys reach the broker again.
        placed_at_reset = len(sim.received("PLACE_ORDER"))
        wait_until(lambda: len(sim.received("PLACE_ORDER")) >= placed_at_reset + 2, 30, message="buys after the reset")
        assert [p for p in payloads(session.pk, "risk") if p.get("breaker") == "reset"]
    finally:
        webhook.close()
        do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
        finish(host)
