"""Hosting one session: lease, gateway checks, the TradingNode, the supervisor, the kill switch.

One session per process: Nautilus keeps Rust runtime threads and a process-wide logger, and a second node in
the same process finds its event loop closed. The CLI runners host in their own process; django-q workers
start a fresh `manage.py host_session` process per session (see tasks.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

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
from trading.sessions.host_kill import SessionKill, halt_for_good
from trading.sessions.host_risk import SessionRisk
from trading.sessions.models import Environment, SessionStatus, TradingSession
from trading.sessions.node import watch_connectivity, watch_start_stages
from trading.sessions.telemetry import TelemetrySink, order_event_payload
from trading.sessions.write_turn import checkpoint, take_over_checkpoints, write_turn
from trading.strategies.registry import code_hash

log = logging.getLogger(__name__)


def never_raise(handler):
    """Wrap a message-bus handler: an exception there would make Nautilus terminate the whole node."""

    def wrapped(self, event):
        try:
            handler(self, event)
        except Exception:
            log.exception("session %s: telemetry handler %s failed", self.session_id, handler.__name__)

    wrapped.__name__ = handler.__name__
    return wrapped


POLL_SECONDS = 0.1  # how often the supervisor looks for a kill or stop request (the kill switch's latency)
HEARTBEAT_SECONDS = 2.0
START_TIMEOUT_SECONDS = float(settings.ATS.session_start_timeout)  # ATS_SESSION_START_TIMEOUT, validated
STOP_GRACE_SECONDS = 30.0  # a node that has not stopped this long after being told to is abandoned
SNAPSHOT_SECONDS = 5.0  # how often the positions and working orders known to the node are published
BREAKER_SECONDS = 1.0  # how often the session's P&L is checked against its loss breaker
DATABASE_BACKOFF_MAX_SECONDS = 2.0  # the supervisor's longest wait between tries while the database is away
FINISH_RETRY_SECONDS = 120.0  # how long a host that is done waits for the database to record its outcome
ACCOUNT_MARK_SECONDS = 2.0  # how often it is sent to the account's breaker (a database write)
# Nautilus kernel start stages (each returns False on failure) and what their failure means for the operator.
# IB: connectivity lost / restored (data kept or lost) / reset.
CONNECTIVITY_CODES = {1100, 1101, 1102, 1300, 2110}


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


def run_session(session_id: int) -> str:
    """Host a session until it stops, is killed or fails; return its final status."""
    # An order waits on the intent writer's thread: hand the GIL over in 0.5 ms, not the default 5 ms, so a busy
    # telemetry or supervisor thread cannot hold an order back for a whole switch interval.
    sys.setswitchinterval(0.0005)
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
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a pushed kill: the supervisor looks now
        self._signalled_kill: bool | None = None  # flatten?, when a kill was signalled on this machine
        self.kill_started = False
        self._kill_claim = threading.Lock()  # the supervisor and a signal may both see the kill: one carries it out
        self.risk: SessionRisk | None = None  # the order gate and the loss breaker, built with the node
        self.attribution = AttributionCheck(self)
        self._breaker_reset_seen = session.breaker_reset_at

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
            self._subscribe_events()
            self._watch_connectivity()
            self._watch_start_stages()
        except Exception as exc:
            log.exception("session %s: node build failed", self.session_id)
            return self._finish(SessionStatus.FAILED, f"node build failed: {type(exc).__name__}: {exc}")

        self._install_signal_handlers()
        supervisor = threading.Thread(target=self._supervise, name=f"supervisor-{self.session_id}", daemon=True)
        supervisor.start()
        try:
            self.node.run()
        except Exception as exc:
            log.exception("session %s: node crashed", self.session_id)
            self.outcome = self.outcome or (SessionStatus.FAILED, f"node crashed: {type(exc).__name__}: {exc}")
        finally:
            self._stop.set()
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

    def _subscribe_events(self) -> None:
        msgbus = self.node.kernel.msgbus
        msgbus.subscribe(topic="events.order.*", handler=self._on_order_event)
        msgbus.subscribe(topic="events.position.*", handler=self._on_position_event)
        msgbus.subscribe(topic="events.account.*", handler=self._on_account_event)
        msgbus.subscribe(topic="data.bars.*", handler=self._on_bar)

    def _watch_start_stages(self) -> None:
        """Fail the session as soon as a start stage fails (Nautilus then just never starts the trader)."""

        def failed(reason: str) -> None:
            if not self.outcome:
                self._end(SessionStatus.FAILED, f"{reason}; the session does not trade")

        watch_start_stages(self.node, failed)

    def _watch_connectivity(self) -> None:
        """Surface the gateway's connectivity codes (1100 lost, 1101/1102 restored, ...) and dropped sockets (which
        send no code) as telemetry and audit."""

        def on_code(client_id: int, code: int, message: str) -> None:
            if code in CONNECTIVITY_CODES:
                payload = {
                    "code": code,
                    "message": message[:300],
                    "client_id": client_id,
                    "connected": code in (1101, 1102),
                }
                self.sink.emit("health", payload, audit_action=Action.GATEWAY_CONNECTIVITY)

        def on_disconnect(client_id: int) -> None:
            payload = {
                "code": "disconnected",
                "message": "connection to the gateway lost; reconnecting",
                "client_id": client_id,
                "connected": False,
            }
            self.sink.emit("health", payload, audit_action=Action.GATEWAY_CONNECTIVITY)

        watch_connectivity(self.node, on_code, on_disconnect)

    @never_raise
    def _on_order_event(self, event) -> None:
        from trading.sessions.telemetry import AUDITED_ORDER_EVENTS

        name = type(event).__name__
        payload = order_event_payload(event, self.sleeve_of.get(str(event.strategy_id)))
        action = AUDITED_ORDER_EVENTS.get(name)
        if name in ("OrderDenied", "OrderModifyRejected") and self.risk and self.risk.audited(event.client_order_id):
            action = None  # the gate audited its own denial with rule and numbers
        if name == "OrderFilled" and event.reconciliation:
            # Not an execution the session saw: reconciliation made it up to match the broker's report. Say so
            # everywhere, and tell the operator; a price of 0 means the broker gave none (kept out of the P&L).
            payload["inferred"] = True
            action = Action.ORDER_FILL_INFERRED
            self._alert_off_loop(
                "order.fill_inferred",
                f"session #{self.session_id}: reconciliation inferred a fill of {payload.get('order_side', '')} "
                f"{payload.get('last_qty', '')} {payload['instrument_id']} @ {payload.get('last_px', '')}",
                payload,
            )
        if name == "OrderFilled" and self.risk is not None and not (event.reconciliation and not event.last_px):
            self.risk.book_fill(event)
        self.sink.emit("fill" if name == "OrderFilled" else "order", payload, audit_action=action)

    def _alert_off_loop(self, kind: str, message: str, payload: dict) -> None:
        from trading.monitoring.alerts import send_alert

        self.node.get_event_loop().run_in_executor(None, send_alert, kind, self.session.environment, message, payload)

    @never_raise
    def _on_position_event(self, event) -> None:
        self.sink.emit(
            "position",
            {
                "event": type(event).__name__,
                "instrument_id": str(event.instrument_id),
                "strategy_id": str(event.strategy_id),
                "signed_qty": float(event.signed_qty),
                "avg_px_open": float(event.avg_px_open),
                "realized_pnl": str(event.realized_pnl),
                "unrealized_pnl": str(event.unrealized_pnl),
            },
        )

    @never_raise
    def _on_account_event(self, event) -> None:
        balances = [{"currency": str(b.currency), "total": str(b.total), "free": str(b.free)} for b in event.balances]
        self.sink.emit("account", {"account_id": str(event.account_id), "balances": balances})

    @never_raise
    def _on_bar(self, bar) -> None:
        self.sink.emit(
            "bar",
            {
                "bar_type": str(bar.bar_type),
                "ts": bar.ts_event,
                "open": float(bar.open),
                "high": float(bar.high),
                "low": float(bar.low),
                "close": float(bar.close),
                "volume": float(bar.volume),
            },
        )

    # -- supervision -------------------------------------------------------------------------------------------

    def _supervise(self) -> None:
        """Heartbeat, detect the start, and watch for kill and stop requests (persisted in the database).

        A database error never ends it: it backs off and tries again. While the database is away no intent can be
        audited, so every order is refused (fail closed), and the local kill switch (a signal) still works."""
        state = SupervisorState(started_at=time.monotonic())
        try:
            while not self._stop.is_set():
                try:
                    if self._supervise_once(state):
                        return
                    if state.database_down_since is not None:
                        log.warning(
                            "session %s: database back after %.1fs",
                            self.session_id,
                            time.monotonic() - state.database_down_since,
                        )
                        state.database_down_since, state.backoff = None, POLL_SECONDS
                    self._wake.wait(POLL_SECONDS)
                    self._wake.clear()
                except (DatabaseError, InterfaceError):
                    if state.database_down_since is None:
                        state.database_down_since = time.monotonic()
                        log.exception("session %s: database unreachable; retrying with backoff", self.session_id)
                    self._kill_on_signal()
                    close_old_connections()
                    self._wake.wait(state.backoff)
                    self._wake.clear()
                    state.backoff = min(state.backoff * 2, DATABASE_BACKOFF_MAX_SECONDS)
        finally:
            close_old_connections()

    def claim_kill(self) -> bool:
        """True for the first caller only: whoever claims the kill carries it out."""
        with self._kill_claim:
            if self.kill_started:
                return False
            self.kill_started = True
            return True

    def _kill_on_signal(self) -> None:
        """The database is unreachable and a kill was signalled on this machine: carry it out without the database
        (the host records the outcome once the database is back)."""
        if self._signalled_kill is None or not self.claim_kill():
            return
        self._on_loop(
            SessionKill(self).run(
                self._signalled_kill, requested_by="local kill switch", reason="signalled by kill_session"
            )
        )

    def _supervise_once(self, state: SupervisorState) -> bool:
        """One look at the session; True when the supervisor's work is over."""
        now = time.monotonic()
        if self.outcome and state.outcome_seen_at is None:
            state.outcome_seen_at = now
        elif state.outcome_seen_at is not None and now - state.outcome_seen_at > STOP_GRACE_SECONDS:
            self._abandon()
            return True
        if now - state.last_beat >= HEARTBEAT_SECONDS:
            with write_turn():
                hosted = services.heartbeat(self.session_id, self.owner)
            if hosted is None:
                halt_for_good(self)
                self._end(SessionStatus.FAILED, "lease lost: the session ended or another host took it over")
                return True
            state.last_beat = now
        request = services.pending_request(self.session_id)
        if request and request[0] and self.claim_kill():
            self._on_loop(SessionKill(self).run(bool(request[1])))
        elif request and request[2] and not self.outcome:
            self.outcome = (SessionStatus.STOPPED, "stop requested by the operator")
            self._on_loop(self._stop_node())
        if request and request[3] != self._breaker_reset_seen:
            self._breaker_reset_seen = request[3]
            self.node.get_event_loop().call_soon_threadsafe(self.risk.reset_breaker)
        if state.running and now - state.last_breaker >= BREAKER_SECONDS:
            self.node.get_event_loop().call_soon_threadsafe(self.risk.check_breaker)
            state.last_breaker = now
        if state.running and now - state.last_account_mark >= ACCOUNT_MARK_SECONDS:
            self.risk.mark_account()
            state.last_account_mark = now
        if not state.running and self._trader_running():
            services.do_mark_running(self.session_id)
            state.running = True
            self.sink.emit("status", {"status": SessionStatus.RUNNING, "message": "reconciled; trading"})
            self.node.get_event_loop().call_soon_threadsafe(self._snapshot, "reconciled")
            state.last_snapshot = now
        elif state.running and now - state.last_snapshot >= SNAPSHOT_SECONDS:
            self.node.get_event_loop().call_soon_threadsafe(self._snapshot, "periodic")
            self._on_loop(self.attribution.run())
            checkpoint()  # the WAL checkpoints its connections skip (see write_turn)
            state.last_snapshot = now
        elif not state.running and now - state.started_at > START_TIMEOUT_SECONDS and not self.outcome:
            self._end(
                SessionStatus.FAILED,
                f"node did not start trading within {START_TIMEOUT_SECONDS:.0f}s "
                "(reconciliation failed or the gateway stopped answering)",
            )
        return False

    def _snapshot(self, reason: str) -> None:
        """Publish the positions and working orders the node holds (runs on the node's loop, where the cache is)."""
        try:
            cache = self.node.kernel.cache
            self.sink.emit(
                "snapshot",
                {
                    "reason": reason,
                    "positions": [
                        {
                            "instrument_id": str(p.instrument_id),
                            "strategy_id": str(p.strategy_id),
                            "signed_qty": float(p.signed_qty),
                            "avg_px_open": float(p.avg_px_open),
                        }
                        for p in cache.positions_open()
                    ],
                    "working_orders": [
                        {
                            "client_order_id": str(o.client_order_id),
                            "instrument_id": str(o.instrument_id),
                            "strategy_id": str(o.strategy_id),
                            "side": o.side_string(),
                            "quantity": str(o.quantity),
                            "type": o.type_string(),
                            "price": str(o.price) if o.has_price else None,
                            "venue_order_id": str(o.venue_order_id) if o.venue_order_id else None,
                        }
                        for o in cache.orders_open()
                    ],
                },
            )
        except Exception:
            log.exception("session %s: snapshot failed", self.session_id)

    def _abandon(self) -> None:
        """The node ignored the stop: record the outcome and end the process (nothing in it can be trusted)."""
        status, reason = self.outcome
        log.error(
            "session %s: node did not stop within %.0fs; exiting the host process", self.session_id, STOP_GRACE_SECONDS
        )
        self._finish(status, f"{reason} (node did not stop within {STOP_GRACE_SECONDS:.0f}s; host exited)")
        os._exit(3)

    def _trader_running(self) -> bool:
        return bool(self.strategies) and all(s.is_running for s in self.strategies)

    def _end(self, status: str, reason: str) -> None:
        self.outcome = self.outcome or (status, reason)
        self._on_loop(self._stop_node())

    def _on_loop(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.node.get_event_loop())

    async def _stop_node(self) -> None:
        await self.node.stop_async()

    # -- signals -------------------------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the session cooperatively: strategies stop, the node shuts down, the outcome is kept."""
        loop = self.node.get_event_loop()

        def on_signal(signum):
            if not self.outcome:
                self.outcome = (SessionStatus.STOPPED, f"stopped by signal {signal.Signals(signum).name}")
            self.node.stop()

        def on_kill_signal(signum):
            # A kill pushed by a process on this machine (after its request was committed, or instead of it when the
            # database is away): halt and cancel here on the loop at once, without a round trip to the database;
            # who asked and why are read afterwards. The supervisor is woken to record what it sees.
            self._signalled_kill = signum == local_control.FLATTEN_SIGNAL
            if self.claim_kill():
                self._kill_task = loop.create_task(SessionKill(self).run(self._signalled_kill))  # kept: not collected
            self._wake.set()

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal, sig)  # replaces Nautilus's own handler, which only stops
            for sig in (local_control.HALT_SIGNAL, local_control.FLATTEN_SIGNAL):
                loop.add_signal_handler(sig, on_kill_signal, sig)
