"""IBSim: the simulated gateway assembled (clock, market, broker, TCP server, control port)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .broker import Broker
from .control import ControlServer
from .market import Market, SimClock
from .server import GatewayServer
from .sessions import SessionCalendar

log = logging.getLogger("ibsim")


class IBSim:
    """A simulated IB Gateway running on the current asyncio loop."""

    def __init__(
        self,
        accounts: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        seed: int = 7,
        speed: float = 1.0,
        cash: float = 1_000_000.0,
        commission: str = "fixed",
        partial_fill_qty: float | None = None,
        slippage_ticks: int = 0,
        control_port: int | None = None,
        data_dir: str | Path | None = None,
        start_time: float | None = None,
        client_id_grace: float = 1.0,
        tick_interval: float = 0.05,
        calendar: str = "always",
        pacing: bool = False,
        account_kind: str = "margin",
    ):
        self.accounts = list(accounts or ["DU1234567"])
        self.host = host
        self.requested_port = port
        self.state_file = Path(state_file) if state_file else None
        self.seed = seed
        self.clock = SimClock(speed=speed, start=start_time)
        self.calendar = SessionCalendar(calendar)
        self.market = Market(self.clock, seed=seed, data_dir=data_dir)
        self.broker = Broker(
            self.accounts,
            cash=cash,
            commission=commission,
            partial_fill_qty=partial_fill_qty,
            slippage_ticks=slippage_ticks,
            state_file=self.state_file,
            account_kind=account_kind,
            session_open=lambda order: self.calendar.is_open(self.clock.now(), order.outside_rth),
        )
        self.server = GatewayServer(
            self.broker,
            self.market,
            host=host,
            port=port,
            client_id_grace=client_id_grace,
            tick_interval=tick_interval,
            on_change=self._schedule_save,
            calendar=self.calendar,
            pacing=pacing,
        )
        self.control_port = control_port
        self.control: ControlServer | None = None
        self._save_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        """Start listening (and the control port if configured)."""
        self._loop = asyncio.get_running_loop()
        await self.server.start()
        if self.control_port is not None:
            self.control = ControlServer(self, self.host, self.control_port)
            await self.control.start()
            self.control_port = self.control.port

    async def stop(self) -> None:
        """Close every connection, stop listening and save the state."""
        if self.control:
            await self.control.stop()
        await self.server.stop()
        if self._save_handle:
            self._save_handle.cancel()
        self.save()

    def save(self) -> None:
        """Write the broker state to the state file, if one is configured."""
        if self.state_file:
            self.broker.save(self.state_file)

    def _schedule_save(self) -> None:
        # Debounced so a burst of fills costs one write, yet a crash loses at most ~0.2 s.
        if not self.state_file or self._loop is None or self._save_handle is not None:
            return

        def run() -> None:
            self._save_handle = None
            try:
                self.save()
            except OSError:
                log.exception("saving state failed")

        self._save_handle = self._loop.call_later(0.2, run)

    # ---------------------------------------------------------------- inspection

    def received(self, name: str | None = None, client_id: int | None = None) -> list[dict[str, Any]]:
        """The order log: every inbound message, optionally filtered by name or client id."""
        return [
            e
            for e in self.server.order_log
            if (name is None or e["name"] == name) and (client_id is None or e["client_id"] == client_id)
        ]

    def orders(self) -> list[dict[str, Any]]:
        """All orders the broker knows, with status."""
        return [asdict(o) for o in self.broker.orders.values()]

    def positions(self, account: str | None = None) -> dict[str, dict[str, Any]]:
        """Positions of one account (default: the first) by symbol."""
        acc = self.broker.accounts[account or self.accounts[0]]
        return {s: asdict(p) for s, p in acc.positions.items() if p.qty != 0}

    def executions(self) -> list[dict[str, Any]]:
        """Every execution booked, oldest first."""
        return [asdict(e) for e in self.broker.executions]

    def account_values(self, account: str | None = None) -> dict[str, float]:
        """Cash, P&L and margin values of an account at current prices."""
        return self.broker.account_values(account or self.accounts[0], self.market)

    def client_ids(self) -> list[int]:
        """Client ids of the sessions currently connected."""
        # A session is ready only once startApi has set its client id.
        return sorted(c.client_id for c in self.server.ready() if c.client_id is not None)

    # ---------------------------------------------------------------- seeding and faults

    def move_price(self, symbol: str, fraction: float) -> float:
        """Gap a symbol's price by ``fraction`` from the next 5-second step on (for loss scenarios)."""
        return self.market.move(symbol, fraction)

    def seed_position(self, account: str, symbol: str, qty: float, avg_cost: float) -> None:
        """Set a position as if opened elsewhere."""
        self.broker.seed_position(account, symbol, qty, avg_cost)

    def seed_working_order(
        self,
        account: str,
        symbol: str,
        action: str,
        qty: float,
        order_type: str = "LMT",
        lmt_price: float | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Create a working order "placed elsewhere"; returns it as a dict."""
        return asdict(self.broker.seed_working_order(account, symbol, action, qty, order_type, lmt_price, **kw))

    def drop_connections(self) -> int:
        """Close all client sockets."""
        return self.server.drop_connections()

    async def refuse_connections(self, seconds: float) -> None:
        """Refuse new connections for ``seconds``."""
        await self.server.refuse_connections(seconds)

    def go_silent(self, silent: bool = True) -> None:
        """Accept connections but never answer (True), or answer again (False)."""
        self.server.silent = bool(silent)

    def send_connectivity(self, code: int) -> None:
        """Broadcast 1100, 1101 or 1102."""
        self.server.send_connectivity(code)

    def reject_next_orders(self, n: int) -> None:
        """Reject the next ``n`` orders with error 201."""
        self.broker.reject_next = int(n)

    def set_ack_delay(self, seconds: float) -> None:
        """Delay order/cancel acknowledgements by ``seconds``."""
        self.server.ack_delay = float(seconds)

    def set_speed(self, speed: float) -> None:
        """Change how fast simulated time runs (0 freezes it)."""
        self.clock.set_speed(speed)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward and push the resulting data and fills at once."""
        self.clock.advance(seconds)
        self.server.tick()

    def push_bar(self) -> None:
        """Advance one 5-second step: one new real-time bar, quote and trade."""
        self.advance(5)


class SimHandle:
    """Thread-safe handle on an IBSim running in a background thread."""

    def __init__(self, sim: IBSim, loop: asyncio.AbstractEventLoop, thread: threading.Thread):
        self.sim = sim
        self.loop = loop
        self.thread = thread
        self.port = sim.port
        self.control_port = sim.control_port

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30, **kwargs: Any) -> Any:
        """Run ``fn(*args)`` on the simulator's loop and return its result (awaits coroutines)."""

        async def run() -> Any:
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def __getattr__(self, name: str) -> Any:
        # Every public IBSim method is available on the handle, executed on the sim's loop.
        attr = getattr(self.sim, name)
        if callable(attr) and not name.startswith("_"):
            return lambda *a, **kw: self.call(attr, *a, **kw)
        return attr

    def stop(self) -> None:
        """Stop the simulator and its thread (saves --state)."""
        if not self.thread.is_alive():
            return
        try:
            self.call(self.sim.stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(**kwargs: Any) -> SimHandle:
    """Start an IBSim (same keyword arguments) on its own loop in a daemon thread."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            sim = IBSim(**kwargs)
            loop.run_until_complete(sim.start())
            box["sim"] = sim
        except BaseException as exc:  # reported to the caller below
            box["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name="ibsim", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in box:
        raise box["error"]
    return SimHandle(box["sim"], loop, thread)
