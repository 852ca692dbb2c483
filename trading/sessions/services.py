"""Session writes: each does its domain write and its audit entry in one transaction."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import Action
from audit.services import record, system_actor
from trading.sessions import local_control
from trading.sessions.guards import (
    SessionRefused,
    check_account,
    check_account_breaker,
    check_environment,
    check_instrument_owners,
    check_instruments_known,
    check_live_approvals,
    parse_sleeves,
)
from trading.sessions.models import ACTIVE_STATUSES, Environment, SessionStatus, TradingSession
from trading.strategies.registry import code_hash

LEASE_SECONDS = 15  # a host heartbeats every few seconds; a lease this old means the host is gone


def lease_owner_id() -> str:
    """Identifies this process as a lease holder."""
    return f"{socket.gethostname()}:{os.getpid()}"


def refuse(environment: str, reason: str, actor: str, detail: dict | None = None) -> SessionRefused:
    """Audit a refusal and return the exception to raise."""
    record(Action.SESSION_REFUSED, actor=actor, target=f"{environment}", payload={"reason": reason, **(detail or {})})
    return SessionRefused(reason)


def check_environment_account(environment: str, account_id: str | None) -> str:
    """The environment must be available and the account of its kind; return the account id."""
    check_environment(environment)
    account_id = account_id or settings.ATS.gateway(environment).account_id
    check_account(environment, account_id)
    return account_id


def _check_book(environment: str, sleeves_raw: list, account_id: str | None) -> tuple[str, list, list]:
    """The guards the database answers: environment, account, breaker, book, one owner, live approvals."""
    account_id = check_environment_account(environment, account_id)
    check_account_breaker(account_id)
    sleeves = parse_sleeves(sleeves_raw)
    check_instrument_owners(account_id, sleeves)
    approvals = check_live_approvals(sleeves) if environment == Environment.LIVE else []
    return account_id, sleeves, approvals


def validate_session_request(environment: str, sleeves_raw: list, account_id: str | None = None):
    """Run every pre-connection guard, then resolve every instrument of the book at the environment's gateway (one
    short read-only connection); return (account_id, sleeves, approvals summary) or raise SessionRefused."""
    account_id, sleeves, approvals = _check_book(environment, sleeves_raw, account_id)
    check_instruments_known(settings.ATS.gateway(environment), list(dict.fromkeys(s.instrument_id for s in sleeves)))
    return account_id, sleeves, approvals


def _lock_account(account_id: str) -> None:
    """Serialize session starts on one account until the transaction ends (SQLite's IMMEDIATE transactions already
    do), so two starts at once cannot both pass the one-owner check."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"ats-account:{account_id}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _started_with(start_token: str | None) -> TradingSession | None:
    """The session a start token already started, marked as a repeat; None for a new (or no) token."""
    if not start_token:
        return None
    earlier = TradingSession.objects.filter(start_token=start_token).first()
    if earlier is not None:
        earlier.is_repeat = True  # type: ignore[attr-defined]
    return earlier


def do_create_session(
    *, environment: str, sleeves: list, actor: str, account_id: str | None = None, start_token: str | None = None
) -> TradingSession:
    """Check every guard and record a new session in STARTING; a refusal is audited and raised. A start token seen
    before returns the session it started (a double click or a retried POST starts nothing new)."""
    start_token = (start_token or "").strip()[:64] or None
    if (earlier := _started_with(start_token)) is not None:
        return earlier
    try:
        # Every guard, the gateway's instrument check included, before the transaction: the account's lock (on
        # SQLite the database's write lock) is never held across a round trip to the gateway.
        account_id, _, _ = validate_session_request(environment, sleeves, account_id)
        with transaction.atomic():
            _lock_account(account_id)
            if (earlier := _started_with(start_token)) is not None:
                return earlier
            # Again under the lock: a start that raced this one may own an instrument now.
            account_id, parsed, approvals = _check_book(environment, sleeves, account_id)
            caps = settings.ATS.risk(environment)
            session = TradingSession.objects.create(
                environment=environment,
                account_id=account_id,
                sleeves=[{**s.as_dict(), "code_hash": code_hash(s.strategy)} for s in parsed],
                risk_caps=caps.as_dict(),
                approvals=approvals,
                started_by=actor,
                start_token=start_token,
            )
            record(
                Action.SESSION_START,
                actor=actor,
                target=f"session:{session.pk}",
                payload={
                    "environment": environment,
                    "account_id": account_id,
                    "sleeves": session.sleeves,
                    "risk_caps": session.risk_caps,
                    "approvals": approvals,
                },
            )
    except SessionRefused as exc:
        # The same start racing itself (a double click) can be refused by the checks before the lock because its
        # twin has just committed: that is a repeat, not a refusal.
        if (earlier := _started_with(start_token)) is not None:
            return earlier
        raise refuse(
            environment, str(exc), actor, {"sleeves": sleeves if isinstance(sleeves, list) else None}
        ) from None
    return session


