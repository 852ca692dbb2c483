"""Hosting one session: lease, gateway checks, the TradingNode and its lifecycle, signals. The supervisor
(host_supervisor), the telemetry of the node's events (host_events), the kill switch (host_kill), the order gate
(host_risk) and the attribution check (host_attribution) each live in a module of their own.

One session per process: Nautilus keeps Rust runtime threads and a process-wide logger, and a second node in
the same process finds its event loop closed. The CLI runners host in their own process; django-q workers
start a fresh `manage.py host_session` process per session (see tasks.py).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections

from ats_site.config import RiskCaps
from audit.models import Action
from audit.services import record, system_actor
from trading.sessions import local_control, services
from trading.sessions.guards import (
    SessionRefused,
    Sleeve,
    check_account,
    check_environment,
    check_gateway_accounts,
    check_live_approvals,
)
from trading.sessions.host_attribution import AttributionCheck
from trading.sessions.host_events import HostEvents
from trading.sessions.host_kill import SessionKill
from trading.sessions.host_risk import SessionRisk
from trading.sessions.host_supervisor import DATABASE_BACKOFF_MAX_SECONDS, STOP_GRACE_SECONDS, Supervisor
from trading.sessions.models import Environment, SessionStatus, TradingSession
from trading.sessions.node import watch_start_stages
from trading.sessions.telemetry import TelemetrySink
from trading.sessions.write_turn import take_over_checkpoints
from trading.strategies.registry import code_hash

log = logging.getLogger(__name__)


FINISH_RETRY_SECONDS = 120.0  # how long a host that is done waits for the database to record its outcome


def host_checks(session: TradingSession) -> None:
    """Re-run the guards at host time: flags, approvals or code may have changed since the session was created."""
    check_environment(session.environment)
    check_account(session.environment, session.account_id)
    for sleeve in session.sleeves:
        if code_hash(sleeve["strategy"]) != sleeve["code_hash"]:
            raise SessionRefused(f"{sleeve['strategy']} code changed since the session was created; start a new one")
    if session.environment == Environment.LIVE:
        check_live_approvals(
            [Sleeve(s["strategy"], s["instrument_id"], s["bar_spec"], s["params"]) for s in session.sleeves]
        )


def freeze_startup_objects() -> None:
    """Move everything built so far (Django, Nautilus, the node) out of the garbage collector's sight.

    A full collection over those objects takes 100-200 ms, and it runs on whichever thread allocates when the
    threshold trips: the event loop with an order in hand, or the intent writer it waits on. Frozen objects are
    never traversed again, so later collections only walk what the running session creates.
    """
    gc.collect()
    gc.freeze()


def cancel_node_start_up() -> None:
    """Cancel the node's run task (on this loop) when it is still in its start-up.

    After a stop, Nautilus's start-up still waits out its connection, reconciliation or portfolio timeout (up to
    30 s here) before the node's run returns, so a session killed or failed while starting would sit halted that
    long. The stop has already disconnected the clients; the run task treats the cancel as its shutdown.
    """
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__ == "TradingNode.run_async" and not task.done():  # type: ignore[union-attr]
            task.cancel()


_early_stop_signals: list[int] = []  # SIGTERM/SIGINT that came before the node's loop could take them


def remember_early_stop_signals() -> None:
    """Until the node's loop handles SIGTERM and SIGINT, a stop asked for is remembered rather than ending the
    process half-started (the session would sit STARTING until the reaper calls it lost); the host carries it out as
    soon as the loop runs."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: _early_stop_signals.append(signum))


