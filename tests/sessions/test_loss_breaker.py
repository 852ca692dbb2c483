"""The loss breakers end to end: ibsim gaps the price, the session's (or the account's) loss passes its limit, the
session only reduces risk, the operator is alerted, and an audited reset lets it trade again."""

import dataclasses
import time
from decimal import Decimal

import pytest

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import WebhookReceiver
from tests.sessions.conftest import finish, wait_until
from trading.sessions.breaker_services import do_reset_account_breaker, do_reset_breaker
from trading.sessions.guards import SessionRefused
from trading.sessions.models import SessionEvent, TradingSession
from trading.sessions.services import do_create_session, do_request_kill

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ACCOUNT = "DU1234567"

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


def test_a_loss_past_the_daily_limit_trips_the_breaker_until_an_audited_reset(paper_stack, settings):
    webhook = WebhookReceiver()
    paper_stack.env["ATS_ALERT_WEBHOOK_URL"] = webhook.url
    # The session's own breaker only: the account's limits are out of reach (the account's test is below).
    far = Decimal(10_000_000)
    settings.ATS = dataclasses.replace(
        settings.ATS,
        paper_risk=dataclasses.replace(settings.ATS.paper_risk, max_account_daily_loss=far, max_account_drawdown=far),
    )
    sim = paper_stack.sim
    session = do_create_session(environment="paper", sleeves=ACCUMULATE, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: sim.positions("DU1234567").get("QQQ", {}).get("qty", 0) >= 100, 60, message="the buy")
        with pytest.raises(SessionRefused, match="is not tripped"):
            do_reset_breaker(session_id=session.pk, environment="paper", actor="user:tester", reason="too early")

        sim.move_price("QQQ", -0.25)  # 100+ shares at ~166 lose ~4,150 > the paper daily limit of 2,500
        tripped = wait_until(
            lambda: AuditEntry.objects.filter(action=Action.BREAKER_TRIPPED).first(), 60, message="the breaker"
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


def test_two_sessions_losing_under_their_own_limits_trip_the_accounts_breaker(paper_stack, settings):
    """Each session loses less than its own 2,500; together they pass the account's 2,500: both only reduce, no new
    session starts on the account, and the audited reset lets both trade again."""
    webhook = WebhookReceiver()
    paper_stack.env["ATS_ALERT_WEBHOOK_URL"] = webhook.url
    settings.ATS = dataclasses.replace(
        settings.ATS, paper_risk=dataclasses.replace(settings.ATS.paper_risk, max_account_daily_loss=Decimal(2500))
    )
    sim = paper_stack.sim
    spy = [{**ACCUMULATE[0], "instrument_id": "SPY.ARCA", "params": {**ACCUMULATE[0]["params"], "count": 60}}]
    sessions = [do_create_session(environment="paper", sleeves=s, actor="user:tester") for s in (ACCUMULATE, spy)]
    hosts = [paper_stack.host(s.pk) for s in sessions]
    try:
        wait_until(
            lambda: (
                sim.positions(ACCOUNT).get("QQQ", {}).get("qty", 0) >= 100
                and sim.positions(ACCOUNT).get("SPY", {}).get("qty", 0) >= 60
            ),
            60,
            message="both buys",
        )
        time.sleep(3)  # both sessions mark their day's opening P&L
        sim.move_price("QQQ", -0.10)  # ~100 x 16.6 = ~1,660 lost
        sim.move_price("SPY", -0.10)  # ~60 x 25 = ~1,500 lost: ~3,160 together
        tripped = wait_until(
            lambda: AuditEntry.objects.filter(action=Action.BREAKER_TRIPPED, target=f"account:{ACCOUNT}").first(),
            30,
            message="the account's breaker",
        )
        assert tripped.payload["rule"] == "daily_loss" and float(tripped.payload["daily"]) < -2500
        assert not AuditEntry.objects.filter(action=Action.BREAKER_TRIPPED, target__startswith="session:").exists()
        alert = webhook.wait_for("risk.account_breaker_tripped", timeout=10)
        assert alert and f"{ACCOUNT} account loss breaker" in alert[0]["message"]
        for session in sessions:  # both only reduce now: their one-share buys never reach the broker
            wait_until(
                lambda s=session: AuditEntry.objects.filter(
                    action=Action.ORDER_DENIED, target=f"session:{s.pk}", payload__rule="breaker"
                ).exists(),
                30,
                message=f"session {session.pk}'s buys refused",
            )
            assert [p for p in payloads(session.pk, "status") if p.get("status") == "reducing"]
        with pytest.raises(SessionRefused, match=f"account {ACCOUNT}'s loss breaker is tripped"):
            do_create_session(environment="paper", sleeves=ACCUMULATE, actor="user:tester")

        do_reset_account_breaker(account_id=ACCOUNT, environment="paper", actor="user:risk", reason="loss accepted")
        for session in sessions:
            wait_until(
                lambda s=session: [p for p in payloads(s.pk, "risk") if p.get("account_breaker") == "reset"],
                30,
                message=f"session {session.pk} re-armed",
            )
        placed_at_reset = len(sim.received("PLACE_ORDER"))
        wait_until(lambda: len(sim.received("PLACE_ORDER")) >= placed_at_reset + 4, 30, message="buys after the reset")
    finally:
        webhook.close()
        do_request_kill(actor="user:tester", reason="done", environment="paper")
        for host in hosts:
            finish(host)