def acquire_lease(session_id: int, owner: str) -> TradingSession:
    """Take the session's lease for this host, or raise SessionRefused when it is final or hosted elsewhere."""
    now = timezone.now()
    with transaction.atomic():
        session = TradingSession.objects.select_for_update().get(pk=session_id)
        if session.status not in ACTIVE_STATUSES:
            raise SessionRefused(f"session {session_id} is {session.status}; a finished session never restarts")
        held = session.lease_owner and session.lease_expires_at and session.lease_expires_at > now
        if held and session.lease_owner != owner:
            raise SessionRefused(f"session {session_id} is already hosted by {session.lease_owner}")
        if session.lease_owner and not held and session.status != SessionStatus.STARTING:
            raise SessionRefused(f"session {session_id} lost its host ({session.lease_owner}); it is not restarted")
        session.lease_owner, session.lease_expires_at = owner, now + timedelta(seconds=LEASE_SECONDS)
        session.heartbeat_at, session.host, session.pid = now, socket.gethostname(), os.getpid()
        session.save(update_fields=["lease_owner", "lease_expires_at", "heartbeat_at", "host", "pid"])
    return session


def heartbeat(session_id: int, owner: str) -> TradingSession | None:
    """Extend the lease; return the session (with any stop/kill request), or None when the lease was taken away."""
    now = timezone.now()
    updated = TradingSession.objects.filter(pk=session_id, lease_owner=owner, status__in=ACTIVE_STATUSES).update(
        heartbeat_at=now, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS)
    )
    return TradingSession.objects.get(pk=session_id) if updated else None


def pending_request(session_id: int) -> tuple | None:
    """(kill_requested_at, kill_flatten, stop_requested_at, breaker_reset_at), read every 100 ms by the host."""
    return (
        TradingSession.objects.filter(pk=session_id)
        .values_list("kill_requested_at", "kill_flatten", "stop_requested_at", "breaker_reset_at")
        .first()
    )


def do_mark_running(session_id: int) -> None:
    """The node reconciled and its strategies run."""
    TradingSession.objects.filter(pk=session_id, status=SessionStatus.STARTING).update(
        status=SessionStatus.RUNNING, started_at=timezone.now()
    )


def do_finish_session(session_id: int, status: str, reason: str, actor: str) -> None:
    """Record how a session ended (stopped, killed, failed, lost) and release its lease, with an audit entry; a
    failed or lost session is alerted in the same transaction."""
    action = {
        SessionStatus.KILLED: Action.SESSION_KILL,
        SessionStatus.FAILED: Action.SESSION_FAILED,
        SessionStatus.LOST: Action.SESSION_LOST,
    }.get(status, Action.SESSION_STOP)
    alerted = status in (SessionStatus.FAILED, SessionStatus.LOST)
    with transaction.atomic():
        # Read before the update clears the lease: the alert names the host that had it.
        before = _alert_fields(session_id) if alerted else None
        # A killed session stays killed: a host that comes back after its kill was carried out without it (see
        # orphan_kill) finds its lease gone and ends, and what it reports does not replace the kill's outcome.
        updated = (
            TradingSession.objects.filter(pk=session_id)
            .exclude(status=SessionStatus.KILLED)
            .update(
                status=status,
                stop_reason=reason[:500],
                stopped_at=timezone.now(),
                lease_owner="",
                lease_expires_at=None,
            )
        )
        payload = {"status": status, "reason": reason, **({} if updated else {"superseded": "killed already"})}
        record(action, actor=actor, target=f"session:{session_id}", payload=payload)
        if updated and before is not None:
            _alert_session_ended(session_id, status, reason, before)


def _alert_fields(session_id: int) -> dict | None:
    return (
        TradingSession.objects.filter(pk=session_id)
        .values("environment", "account_id", "lease_owner", "host", "pid")
        .first()
    )


def _alert_session_ended(session_id: int, status: str, reason: str, session: dict) -> None:
    """A session failed or was lost: the operators hear of it (the alert commits with the audit entry)."""
    from notifications.services import do_send_alert

    environment = session.pop("environment")
    if status == SessionStatus.LOST:
        kind, text = "session_lost", f"{environment} session #{session_id} lost: {reason}; it is not restarted"
    else:
        kind, text = "session_failed", f"{environment} session #{session_id} failed: {reason}"
    details = {"session": session_id, "reason": reason, **session}
    do_send_alert(kind, environment, text, details, actor=system_actor("sessions"))


