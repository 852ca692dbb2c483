"""GatewayMonitor: checks each configured IB Gateway every few seconds over a kept-open ib_async connection.

Keeping the connection open is what makes detection fast: a dropped socket is seen at once through ib_async's
disconnectedEvent, and the gateway's connectivity codes (1100 lost, 1101/1102 restored) through its errorEvent;
the periodic check (reconnect if needed, reqCurrentTime, managed accounts) catches the rest (refused, silent,
wrong gateway). The lost-session reaper runs on the same schedule. Runs on its own asyncio loop; every ORM call
goes through sync_to_async, because Django forbids the ORM inside a running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from ib_async import IB

from ats_site.config import GatewayConfig
from trading.gateway import GatewayUnreachable, account_problem, connect_readonly, ib_async_on_running_loop
from trading.monitoring.services import do_reap_lost_sessions, do_record_check

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 2.0  # seconds between checks of one gateway
DEFAULT_TIMEOUT = 2.0  # seconds a gateway gets to accept the API connection and to answer reqCurrentTime
# Dedicated client ids, stable so a gateway's API log attributes the monitor's connection at a glance; the one-shot
# check uses others so it never collides with (and falsely alarms about) a monitor that is running.
# Outside every other range (sessions 100..9099, checks 9100..9399, kills 10000..12999, account flatten 13500):
# 900..903 sat inside the sessions' range, so sessions 266 and 267 collided with the monitor at the gateway.
MONITOR_CLIENT_IDS = {"paper": 9400, "live": 9401}
ONCE_CLIENT_IDS = {"paper": 9402, "live": 9403}
CONNECTIVITY_LOST = 1100
CONNECTIVITY_RESTORED = (1101, 1102)  # 1101: restored, market data lost; 1102: restored, data kept


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one gateway check."""

    environment: str
    healthy: bool
    message: str = ""
    managed_accounts: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)

    def line(self) -> str:
        """One line for a terminal."""
        if self.healthy:
            return f"{self.environment}: healthy (accounts {', '.join(self.managed_accounts)})"
        return f"{self.environment}: BROKEN: {self.message}"


def configured_gateways(config=None) -> list[GatewayConfig]:
    """The gateways to watch: paper always, live only when live trading is enabled."""
    config = config or settings.ATS
    return [config.paper] + ([config.live] if config.enable_live_trading else [])


class GatewayProbe:
    """One gateway: a kept-open, read-only ib_async connection, checked on demand and watched for events."""

    def __init__(self, gateway: GatewayConfig, client_id: int, timeout: float = DEFAULT_TIMEOUT):
        self.gateway = gateway
        self.client_id = client_id
        self.timeout = timeout
        self.where = f"{gateway.host}:{gateway.port}"
        self.wake = asyncio.Event()  # set by events that deserve a check (or a record) now, not at the next tick
        self.ib = IB()
        self.ib.disconnectedEvent += self._on_disconnected
        self.ib.errorEvent += self._on_error
        self._note: CheckResult | None = None  # a breakage seen through an event, recorded before the next check
        self._connectivity_lost = False
        self._quiet = False  # our own connects and disconnects are no news

    def _broken(self, message: str, reason: str, accounts=(), **details) -> CheckResult:
        return CheckResult(
            self.gateway.environment,
            False,
            message,
            tuple(accounts),
            {"reason": reason, "address": self.where, **details},
        )

    def _on_disconnected(self) -> None:
        if self._quiet:
            return
        self._note = self._broken(f"the gateway at {self.where} dropped the API connection", "dropped")
        self.wake.set()

    def _on_error(self, req_id, code, text, contract=None) -> None:
        if code == CONNECTIVITY_LOST:
            self._connectivity_lost = True
            self._note = self._broken(
                f"the gateway at {self.where} lost its connection to IB (1100)", "connectivity", code=code
            )
            self.wake.set()
        elif code in CONNECTIVITY_RESTORED:
            self._connectivity_lost = False
            self.wake.set()

    def take_note(self) -> CheckResult | None:
        """The breakage an event reported since the last call, if any."""
        note, self._note = self._note, None
        return note

    def close(self) -> None:
        """Close the connection (quietly: this is not a drop)."""
        self._quiet = True
        try:
            self.ib.disconnect()
        finally:
            self._quiet = False

    async def _connect(self) -> CheckResult | None:
        self._connectivity_lost = False  # a fresh API session: only codes sent on it count
        self._quiet = True
        try:
            await connect_readonly(self.ib, self.gateway, self.client_id, self.timeout)
            return None
        except GatewayUnreachable as exc:
            if exc.reason == "client-id-in-use":
                return self._client_id_in_use()
            return self._broken(str(exc), exc.reason)
        finally:
            self._quiet = False

    def _client_id_in_use(self) -> CheckResult:
        return self._broken(
            f"client id {self.client_id} is already in use at {self.where} (another monitor?)", "client-id-in-use"
        )

    async def check(self) -> CheckResult:
        """Connect if needed, ask the time, and judge the managed accounts and the connectivity codes seen."""
        if not self.ib.isConnected():
            failed = await self._connect()
            if failed:
                return failed
        try:
            await asyncio.wait_for(self.ib.reqCurrentTimeAsync(), self.timeout)
        except TimeoutError:
            self.close()  # a hung gateway: start over with a fresh connection next time
            return self._broken(
                f"the gateway at {self.where} did not answer within {self.timeout:g}s (silent or hung)", "silent"
            )
        except ConnectionError:
            return self._broken(f"the gateway at {self.where} dropped the API connection", "dropped")
        accounts = list(self.ib.managedAccounts())
        problem = account_problem(self.gateway, accounts)
        if problem:
            return self._broken(problem, "accounts", accounts)
        if self._connectivity_lost:
            return self._broken(
                f"the gateway at {self.where} lost its connection to IB (1100) and has not reported it restored",
                "connectivity",
                accounts,
                code=CONNECTIVITY_LOST,
            )
        return CheckResult(self.gateway.environment, True, "", tuple(accounts), {"address": self.where})


