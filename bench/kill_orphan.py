"""Benchmark: kill (with flatten) of a session whose host was SIGKILLed -> the broker flat, its working order gone.

Not a test: prints figures from one run. Each round starts an ATS paper session whose probe buys 12 QQQ and leaves a
limit order working at ibsim, SIGKILLs its host process, then times do_request_kill(flatten=True) -- which finds the
host dead and carries the kill out at the gateway itself -- until ibsim shows no position and no working order.
Target (issue 11): p99 under 2 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._sessions import percentile, prepare_environment  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
ACCOUNT = "DU1234567"


def main() -> None:
    prepare_environment()
    from ibsim import run_in_thread

    with run_in_thread(accounts=[ACCOUNT], port=0, seed=7, speed=1) as sim:
        os.environ["ATS_IB_PAPER_PORT"] = str(sim.port)
        import django

        django.setup()
        from trading.sessions.models import TradingSession
        from trading.sessions.services import do_create_session, do_request_kill

        def working() -> int:
            return sum(1 for o in sim.orders() if o["status"] in ("Submitted", "PreSubmitted", "PendingSubmit"))

        def long_qqq() -> float:
            return sim.positions(ACCOUNT).get("QQQ", {}).get("qty", 0)

        latencies = []
        for _ in range(ROUNDS):
            session = do_create_session(
                environment="paper",
                actor="system:bench",
                sleeves=[
                    {
                        "strategy": "order_probe",
                        "instrument_id": "QQQ.NASDAQ",
                        "bar_spec": "5-SECOND-LAST",
                        "params": {"action": "market_and_working", "count": 12},
                    }
                ],
            )
            host = subprocess.Popen(
                [sys.executable, "manage.py", "host_session", str(session.pk)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while not (long_qqq() == 12 and working()) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not (long_qqq() == 12 and working()):
                raise SystemExit("the probe's position and working order never reached ibsim")
            os.kill(host.pid, signal.SIGKILL)
            host.wait()
            started = time.perf_counter()
            do_request_kill(actor="system:bench", reason="bench", flatten=True, session_id=session.pk)
            while (long_qqq() or working()) and time.perf_counter() - started < 30:
                time.sleep(0.002)
            latencies.append((time.perf_counter() - started) * 1000)
            session.refresh_from_db()
            if long_qqq() or working() or session.status != "killed":
                raise SystemExit(f"round failed: {session.status}: {session.stop_reason}")

    print(f"kill (flatten) of a session whose host was SIGKILLed -> broker flat at ibsim, {ROUNDS} rounds:")
    print(
        f"p50={percentile(latencies, 50):.0f} ms  p99={percentile(latencies, 99):.0f} ms  "
        f"max={max(latencies):.0f} ms  (target: p99 < 2000 ms)"
    )
    print(f"last stop reason: {TradingSession.objects.get(pk=session.pk).stop_reason}")


if __name__ == "__main__":
    main()
