"""Benchmark: order round-trips through ibsim via ib_async (place -> Filled with commission).

Prints round-trips per second and p50/p99 latency. ibsim runs in a background thread of this
process; ib_async's client-side request throttle (45 msg/s, mimicking IB's pacing limit) is
disabled so the gateway simulator itself is measured. Target: >= 500/s, p99 < 20 ms on loopback.

    python bench/ibsim_orders.py [--orders 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    with run_in_thread(accounts=["DU1234567"], speed=0) as sim:
        lat = asyncio.run(bench(sim.port, args.orders, args.concurrency))
    elapsed = lat.pop()
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(0.99 * (len(lat) - 1))] * 1000
    print(f"orders={len(lat)} concurrency={args.concurrency} elapsed={elapsed:.2f}s")
    print(f"round-trips/s={len(lat) / elapsed:.0f} p50={p50:.2f}ms p99={p99:.2f}ms")


if __name__ == "__main__":
    main()
