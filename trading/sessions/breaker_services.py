"""Loss-breaker writes, for a session's breaker and its account's: each does its write and audit in one transaction
and raises its alert in the same transaction (delivered once it commits)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from audit.models import Action
from audit.services import record
from trading.sessions.breaker import judge_loss
from trading.sessions.guards import SessionRefused
from trading.sessions.models import AccountBreaker, SessionDayPnl, TradingSession


def _alert(kind: str, environment: str, message: str, payload: dict, actor: str) -> None:
    from notifications.services import do_send_alert

    do_send_alert(kind, environment, message, payload, actor=actor)


def do_trip_breaker(session_id: int, reason: str, numbers: dict, actor: str) -> bool:
    """Record that a session's loss breaker tripped (its host already lets only risk-reducing orders through), audit
    it and alert (delivered on commit); False when it was tripped already."""
    with transaction.atomic():
        session = TradingSession.objects.select_for_update().get(pk=session_id)
        if session.breaker_tripped_at is not None:
            return False
        session.breaker_tripped_at, session.breaker_reason = timezone.now(), reason[:500]
        session.save(update_fields=["breaker_tripped_at", "breaker_reason"])
        payload = {"reason": reason, "environment": session.environment, **numbers}
        record(Action.BREAKER_TRIPPED, actor=actor, target=f"session:{session_id}", payload=payload)
        _alert("risk.breaker_tripped", session.environment, f"session #{session_id}: {reason}", payload, actor)
    return True


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise SessionRefused("breaker reset refused: a reason is required")
    return reason


def do_reset_breaker(*, session_id: int, environment: str, actor: str, reason: str) -> TradingSession:
    """An operator re-arms a tripped loss breaker, with a reason (audited); its host lets the session trade again."""
    reason = _required_reason(reason)
    with transaction.atomic():
        session = TradingSession.objects.select_for_update().filter(pk=session_id, environment=environment).first()
        if session is None:
            raise SessionRefused(f"breaker reset refused: no {environment} session {session_id}")
        if not session.is_active:
            raise SessionRefused(f"breaker reset refused: session {session_id} is {session.status}")
        if session.breaker_tripped_at is None:
            raise SessionRefused(f"breaker reset refused: the loss breaker of session {session_id} is not tripped")
        tripped_reason = session.breaker_reason
        session.breaker_tripped_at, session.breaker_reason = None, ""
        session.breaker_reset_at = timezone.now()
        session.save(update_fields=["breaker_tripped_at", "breaker_reason", "breaker_reset_at"])
        record(
            Action.BREAKER_RESET,
            actor=actor,
            target=f"session:{session_id}",
            payload={"reason": reason, "tripped": tripped_reason, "environment": environment},
        )
    return session


# -- the account's breaker ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountBreakerState:
    """What a host needs to know of its account's breaker after a mark."""

    tripped: bool
    reason: str
    daily: Decimal
    drawdown: Decimal


def do_mark_account_pnl(
    *,
    session_id: int,
    day: dt.date,
    pnl: Decimal,
    max_daily_loss: Decimal,
    max_drawdown: Decimal,
    actor: str,
) -> AccountBreakerState:
    """Record a session's P&L of now, add up its account's day across every session on it, and trip the account's
    breaker (audited, alerted with it) when the day's loss or the drawdown from the day's peak breaks a limit."""
    with transaction.atomic():
        session = TradingSession.objects.only("account_id", "environment").get(pk=session_id)
        row, created = SessionDayPnl.objects.get_or_create(
            session_id=session_id, day=day, defaults={"account_id": session.account_id, "open_pnl": pnl, "pnl": pnl}
        )
        if not created:
            SessionDayPnl.objects.filter(pk=row.pk).update(pnl=pnl, updated_at=timezone.now())
        breaker, _ = AccountBreaker.objects.get_or_create(
            account_id=session.account_id, defaults={"environment": session.environment, "day": day}
        )
        breaker = AccountBreaker.objects.select_for_update().get(pk=breaker.pk)
        if breaker.day != day:  # a new trading day: the account's loss counts from here
            breaker.day, breaker.baseline, breaker.peak = day, Decimal(0), Decimal(0)
        total = SessionDayPnl.objects.filter(account_id=session.account_id, day=day).aggregate(
            total=Sum(F("pnl") - F("open_pnl"))
        )["total"] or Decimal(0)
        breaker.daily = total - breaker.baseline
        breaker.peak = max(breaker.peak, breaker.daily)
        drawdown = breaker.peak - breaker.daily
        if breaker.tripped_at is None:
            trip = judge_loss(
                total,
                breaker.daily,
                drawdown,
                max_daily_loss,
                max_drawdown,
                scope="account",
                currency=settings.ATS.account_currency,
            )
            if trip is not None:
                breaker.tripped_at, breaker.reason = timezone.now(), f"{session.account_id} {trip.reason}"[:500]
                payload = {
                    "reason": breaker.reason,
                    "rule": trip.rule,
                    "environment": session.environment,
                    "account_id": session.account_id,
                    "marked_by_session": session_id,
                    **trip.numbers,
                }
                record(Action.BREAKER_TRIPPED, actor=actor, target=f"account:{session.account_id}", payload=payload)
                _alert("risk.account_breaker_tripped", session.environment, breaker.reason, payload, actor)
        breaker.save()
    return AccountBreakerState(breaker.tripped_at is not None, breaker.reason, breaker.daily, drawdown)


def do_reset_account_breaker(*, account_id: str, environment: str, actor: str, reason: str) -> AccountBreaker:
    """An operator re-arms an account's tripped loss breaker, with a reason (audited), from the account's P&L of now;
    its sessions trade again (those whose own breaker is armed)."""
    reason = _required_reason(reason)
    with transaction.atomic():
        breaker = AccountBreaker.objects.select_for_update().filter(account_id=account_id, environment=environment)
        found = breaker.first()
        if found is None or found.tripped_at is None:
            raise SessionRefused(f"breaker reset refused: the loss breaker of account {account_id} is not tripped")
        tripped_reason = found.reason
        found.baseline += found.daily
        found.peak = found.daily = Decimal(0)
        found.tripped_at, found.reason, found.reset_at = None, "", timezone.now()
        found.save()
        record(
            Action.BREAKER_RESET,
            actor=actor,
            target=f"account:{account_id}",
            payload={"reason": reason, "tripped": tripped_reason, "environment": environment},
        )
    return found
