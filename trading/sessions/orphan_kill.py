"""A kill carried out without the session's host: when the host is gone (its process dead, or its lease expired),
nobody is left to halt the node, so the kill goes straight to the gateway under a client id of its own: IB's global
cancel, then, if asked, market orders that close the session's instruments, verified flat at the broker.

Who may do it is decided by the session's lease: a killer takes the lease of the dead host in one transaction, so a
second request, the reaper and a host that comes back (its heartbeat finds the lease gone and it ends) cannot carry
out the same kill twice. A killer that dies mid-way leaves a lease that expires; the reaper then tries again, and
because every attempt cancels first and sizes its closing orders from the positions the broker reports after the
cancels, a retry never closes more than is open.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record, system_actor
from trading.sessions.broker_flatten import await_cancels, describe_positions, flatten_at_broker
from trading.sessions.broker_link import BrokerLink, BrokerLinkError
from trading.sessions.client_ids import kill_client_id
from trading.sessions.guards import SessionRefused, check_gateway_accounts
from trading.sessions.models import SessionEvent, SessionStatus, TradingSession

log = logging.getLogger(__name__)

KILLER_PREFIX = "orphan-kill:"  # the lease owner of a kill in progress without its host
# A kill in progress holds the session this long, longer than the kill can take (connect + cancel + flatten), so
# nobody else starts the same kill while it runs; a killer that dies frees the session for a retry when it expires.
KILL_LEASE_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 5.0
REASON_CHARS = 150  # of the operator's reason in the stop reason, so the outcome at its end is never cut off


@dataclass
class BrokerOutcome:
    """What the kill did at the broker."""

    error: str = ""  # the gateway could not be reached or stopped answering: nothing is known to have happened
    working_left: int = 0  # working orders of the account still at the broker after the global cancel
    positions_left: dict[str, Decimal] | None = None  # None when no flatten was asked (or it was not attempted)
    closes: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything asked was done and verified at the broker."""
        return not self.error and not self.working_left and not self.positions_left


@dataclass(frozen=True)
class KillWithoutHost:
    """The recorded end of a kill carried out without the session's host."""

    session_id: int
    ok: bool
    reason: str


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine is alive (a zombie, killed but not yet reaped by its parent, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):  # no /proc (not Linux): signal 0 is all we know
        return True
    return state not in ("Z", "X")


def host_gone(session: TradingSession, now: datetime) -> str:
    """Why the session's host can no longer carry out a kill ('' while it can, or while another kill runs)."""
    owner = session.lease_owner
    if not owner or session.lease_expires_at is None:
        return ""  # never hosted (killed at once by the request) or finished
    if owner.startswith(KILLER_PREFIX):
        return f"an earlier kill without its host ({owner}) did not finish" if session.lease_expires_at <= now else ""
    if session.lease_expires_at <= now:
        return f"host {owner} stopped heartbeating; its lease expired {session.lease_expires_at:%H:%M:%S} UTC"
    same_machine = session.host == socket.gethostname() and owner == f"{session.host}:{session.pid}"
    if same_machine and session.pid and not pid_alive(session.pid):
        return f"host process {session.pid} on {session.host} is dead"
    return ""


def _killer_id() -> str:
    return f"{KILLER_PREFIX}{socket.gethostname()}:{os.getpid()}"


def _claim(session_id: int) -> tuple[TradingSession, str] | None:
    """Take a hostless session with a pending kill (its lease), so that nobody else carries out the same kill."""
    now = timezone.now()
    with transaction.atomic():
        session = TradingSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or not session.is_active or not session.kill_requested_at:
            return None
        why = host_gone(session, now)
        if not why:
            return None
        session.lease_owner = _killer_id()
        session.lease_expires_at = now + timedelta(seconds=KILL_LEASE_SECONDS)
        session.save(update_fields=["lease_owner", "lease_expires_at"])
        record(
            Action.SESSION_KILL,
            actor=system_actor(f"session-{session_id}-killer"),
            target=f"session:{session_id}",
            payload={"without_host": why, "started": True, "flatten": session.kill_flatten, "killer": _killer_id()},
        )
    return session, why


def do_kill_without_host(session_id: int) -> KillWithoutHost | None:
    """Carry out a pending kill at the broker when the session's host is gone; record, audit and (on failure) alert
    the outcome. None when there is nothing to do here: the host is alive (it carries the kill out itself), the
    session has ended, or another kill without its host is running."""
    claimed = _claim(session_id)
    if claimed is None:
        return None
    session, why = claimed
    log.warning("session %s: carrying out its kill without its host (%s)", session_id, why)
    outcome = _at_the_broker(session)
    return _record_outcome(session, why, outcome)