def run_session(session_id: int) -> str:
    """Host a session until it stops, is killed or fails; return its final status."""
    # An order waits on the intent writer's thread: hand the GIL over in 0.5 ms, not the default 5 ms, so a busy
    # telemetry or supervisor thread cannot hold an order back for a whole switch interval.
    sys.setswitchinterval(0.0005)
    remember_early_stop_signals()
    take_over_checkpoints()
    owner = services.lease_owner_id()
    session = services.acquire_lease(session_id, owner)  # SessionRefused when hosted elsewhere or finished
    actor = system_actor(f"session-{session_id}")
    if session.kill_requested_at:
        services.do_finish_session(
            session_id,
            SessionStatus.KILLED,
            f"killed before start: {session.kill_reason}",
            session.kill_requested_by or actor,
        )
        return SessionStatus.KILLED
    gateway = settings.ATS.gateway(session.environment)
    gateway = type(gateway)(gateway.environment, gateway.host, gateway.port, session.account_id)
    try:
        host_checks(session)
        from trading.gateway import GatewayUnreachable, check_gateway, one_line
        from trading.sessions.node import client_ids

        # One short read-only connection before any node: the accounts, and every instrument, with the real cause
        # (an unknown contract would otherwise surface 30 s later as "did not connect in time").
        instruments = list(dict.fromkeys(s["instrument_id"] for s in session.sleeves))
        try:
            found = check_gateway(gateway, instruments, client_id=client_ids(session_id)[2])
        except GatewayUnreachable as exc:  # connection refused, timeout: the gateway is not there
            raise SessionRefused(f"cannot reach the {session.environment} gateway: {exc}") from None
        except Exception as exc:  # anything else the check did not foresee: fail closed, in one line
            raise SessionRefused(f"the {session.environment} gateway check failed: {one_line(exc)}") from None
        check_gateway_accounts(gateway, found.accounts)
        if found.unknown():
            raise SessionRefused(found.unknown()[0])
    except SessionRefused as exc:
        record(Action.SESSION_REFUSED, actor=actor, target=f"session:{session_id}", payload={"reason": str(exc)})
        services.do_finish_session(session_id, SessionStatus.FAILED, str(exc), actor)
        return SessionStatus.FAILED
    return SessionHost(session, gateway, owner).run()