def _sessions_for(session_id: int | None, environment: str | None):
    if session_id is not None:
        return TradingSession.objects.filter(pk=session_id)
    if environment not in Environment.values:
        raise SessionRefused(f"unknown environment {environment!r}: expected paper or live")
    return TradingSession.objects.filter(environment=environment, status__in=ACTIVE_STATUSES)


def do_request_kill(
    *, actor: str, reason: str, flatten: bool = False, session_id: int | None = None, environment: str | None = None
) -> list[int]:
    """Ask a session (or every active session of an environment) to halt, cancel its orders, optionally flatten.

    The request is persisted: a session still starting honours it, and a killed session stays killed. A session
    whose host is gone is killed here, at the broker directly (orphan_kill).
    """
    reason = (reason or "").strip()
    if not reason:
        raise SessionRefused("a reason is required to kill a session")
    now = timezone.now()
    with transaction.atomic():
        sessions = list(_sessions_for(session_id, environment).select_for_update())
        if session_id is not None and not sessions:
            raise SessionRefused(f"no session {session_id}")
        killed = []
        for session in sessions:
            if not session.is_active:
                raise SessionRefused(f"session {session.pk} is {session.status} already; nothing to kill")
            session.kill_requested_at = session.kill_requested_at or now
            session.kill_flatten = session.kill_flatten or flatten
            session.kill_reason, session.kill_requested_by = reason[:500], actor
            session.save(update_fields=["kill_requested_at", "kill_flatten", "kill_reason", "kill_requested_by"])
            record(
                Action.SESSION_KILL,
                actor=actor,
                target=f"session:{session.pk}",
                payload={"requested": True, "flatten": flatten, "reason": reason, "environment": session.environment},
            )
            killed.append(session.pk)
    # Push: a host on this machine looks at the request now rather than at its next poll (the poll stays).
    for pk in killed:
        transaction.on_commit(lambda pk=pk: local_control.signal_local_hosts(pk, flatten))
    # A session nobody hosts (never picked up, or its host died) is finished here: there is no node to halt.
    for pk in killed:
        _finish_if_unhosted(pk, reason, actor)
    # A session whose host is gone (its process dead, its lease expired) has nobody to carry the kill out: it is
    # carried out here, at the broker directly, once the request is committed.
    from trading.sessions.orphan_kill import do_kill_without_host

    for pk in killed:
        do_kill_without_host(pk)
    return killed


def _finish_if_unhosted(session_id: int, reason: str, actor: str) -> None:
    now = timezone.now()
    session = TradingSession.objects.get(pk=session_id)
    if session.status == SessionStatus.STARTING and (not session.lease_owner or session.lease_expires_at <= now):
        do_finish_session(session_id, SessionStatus.KILLED, f"killed before a host picked it up: {reason}", actor)


def do_request_stop(*, session_id: int, actor: str) -> None:
    """Ask a session to stop cooperatively (strategies stop, the node shuts down)."""
    with transaction.atomic():
        session = TradingSession.objects.select_for_update().get(pk=session_id)
        if not session.is_active:
            raise SessionRefused(f"session {session_id} is {session.status} already")
        session.stop_requested_at = session.stop_requested_at or timezone.now()
        session.save(update_fields=["stop_requested_at"])
        record(Action.SESSION_STOP, actor=actor, target=f"session:{session_id}", payload={"requested": True})


def do_mark_lost_sessions() -> list[int]:
    """Mark active sessions whose lease expired as lost, audit and alert; never restart them. One with a pending kill
    has the kill carried out without its host instead (it ends killed, with what happened at the broker)."""
    now = timezone.now()
    stale = TradingSession.objects.filter(status__in=ACTIVE_STATUSES).filter(
        Q(lease_expires_at__lt=now) | Q(lease_owner="", created_at__lt=now - timedelta(seconds=LEASE_SECONDS * 4))
    )
    lost = []
    for session in stale:
        if session.kill_requested_at:
            # A kill asked of a host that died: carry it out at the broker rather than only mark the session lost.
            from trading.sessions.orphan_kill import do_kill_without_host

            if do_kill_without_host(session.pk) is not None:
                continue
        reason = (
            f"host {session.lease_owner or 'none'} stopped heartbeating (last {session.heartbeat_at:%H:%M:%S} UTC)"
            if session.heartbeat_at
            else "no host ever picked it up"
        )
        do_finish_session(session.pk, SessionStatus.LOST, reason, system_actor("session-reaper"))
        lost.append(session.pk)
    return lost