def _at_the_broker(session: TradingSession) -> BrokerOutcome:
    """Global cancel, then (if asked) close the session's instruments; never raises."""
    outcome = BrokerOutcome()
    gateway = settings.ATS.gateway(session.environment)
    link = BrokerLink(gateway.host, gateway.port, kill_client_id(session.pk), timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        try:
            accounts = link.open()
            check_gateway_accounts(dataclasses.replace(gateway, account_id=session.account_id), accounts)
        except SessionRefused as exc:  # a wrong gateway on the port: send it nothing
            outcome.error = str(exc)
            return outcome
        link.global_cancel()
        working = await_cancels(link, session.account_id)
        outcome.working_left = len(working)
        if not session.kill_flatten:
            return outcome
        if working:
            # A working order could fill alongside a closing order: only close what can no longer change.
            outcome.positions_left = _open_positions(link, session)
            return outcome
        outcome.positions_left = flatten_at_broker(
            link,
            session.account_id,
            _symbols(session),
            order_ref=f"KILL-{session.pk}",
            actor=system_actor(f"session-{session.pk}-killer"),
            target=f"session:{session.pk}",
            closes=outcome.closes,
        )
    except BrokerLinkError as exc:
        outcome.error = str(exc)
    except Exception as exc:  # the outcome must still be recorded, with what went wrong
        log.exception("session %s: kill without its host failed", session.pk)
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        link.close()
    return outcome


def _symbols(session: TradingSession) -> set[str]:
    """The symbols of the session's instruments (QQQ of QQQ.NASDAQ), as the broker names them."""
    return {s["instrument_id"].rsplit(".", 1)[0] for s in session.sleeves}


def _open_positions(link: BrokerLink, session: TradingSession) -> dict[str, Decimal]:
    symbols = _symbols(session)
    return {p.symbol: p.quantity for p in link.positions(session.account_id) if p.symbol in symbols}


def _stop_reason(session: TradingSession, why: str, outcome: BrokerOutcome) -> str:
    """One line: who killed it and why, that it was carried out without its host, and what happened at the broker."""
    asked = session.kill_reason[:REASON_CHARS]
    head = f"killed by {session.kill_requested_by}: {asked} ({'halt and flatten' if session.kill_flatten else 'halt'})"
    head += f" — carried out without its host ({why})"
    if outcome.error:
        return f"{head} — NOT carried out at the broker: {outcome.error}"
    if outcome.working_left:
        what = f"{outcome.working_left} working order(s) still at the broker after the global cancel"
        if outcome.positions_left is not None:
            what += "; flatten not attempted" + (
                f": {describe_positions(outcome.positions_left)}" if outcome.positions_left else ""
            )
        return f"{head} — {what}"
    if outcome.positions_left:
        return f"{head}: working orders cancelled — flatten incomplete: {describe_positions(outcome.positions_left)}"
    if outcome.positions_left is not None:
        return f"{head}: working orders cancelled, positions closed, flat at the broker"
    return f"{head}: working orders cancelled at the broker"


def _record_outcome(session: TradingSession, why: str, outcome: BrokerOutcome) -> KillWithoutHost:
    """The session ends KILLED with the outcome in its stop reason; audit and telemetry in the same transaction, the
    alert (on failure) after it commits."""
    from trading.sessions.services import do_finish_session

    reason = _stop_reason(session, why, outcome)
    details = {
        "without_host": why,
        "reason": reason,
        "ok": outcome.ok,
        "error": outcome.error,
        "working_orders_left": outcome.working_left,
        "positions": {k: str(v) for k, v in (outcome.positions_left or {}).items()},
        "closes": outcome.closes,
    }
    with transaction.atomic():
        record(
            Action.SESSION_KILL,
            actor=system_actor(f"session-{session.pk}-killer"),
            target=f"session:{session.pk}",
            payload=details,
        )
        do_finish_session(session.pk, SessionStatus.KILLED, reason, session.kill_requested_by or "system:killer")
        event = SessionEvent.objects.create(
            session_id=session.pk,
            environment=session.environment,
            kind="status",
            ts=timezone.now(),
            payload={"status": SessionStatus.KILLED, "reason": reason, "without_host": True},
        )
        transaction.on_commit(lambda: _announce(session, event, reason, details, outcome.ok))
    return KillWithoutHost(session.pk, outcome.ok, reason)


def _announce(session: TradingSession, event: SessionEvent, reason: str, details: dict, ok: bool) -> None:
    """Tell the pages (telemetry) and, when the kill fell short, the operators (webhook); never raises."""
    from notifications.services import do_send_alert
    from trading.sessions.telemetry import publish

    try:
        publish(
            session.environment,
            {
                "session": session.pk,
                "id": event.pk,
                "kind": event.kind,
                "ts": event.ts.isoformat(),
                "payload": event.payload,
            },
        )
    except Exception:  # the pages resync from the database
        log.warning("session %s: telemetry publish failed", session.pk, exc_info=True)
    (log.warning if ok else log.error)("session %s: %s", session.pk, reason)
    if not ok:
        message = f"session #{session.pk} {reason}"
        do_send_alert("session.kill_without_host_failed", session.environment, message, details)


def kill_message(session_id: int, flatten: bool) -> str:
    """The one line an operator sees after asking for a kill: the outcome when it is already known, else that the
    request is on its way to the host."""
    session = TradingSession.objects.filter(pk=session_id).values("status", "stop_reason").first()
    if session and session["status"] == SessionStatus.KILLED:
        return f"session {session_id} {session['stop_reason']}"
    return f"kill ({'halt and flatten' if flatten else 'halt'}) requested for session {session_id}"