class SessionHost:
    """Runs the node of one session and carries out the operator's requests on it."""

    def __init__(self, session: TradingSession, gateway, owner: str):
        self.session = session
        self.session_id = session.pk
        self.gateway = gateway
        self.owner = owner
        self.actor = system_actor(f"session-{session.pk}")
        self.sink = TelemetrySink(session.pk, session.environment)
        self.node = None
        self.strategies = []
        self.sleeve_of = {}  # strategy id -> sleeve summary, for telemetry and audit
        self.outcome: tuple[str, str] | None = None  # (status, reason) once decided
        self.stopping = threading.Event()
        self.wake = threading.Event()  # set by a pushed kill: the supervisor looks now
        self.signalled_kill: bool | None = None  # flatten?, when a kill was signalled on this machine
        self.kill_started = False
        self.kill_claim = threading.Lock()  # the supervisor and a signal may both see the kill: one carries it out
        self.risk: SessionRisk | None = None  # the order gate and the loss breaker, built with the node
        self.attribution = AttributionCheck(self)
        self.events = HostEvents(self)
        self.breaker_reset_seen = session.breaker_reset_at

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def run(self) -> str:
        """Build the node, run it until something ends the session, record the outcome."""
        from trading.sessions.node import build_node, node_config

        self.sink.start()
        local_control.write_pid_file(self.session_id, self.session.environment)
        self.sink.emit("status", {"status": SessionStatus.STARTING, "message": "building node"})
        try:
            caps = RiskCaps.from_dict(self.session.risk_caps)
            config = node_config(
                self.session_id,
                self.gateway,
                sorted({s["instrument_id"] for s in self.session.sleeves}),
                caps.max_order_submit_rate.nautilus,
                log_level=settings.ATS.node_log_level,
            )
            self.node = build_node(config)
            self._add_strategies()
            self.risk = SessionRisk(self, caps)
            self.risk.install_gate()
            self.events.subscribe()
            self._watch_start_stages()
        except Exception as exc:
            log.exception("session %s: node build failed", self.session_id)
            return self._finish(SessionStatus.FAILED, f"node build failed: {type(exc).__name__}: {exc}")

        self._install_signal_handlers()
        supervisor = threading.Thread(target=Supervisor(self).run, name=f"supervisor-{self.session_id}", daemon=True)
        supervisor.start()
        freeze_startup_objects()
        try:
            self.node.run()
        except asyncio.CancelledError:
            pass  # a stop cancelled the node's start-up before its run task began (cancel_node_start_up)
        except Exception as exc:
            log.exception("session %s: node crashed", self.session_id)
            self.outcome = self.outcome or (SessionStatus.FAILED, f"node crashed: {type(exc).__name__}: {exc}")
        finally:
            self.stopping.set()
            supervisor.join(5)
            try:
                self.node.dispose()
            except Exception:
                log.warning("session %s: node dispose failed", self.session_id, exc_info=True)
        status, reason = self.outcome or (SessionStatus.STOPPED, "node stopped")
        return self._finish(status, reason)

    def _finish(self, status: str, reason: str) -> str:
        if self.risk is not None:
            self.risk.close()
        self.sink.emit("status", {"status": status, "reason": reason})
        self.sink.close()
        local_control.remove_pid_file(self.session_id)
        deadline = time.monotonic() + FINISH_RETRY_SECONDS
        while True:  # the outcome must reach the database: retry while it is away, then leave it to the reaper
            close_old_connections()
            try:
                who = self.actor
                if status == SessionStatus.KILLED:
                    who = TradingSession.objects.values_list("kill_requested_by", flat=True).get(pk=self.session_id)
                services.do_finish_session(self.session_id, status, reason, who or self.actor)
                return status
            except (DatabaseError, InterfaceError):
                if time.monotonic() > deadline:
                    log.exception("session %s: could not record its end (%s: %s)", self.session_id, status, reason)
                    return status
                time.sleep(DATABASE_BACKOFF_MAX_SECONDS)

    def _add_strategies(self) -> None:
        import msgspec

        from trading.strategies.params import build_config, load_strategy

        claimed = set()
        for index, sleeve in enumerate(self.session.sleeves, start=1):
            strategy_class, _ = load_strategy(sleeve["strategy"])
            config = build_config(
                sleeve["strategy"],
                sleeve["instrument_id"],
                sleeve["bar_spec"],
                sleeve["params"],
                order_id_tag=f"{index:03d}",
            )
            if config.instrument_id not in claimed:
                # Orders and positions found at the broker on reconciliation (e.g. after a crash) belong to the
                # instrument's first sleeve, so it manages them instead of entering again on top of them.
                config = msgspec.structs.replace(config, external_order_claims=[config.instrument_id])
                claimed.add(config.instrument_id)
            strategy = strategy_class(config)
            self.node.trader.add_strategy(strategy)
            self.strategies.append(strategy)
            self.sleeve_of[str(strategy.id)] = {
                "index": index,
                "strategy": sleeve["strategy"],
                "instrument_id": sleeve["instrument_id"],
            }

    # -- order gate and events -------------------------------------------------------------------------------------

    def _watch_start_stages(self) -> None:
        """Fail the session as soon as a start stage fails (Nautilus then just never starts the trader)."""

        def failed(reason: str) -> None:
            if not self.outcome:
                self.end(SessionStatus.FAILED, f"{reason}; the session does not trade")

        watch_start_stages(self.node, failed)

    def claim_kill(self) -> bool:
        """True for the first caller only: whoever claims the kill carries it out."""
        with self.kill_claim:
            if self.kill_started:
                return False
            self.kill_started = True
            return True

    def abandon(self) -> None:
        """The node ignored the stop: record the outcome and end the process (nothing in it can be trusted)."""
        status, reason = self.outcome
        log.error(
            "session %s: node did not stop within %.0fs; exiting the host process", self.session_id, STOP_GRACE_SECONDS
        )
        self._finish(status, f"{reason} (node did not stop within {STOP_GRACE_SECONDS:.0f}s; host exited)")
        from notifications import courier

        courier.flush()  # os._exit skips the exit hooks: get a failed session's alert out first (bounded)
        os._exit(3)

    def trader_running(self) -> bool:
        return bool(self.strategies) and all(s.is_running for s in self.strategies)

    def end(self, status: str, reason: str) -> None:
        self.outcome = self.outcome or (status, reason)
        self.on_loop(self.stop_node())

    def on_loop(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.node.get_event_loop())

    async def stop_node(self) -> None:
        """Stop the node; one stopped while still starting ends now, not when Nautilus's start-up wait runs out."""
        still_starting = not self.trader_running()
        await self.node.stop_async()
        if still_starting:
            cancel_node_start_up()

    # -- signals -------------------------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the session cooperatively: strategies stop, the node shuts down, the outcome is kept."""
        loop = self.node.get_event_loop()

        def on_signal(signum):
            if not self.outcome:
                self.outcome = (SessionStatus.STOPPED, f"stopped by signal {signal.Signals(signum).name}")
            self.stop_task = loop.create_task(self.stop_node())  # kept: not collected

        def on_kill_signal(signum):
            # A kill pushed by a process on this machine (after its request was committed, or instead of it when the
            # database is away): halt and cancel here on the loop at once, without a round trip to the database;
            # who asked and why are read afterwards. The supervisor is woken to record what it sees.
            self.signalled_kill = signum == local_control.FLATTEN_SIGNAL
            if self.claim_kill():
                self.kill_task = loop.create_task(SessionKill(self).run(self.signalled_kill))  # kept: not collected
            self.wake.set()

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal, sig)  # replaces Nautilus's own handler, which only stops
            for sig in (local_control.HALT_SIGNAL, local_control.FLATTEN_SIGNAL):
                loop.add_signal_handler(sig, on_kill_signal, sig)
            if _early_stop_signals:  # asked before this loop could hear it: stop as soon as it runs
                loop.call_soon(on_signal, _early_stop_signals[0])
