"""The loss breaker's arithmetic, its gate rule, and the trip and reset services (fast: no node, no gateway)."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import WebhookReceiver
from tests.pages.conftest import make_session
from tests.sessions.test_order_gate import Scripted, run
from trading.sessions.breaker import LossBreaker, trading_day
from trading.sessions.breaker_services import do_reset_breaker, do_trip_breaker
from trading.sessions.guards import SessionRefused

MONDAY, TUESDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def test_the_days_loss_trips_once_and_a_reset_rearms_from_there():
    breaker = LossBreaker(max_daily_loss=Decimal(2500), max_drawdown=Decimal(5000))
    assert breaker.observe(Decimal(100), MONDAY) is None  # the day's baseline
    assert breaker.observe(Decimal(-2400), MONDAY) is None  # 2,500 down exactly: not over
    trip = breaker.observe(Decimal("-2400.01"), MONDAY)
    assert trip.rule == "daily_loss" and trip.reason == (
        "loss breaker: the day's loss 2,500.01 USD is over the limit 2,500.00 USD"
    )
    assert trip.numbers["daily"] == "-2500.01" and breaker.tripped
    assert breaker.observe(Decimal(-9000), MONDAY) is None  # tripped already: no second trip
    breaker.reset(Decimal(-9000))
    assert not breaker.tripped and breaker.observe(Decimal(-11000), MONDAY) is None  # 2,000 below the reset
    assert breaker.observe(Decimal(-11600), MONDAY).rule == "daily_loss"


def test_drawdown_counts_from_the_peak_and_a_new_day_starts_its_own_loss():
    breaker = LossBreaker(max_daily_loss=Decimal(2500), max_drawdown=Decimal(3000))
    breaker.observe(Decimal(0), MONDAY)
    breaker.observe(Decimal(2000), MONDAY)  # peak
    assert breaker.observe(Decimal(-500), TUESDAY) is None  # Tuesday's baseline; drawdown 2,500
    trip = breaker.observe(Decimal(-1001), TUESDAY)
    assert trip.rule == "drawdown" and trip.numbers["drawdown"] == "3001.00"


def test_the_trading_day_is_new_yorks():
    assert trading_day(dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)) == MONDAY  # 22:00 in New York
    assert trading_day(dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)) == TUESDAY


def test_while_reducing_only_an_order_that_reduces_a_position_passes():
    gates = []

    def after_the_trip(s):
        gates[0].reducing = True  # the breaker trips between the two bars
        s.market(OrderSide.BUY, 5)  # adds: refused
        s.market(OrderSide.SELL, 40)  # reduces the 100: passes
        s.market(OrderSide.SELL, 61)  # with the 40 on its way, would go short: refused

    strategy = Scripted(lambda s: s.market(OrderSide.BUY, 100), after_the_trip)
    _, denials = run(strategy, on_gate=gates.append, allow_short=True)
    assert [d.rule for d in denials] == ["breaker", "breaker"]
    assert denials[0].reason.startswith("loss breaker tripped: only orders that reduce a position pass")
    assert strategy.filled == [(OrderSide.BUY, 100), (OrderSide.SELL, 40)]


@pytest.mark.django_db(transaction=True)
def test_trip_is_recorded_audited_and_alerted_once_and_reset_needs_a_reason(settings):
    webhook = WebhookReceiver()
    settings.ATS = dataclasses.replace(settings.ATS, alert_webhook_url=webhook.url)
    try:
        session = make_session("paper", "running")
        numbers = {"rule": "daily_loss", "daily": "-2600.00"}
        assert do_trip_breaker(
            session.pk, "loss breaker: the day's loss 2600.00 is over the limit 2500", numbers, "system:session-1"
        )
        assert not do_trip_breaker(session.pk, "again", numbers, "system:session-1")  # once
        entry = AuditEntry.objects.get(action=Action.BREAKER_TRIPPED)
        assert entry.payload["daily"] == "-2600.00" and entry.target == f"session:{session.pk}"
        alert = webhook.wait_for("risk.breaker_tripped")
        assert alert[0]["environment"] == "paper" and "2600.00" in alert[0]["message"]

        for kwargs, message in [
            ({"reason": ""}, "a reason is required"),
            ({"reason": "ok", "environment": "live"}, f"no live session {session.pk}"),
            ({"reason": "ok", "session_id": 999999}, "no paper session 999999"),
        ]:
            with pytest.raises(SessionRefused, match=message):
                do_reset_breaker(**{"session_id": session.pk, "environment": "paper", "actor": "user:x", **kwargs})
        do_reset_breaker(session_id=session.pk, environment="paper", actor="user:risk", reason="loss accepted")
        session.refresh_from_db()
        assert session.breaker_tripped_at is None and session.breaker_reset_at is not None
        with pytest.raises(SessionRefused, match="is not tripped"):
            do_reset_breaker(session_id=session.pk, environment="paper", actor="user:risk", reason="twice")
        stopped = make_session("paper", "stopped")
        with pytest.raises(SessionRefused, match="is stopped"):
            do_reset_breaker(session_id=stopped.pk, environment="paper", actor="user:risk", reason="late")
        assert AuditEntry.objects.filter(action=Action.BREAKER_RESET).count() == 1
    finally:
        webhook.close()
