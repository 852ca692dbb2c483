"""Benchmark: order round-trips through ibsim via ib_async (place -> Filled with commission).

Prints round-trips per second, p50/p99 latency, and the CPU each side spent per order. ibsim runs as its own
process (`python -m ibsim`, as `make run` starts it), or with --in-thread in a background thread of this process,
where the client's and the simulator's Python share one interpreter lock. ib_async's client-side request throttle
(45 msg/s, mimicking IB's pacing limit) is disabled so the gateway simulator itself is measured.
Target: >= 500/s, p99 < 20 ms on loopback at concurrency 1.

With --client ibapi the client is IB's official one (nautilus-ibapi's EClient, the client inside the Nautilus
adapter) instead of ib_async, one order at a time.

    python bench/ibsim_orders.py [--orders 2000] [--concurrency 1] [--in-thread] [--client ib_async|ibapi]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ib_async import IB, MarketOrder, Stock  # noqa: E402

from ibsim import run_in_thread  # noqa: E402


async def bench(port: int, n: int, concurrency: int) -> list[float]:
    ib = IB()
    ib.client.MaxRequests = 0  # no client-side throttling: measure the simulator
    await ib.connectAsync("127.0.0.1", port, clientId=1, timeout=5)
    contract = (await ib.qualifyContractsAsync(Stock("QQQ", "SMART", "USD")))[0]
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    waiting: dict[int, tuple] = {}  # orderId -> (trade, event)

    def on_commission(trade, fill, report) -> None:
        entry = waiting.get(trade.order.orderId)
        if entry and trade.orderStatus.status == "Filled":
            entry[1].set()

    # IB sends the commission report last for a fill, so it marks the end of the round-trip.
    ib.commissionReportEvent += on_commission

    async def one(i: int) -> None:
        async with sem:
            done = asyncio.Event()
            order = MarketOrder("BUY" if i % 2 == 0 else "SELL", 1)
            order.orderId = ib.client.getReqId()
            waiting[order.orderId] = (None, done)
            t0 = time.perf_counter()
            ib.placeOrder(contract, order)
            await asyncio.wait_for(done.wait(), 10)
            latencies.append(time.perf_counter() - t0)
            del waiting[order.orderId]

    for i in range(50):  # warm-up
        await one(i)
    latencies.clear()
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    ib.disconnect()
    latencies.append(elapsed)  # carried back as the last element
    return latencies


@contextlib.contextmanager
def ibsim_process() -> Iterator[tuple[int, int]]:
    """ibsim as its own process on a free port, clock frozen, always-open market; yields (port, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    args = [sys.executable, "-m", "ibsim", "--port", str(port), "--speed", "0", "--calendar", "always"]
    proc = subprocess.Popen(args, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("ibsim did not start") from None
                time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_ibapi(port: int, n: int) -> list[float]:
    """Round trips with the official EClient: placeOrder, then wait for the fill's commission report."""
    import threading

    from ibapi.client import EClient
    from ibapi.contract import Contract
    from ibapi.order import Order
    from ibapi.wrapper import EWrapper

    class App(EWrapper, EClient):  # type: ignore[misc]
        def __init__(self) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, self)
            self.next_id: int | None = None
            self.filled: set[int] = set()
            self.exec_order: dict[str, int] = {}
            self.done = threading.Event()
            self.waiting = -1

        def nextValidId(self, orderId: int) -> None:  # noqa: N802, N803 - EWrapper's names
            self.next_id = orderId

        def orderStatus(self, orderId, status, *rest) -> None:  # noqa: N802, N803
            if status == "Filled":
                self.filled.add(orderId)

        def execDetails(self, reqId, contract, execution) -> None:  # noqa: N802, N803
            self.exec_order[execution.execId] = execution.orderId

        def commissionAndFeesReport(self, report) -> None:  # noqa: N802
            if self.exec_order.get(report.execId) == self.waiting:
                self.done.set()

        def error(self, *args, **kwargs) -> None:
            pass

    app = App()
    app.connect("127.0.0.1", port, clientId=2)
    threading.Thread(target=app.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while app.next_id is None:
        if time.monotonic() > deadline:
            raise SystemExit("no nextValidId from ibsim")
        time.sleep(0.01)
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = "QQQ", "STK", "SMART", "USD"
    latencies: list[float] = []
    order_id = app.next_id
    start = 0.0
    for i in range(n + 50):
        if i == 50:  # warm-up done
            latencies.clear()
            start = time.perf_counter()
        order = Order()
        order.action, order.orderType, order.totalQuantity = ("BUY" if i % 2 == 0 else "SELL"), "MKT", 1
        app.done.clear()
        app.waiting = order_id
        t0 = time.perf_counter()
        app.placeOrder(order_id, contract, order)
        if not app.done.wait(10):
            raise SystemExit(f"order {order_id} got no commission report")
        latencies.append(time.perf_counter() - t0)
        order_id += 1
    elapsed = time.perf_counter() - start
    app.disconnect()
    latencies.append(elapsed)
    return latencies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--in-thread", action="store_true", help="run ibsim in a thread of this process")
    p.add_argument("--client", choices=["ib_async", "ibapi"], default="ib_async")
    args = p.parse_args()
    client_cpu = time.process_time()
    server_cpu = None

    def run(port: int) -> list[float]:
        if args.client == "ibapi":
            return bench_ibapi(port, args.orders)
        return asyncio.run(bench(port, args.orders, args.concurrency))

    if args.in_thread:
        with run_in_thread(accounts=["DU1234567"], speed=0) as sim:
            lat = run(sim.port)
    else:
        with ibsim_process() as (port, pid):
            before = cpu_seconds(pid)
            lat = run(port)
            server_cpu = cpu_seconds(pid) - before
    client_cpu = time.process_time() - client_cpu
    elapsed = lat.pop()
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(0.99 * (len(lat) - 1))] * 1000
    total = len(lat) + 50  # the warm-up orders count for CPU
    where = "this process" if args.in_thread else "its own process"
    concurrency = 1 if args.client == "ibapi" else args.concurrency
    print(f"ibsim in {where}, client {args.client}: orders={len(lat)} concurrency={concurrency} elapsed={elapsed:.2f}s")
    print(f"round-trips/s={len(lat) / elapsed:.0f} p50={p50:.2f}ms p99={p99:.2f}ms")
    print(f"CPU per order: client ({args.client}) {client_cpu / total * 1000:.2f} ms", end="")
    print(f", ibsim {server_cpu / total * 1000:.2f} ms" if server_cpu is not None else " (ibsim included)")


if __name__ == "__main__":
    main()
