"""The supervisor of a session's host: heartbeat, start detection, kill and stop requests, breaker checks and
snapshots, on a thread of its own. A database error never ends it: it backs off and tries again."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections

from trading.sessions import services
from trading.sessions.host_kill import SessionKill, halt_for_good
from trading.sessions.models import SessionStatus
from trading.sessions.write_turn import checkpoint, write_turn

if TYPE_CHECKING:
    from trading.sessions.host import SessionHost

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1  # how often the supervisor looks for a kill or stop request (a pushed kill does not wait)
HEARTBEAT_SECONDS = 2.0
START_TIMEOUT_SECONDS = float(settings.ATS.session_start_timeout)  # ATS_SESSION_START_TIMEOUT, validated
STOP_GRACE_SECONDS = 30.0  # a node that has not stopped this long after being told to is abandoned
SNAPSHOT_SECONDS = 5.0  # how often the positions and working orders known to the node are published
BREAKER_SECONDS = 1.0  # how often the session's P&L is checked against its loss breaker
DATABASE_BACKOFF_MAX_SECONDS = 2.0  # the supervisor's longest wait between tries while the database is away
ACCOUNT_MARK_SECONDS = 2.0  # how often it is sent to the account's breaker (a database write)


@dataclass
class SupervisorState:
    """What the supervisor remembers between its looks."""

    started_at: float
    last_beat: float = 0.0
    last_snapshot: float = 0.0
    last_breaker: float = 0.0
    last_account_mark: float = 0.0
    running: bool = False
    outcome_seen_at: float | None = None
    database_down_since: float | None = None
    backoff: float = 0.1


class Supervisor:
    """Watches one host's session in the database and carries out what it finds on the node's loop."""

    def __init__(self, host: SessionHost) -> None:
        self.host = host

    def run(self) -> None:
        """Heartbeat, detect the start, and watch for kill and stop requests (persisted in the database).

        A database error never ends it: it backs off and tries again. While the database is away no intent can be
        audited, so every order is refused (fail closed), and the local kill switch (a signal) still works."""
        host = self.host
        state = SupervisorState(started_at=time.monotonic())
        try:
            while not host.stopping.is_set():
                try:
                    if self._once(state):
                        return
                    if state.database_down_since is not None:
                        log.warning(
                            "session %s: database back after %.1fs",
                            host.session_id,
                            time.monotonic() - state.database_down_since,
                        )
                        state.database_down_since, state.backoff = None, POLL_SECONDS
                    host.wake.wait(POLL_SECONDS)
                    host.wake.clear()
                except (DatabaseError, InterfaceError):
                    if state.database_down_since is None:
                        state.database_down_since = time.monotonic()
                        log.exception("session %s: database unreachable; retrying with backoff", host.session_id)
                    self._kill_on_signal()
                    close_old_connections()
                    host.wake.wait(state.backoff)
                    host.wake.clear()
                    state.backoff = min(state.backoff * 2, DATABASE_BACKOFF_MAX_SECONDS)
        finally:
            close_old_connections()

    def _kill_on_signal(self) -> None:
        """The database is unreachable and a kill was signalled on this machine: carry it out without the database
        (the host records the outcome once the database is back)."""
        host = self.host
        if host.signalled_kill is None or not host.claim_kill():
            return
        host.on_loop(
            SessionKill(host).run(
                host.signalled_kill, requested_by="local kill switch", reason="signalled by kill_session"
            )
        )

    def _once(self, state: SupervisorState) -> bool:
        """One look at the session; True when the supervisor's work is over."""
        host = self.host
        now = time.monotonic()
        if host.outcome and state.outcome_seen_at is None:
            state.outcome_seen_at = now
        elif state.outcome_seen_at is not None and now - state.outcome_seen_at > STOP_GRACE_SECONDS:
            host.abandon()
            return True
        if now - state.last_beat >= HEARTBEAT_SECONDS:
            with write_turn():
                hosted = services.heartbeat(host.session_id, host.owner)
            if hosted is None:
                halt_for_good(host)
                host.end(SessionStatus.FAILED, "lease lost: the session ended or another host took it over")
                return True
            state.last_beat = now
        request = services.pending_request(host.session_id)
        if request and request[0] and host.claim_kill():
            host.on_loop(SessionKill(host).run(bool(request[1])))
        elif request and request[2] and not host.outcome:
            host.outcome = (SessionStatus.STOPPED, "stop requested by the operator")
            host.on_loop(host.stop_node())
        if request and request[3] != host.breaker_reset_seen:
            host.breaker_reset_seen = request[3]
            host.node.get_event_loop().call_soon_threadsafe(host.risk.reset_breaker)
        if state.running and now - state.last_breaker >= BREAKER_SECONDS:
            host.node.get_event_loop().call_soon_threadsafe(host.risk.check_breaker)
            state.last_breaker = now
        if state.running and now - state.last_account_mark >= ACCOUNT_MARK_SECONDS:
            host.risk.mark_account()
            state.last_account_mark = now
        if not state.running and host.trader_running():
            services.do_mark_running(host.session_id)
            state.running = True
            host.sink.emit("status", {"status": SessionStatus.RUNNING, "message": "reconciled; trading"})
            host.node.get_event_loop().call_soon_threadsafe(host.events.snapshot, "reconciled")
            state.last_snapshot = now
        elif state.running and now - state.last_snapshot >= SNAPSHOT_SECONDS:
            host.node.get_event_loop().call_soon_threadsafe(host.events.snapshot, "periodic")
            host.on_loop(host.attribution.run())
            checkpoint()  # the WAL checkpoints its connections skip (see write_turn)
            state.last_snapshot = now
        elif not state.running and now - state.started_at > START_TIMEOUT_SECONDS and not host.outcome:
            host.end(
                SessionStatus.FAILED,
                f"node did not start trading within {START_TIMEOUT_SECONDS:.0f}s "
                "(reconciliation failed or the gateway stopped answering)",
            )
        return False
