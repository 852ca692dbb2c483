"""Benchmark: latency ATS's order layer adds from strategy submit to the order arriving at ibsim.

Not a test: prints figures from one run. The same paced order probe (one limit order every INTERVAL ms) runs
first in a bare Nautilus TradingNode (same IB adapter configuration, nothing of ours), then in an ATS paper
session (order gate with the synchronous audit write of each intent, notional cap, telemetry, supervisor),
each in its own process against one in-process ibsim. Latency = ibsim's receive time of placeOrder minus the
strategy's submit time. Target (issue): p99 added <= 5 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._sessions import percentile, prepare_environment  # noqa: E402

COUNT, INTERVAL_MS = int(os.environ.get("BENCH_ORDERS", "200")), 150


def _latencies(output: str, sim, since: int) -> list[float]:
    submits = {}
    for line in output.splitlines():
        if line.startswith("PROBE_SUBMIT "):
            _, client_order_id, ns = line.split()
            submits[client_order_id] = int(ns) / 1e9
    arrivals = {}
    for message in sim.received("PLACE_ORDER")[since:]:
        text = " ".join(str(f) for f in message["fields"])
        for client_order_id in submits:
            if f"{client_order_id}:" in text:
                arrivals[client_order_id] = message["time"]
    return [(arrivals[c] - submits[c]) * 1000 for c in submits if c in arrivals]


def _summary(label: str, values: list[float]) -> str:
    return (
        f"{label:12s} n={len(values):4d}  p50={percentile(values, 50):6.2f} ms  "
        f"p99={percentile(values, 99):6.2f} ms  mean={statistics.fmean(values):6.2f} ms"
    )


def main() -> None:
    # A rate the paced probe stays well under, so both paths send every order.
    prepare_environment(ATS_PAPER_RISK_MAX_ORDER_SUBMIT_RATE="100/00:00:01")
    from ibsim import run_in_thread

    with run_in_thread(accounts=["DU1234567"], port=0, seed=7, speed=1) as sim:
        os.environ["ATS_IB_PAPER_PORT"] = str(sim.port)
        bare = subprocess.run(
            [sys.executable, "bench/_bare_probe_node.py", str(sim.port), str(COUNT), str(INTERVAL_MS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        bare_ms = _latencies(bare.stdout, sim, 0)
        since = len(sim.received("PLACE_ORDER"))
        if not bare_ms:
            raise SystemExit(f"bare node produced no measurable orders: {bare.stderr[-1500:]}")

        import django

        django.setup()
        from trading.sessions.models import SessionStatus, TradingSession
        from trading.sessions.services import do_create_session, do_request_kill

        session = do_create_session(
            environment="paper",
            actor="system:bench",
            sleeves=[
                {
                    "strategy": "order_probe",
                    "instrument_id": "QQQ.NASDAQ",
                    "bar_spec": "5-SECOND-LAST",
                    "params": {"action": "paced", "count": COUNT, "interval_ms": INTERVAL_MS},
                }
            ],
        )
        host = subprocess.Popen(
            [sys.executable, "manage.py", "host_session", str(session.pk)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        import threading
        import time

        collected: list[str] = []
        reader = threading.Thread(target=lambda: collected.extend(host.stdout), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30 + COUNT * INTERVAL_MS / 1000
        while time.monotonic() < deadline and len(sim.received("PLACE_ORDER")) - since < COUNT:
            time.sleep(0.5)
        do_request_kill(actor="system:bench", reason="bench done", session_id=session.pk)
        host.wait(60)
        reader.join(5)
        ours_ms = _latencies("".join(collected), sim, since)
        assert TradingSession.objects.get(pk=session.pk).status == SessionStatus.KILLED

    print("submit -> order at ibsim (placeOrder received), one run:")
    print(_summary("bare node", bare_ms))
    print(_summary("ATS session", ours_ms))
    print(
        f"added by ATS: p50 {percentile(ours_ms, 50) - percentile(bare_ms, 50):+.2f} ms, "
        f"p99 {percentile(ours_ms, 99) - percentile(bare_ms, 99):+.2f} ms (target: p99 added <= 5 ms)"
    )


if __name__ == "__main__":
    main()
