"""The account's loss breaker: every session on an account adds up, the breach trips once (audited, alerted), a
tripped account starts no session, and a reset needs a reason and re-arms from the P&L of that moment (fast: no node,
no gateway; the end-to-end test is in test_loss_breaker.py)."""

import dataclasses
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import WebhookReceiver
from tests.pages.conftest import make_session
from trading.sessions.breaker_services import do_mark_account_pnl, do_reset_account_breaker
from trading.sessions.guards import SessionRefused
from trading.sessions.models import AccountBreaker
from trading.sessions.services import do_create_session

MONDAY, TUESDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
ACCOUNT = "DU1234567"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def mark(session, pnl, day=MONDAY, max_daily_loss=3000, max_drawdown=10000):
    return do_mark_account_pnl(
        session_id=session.pk,
        day=day,
        pnl=Decimal(pnl),
        max_daily_loss=Decimal(max_daily_loss),
        max_drawdown=Decimal(max_drawdown),
        actor=f"system:session-{session.pk}",
    )


def test_sessions_on_one_account_add_up_and_a_session_that_ended_still_counts(settings):
    webhook = WebhookReceiver()
    settings.ATS = dataclasses.replace(settings.ATS, alert_webhook_url=webhook.url)
    try:
        first, second = make_session("paper", "running"), make_session("paper", "running")
        other_account = make_session("paper", "running", account_id="DU7654321")
        assert not mark(first, 500).tripped  # its day opens at +500: only what follows counts
        assert mark(first, -1000).daily == Decimal(-1500)
        first.status = "stopped"
        first.save()  # it ended, its loss of the day stays on the account
        assert not mark(other_account, -9000).tripped  # its own account; its first mark is its day's start
        assert not mark(other_account, -9500).tripped and mark(second, 0).daily == Decimal(-1500)
        assert not mark(second, -1500).tripped  # 3,000 down exactly: not over
        state = mark(second, "-1500.01")
        assert state.tripped and state.daily == Decimal("-3000.01")
        assert (
            state.reason
            == f"{ACCOUNT} account loss breaker: the day's loss 3,000.01 USD is over the limit 3,000.00 USD"
        )
        assert mark(second, -5000).tripped  # stays tripped, trips once
        entry = AuditEntry.objects.get(action=Action.BREAKER_TRIPPED)
        assert entry.target == f"account:{ACCOUNT}" and entry.payload["rule"] == "daily_loss"
        assert entry.payload["daily"] == "-3000.01" and entry.payload["marked_by_session"] == second.pk
        alert = webhook.wait_for("risk.account_breaker_tripped")
        assert alert[0]["environment"] == "paper" and "3,000.01 USD" in alert[0]["message"]
        assert not AccountBreaker.objects.get(account_id="DU7654321").tripped_at
    finally:
        webhook.close()


def test_a_tripped_account_starts_no_session_and_a_reset_needs_a_reason_and_rearms_from_now():
    session = make_session("paper", "running")
    mark(session, 0)
    assert mark(session, -3100).tripped
    with pytest.raises(SessionRefused, match=f"account {ACCOUNT}'s loss breaker is tripped"):
        do_create_session(
            environment="paper",
            sleeves=[{"strategy": "sma_cross", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST"}],
            actor="user:tester",
        )
    assert AuditEntry.objects.filter(action=Action.SESSION_REFUSED).count() == 1

    for kwargs, message in [
        ({"reason": "  "}, "a reason is required"),
        ({"reason": "ok", "environment": "live"}, f"account {ACCOUNT} is not tripped"),
        ({"reason": "ok", "account_id": "DU0000001"}, "account DU0000001 is not tripped"),
    ]:
        with pytest.raises(SessionRefused, match=message):
            do_reset_account_breaker(**{"account_id": ACCOUNT, "environment": "paper", "actor": "user:x", **kwargs})
    do_reset_account_breaker(account_id=ACCOUNT, environment="paper", actor="user:risk", reason="loss accepted")
    with pytest.raises(SessionRefused, match="is not tripped"):  # a double click
        do_reset_account_breaker(account_id=ACCOUNT, environment="paper", actor="user:risk", reason="again")
    reset = AuditEntry.objects.get(action=Action.BREAKER_RESET)
    assert reset.actor == "user:risk" and reset.target == f"account:{ACCOUNT}"
    assert reset.payload["reason"] == "loss accepted" and "3,100.00 USD" in reset.payload["tripped"]

    assert mark(session, -6000).daily == Decimal(-2900)  # re-armed from -3,100
    assert mark(session, -6101).tripped


def test_drawdown_counts_from_the_days_peak_and_a_new_day_starts_afresh():
    session = make_session("paper", "running")
    mark(session, 0, max_drawdown=2000)
    mark(session, 2500, max_drawdown=2000)  # the day's peak
    assert not mark(session, 500, max_drawdown=2000).tripped  # 2,000 from the peak exactly
    state = mark(session, 499, max_drawdown=2000)
    assert state.tripped and "drawdown 2,001.00 USD from the peak" in state.reason
    do_reset_account_breaker(account_id=ACCOUNT, environment="paper", actor="user:risk", reason="ok")
    # Tuesday: the session's first mark opens its day, whatever Monday did.
    assert mark(session, -2000, day=TUESDAY).daily == 0
    assert mark(session, -4000, day=TUESDAY, max_drawdown=5000).daily == Decimal(-2000)


def test_marks_from_many_sessions_at_once_trip_the_account_exactly_once():
    sessions = [make_session("paper", "running") for _ in range(4)]
    for session in sessions:
        mark(session, 0)
    errors = []

    def lose(session):
        try:
            for step in range(1, 21):
                mark(session, -50 * step)  # each ends 1,000 down: 4,000 together, over 3,000
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=lose, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert AuditEntry.objects.filter(action=Action.BREAKER_TRIPPED).count() == 1
    assert mark(sessions[0], -1000).daily == Decimal(-4000)