def _with_fresh_connection(fn, *args):
    # A long-running process outlives database connections (server restarts, idle timeouts): drop stale ones first.
    close_old_connections()
    return fn(*args)


def _close_db() -> None:
    connections.close_all()


def record_result(result: CheckResult):
    """Store one check result (sync; for the ORM thread)."""
    return _with_fresh_connection(
        do_record_check,
        result.environment,
        result.healthy,
        result.message,
        list(result.managed_accounts),
        result.details,
    )


class GatewayMonitor:
    """Watches every configured gateway and reaps lost sessions, until stop() is called."""

    def __init__(
        self,
        gateways: list[GatewayConfig] | None = None,
        *,
        interval: float = DEFAULT_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
        client_ids: dict[str, int] | None = None,
        reap_sessions: bool = True,
    ):
        if interval <= 0 or timeout <= 0:
            raise ValueError("interval and timeout must be positive")
        self.gateways = list(gateways) if gateways is not None else configured_gateways()
        self.interval = interval
        self.timeout = timeout
        self.client_ids = {**MONITOR_CLIENT_IDS, **(client_ids or {})}
        self.reap_sessions = reap_sessions
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False

    def _probes(self) -> list[GatewayProbe]:
        return [GatewayProbe(g, self.client_ids[g.environment], self.timeout) for g in self.gateways]

    async def _record(self, result: CheckResult) -> None:
        await sync_to_async(record_result)(result)

    async def _watch(self, probe: GatewayProbe) -> None:
        while True:
            probe.wake.clear()
            try:
                result = probe.take_note() or await probe.check()
                await self._record(result)
            except Exception:  # one bad cycle (database busy, ...) must not end the watch; the page shows it stale
                log.exception("%s gateway: check cycle failed", probe.gateway.environment)
            with contextlib.suppress(TimeoutError):  # no wake-up: the next cycle is due
                await asyncio.wait_for(probe.wake.wait(), self.interval)

    async def _reap(self) -> None:
        while True:
            try:
                lost = await sync_to_async(_with_fresh_connection)(do_reap_lost_sessions)
                if lost:
                    log.error("sessions marked lost (not restarted): %s", ", ".join(map(str, lost)))
            except Exception:
                log.exception("lost-session reaper cycle failed")
            await asyncio.sleep(self.interval)

    async def _watch_audit(self) -> None:
        from trading.monitoring.audit_watch import AUDIT_WATCH_INTERVAL, watch_audit_once

        while True:
            try:
                await sync_to_async(_with_fresh_connection)(watch_audit_once)
            except Exception:
                log.exception("audit watch cycle failed")
            await asyncio.sleep(AUDIT_WATCH_INTERVAL)

    async def run(self) -> None:
        """Watch until stop() is called (or the task is cancelled); the first cycle reaps at once."""
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stop_requested:
            return
        with ib_async_on_running_loop():
            await self._watch_all()

    async def _watch_all(self) -> None:
        probes = self._probes()
        tasks = [asyncio.create_task(self._watch(p), name=f"watch-{p.gateway.environment}") for p in probes]
        if self.reap_sessions:
            tasks.append(asyncio.create_task(self._reap(), name="reap-sessions"))
            tasks.append(asyncio.create_task(self._watch_audit(), name="watch-audit"))
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for probe in probes:
                probe.close()
            await sync_to_async(_close_db)()

    def stop(self) -> None:
        """Ask run() to finish; safe from any thread."""
        self._stop_requested = True
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def check_once(self) -> tuple[list[CheckResult], list[int]]:
        """One cycle: check every gateway, record the results, reap lost sessions; return (results, lost ids)."""
        with ib_async_on_running_loop():
            return await self._check_all()

    async def _check_all(self) -> tuple[list[CheckResult], list[int]]:
        probes = self._probes()
        try:
            results = list(await asyncio.gather(*(p.check() for p in probes)))
            for result in results:
                await self._record(result)
            lost = await sync_to_async(_with_fresh_connection)(do_reap_lost_sessions) if self.reap_sessions else []
        finally:
            for probe in probes:
                probe.close()
            await sync_to_async(_close_db)()
        return results, lost
