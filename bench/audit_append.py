"""Benchmark: audit appends/second (1 writer and 4 processes) on SQLite and PostgreSQL, and verify_audit speed.

Not a test: prints figures from one run. Uses throwaway databases (a temp SQLite file, and `ats_bench` on the
PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/ats_bench, skipped when unreachable).
Targets (issue): >= 2,000 appends/s single-writer on PostgreSQL; verify 100,000 entries in < 5 s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/ats_bench")
SINGLE, PER_WRITER, WRITERS, VERIFY_N = 5000, 1500, 4, 100_000

WORKER = r"""
import os, sys, time
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ats_site.settings")
import django; django.setup()
from audit.models import Action
from audit.services import record
mode, count = sys.argv[1], int(sys.argv[2])
if mode == "migrate":
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    sys.exit(0)
if mode == "bulk":  # seed a long chain quickly for the verification figure
    for i in range(count):
        record(Action.ORDER_INTENT, actor="system:bench", target=f"o{i}", payload={"i": i, "qty": 100, "px": "101.5"})
    sys.exit(0)
start = time.perf_counter()
for i in range(count):
    record(Action.ORDER_INTENT, actor=f"system:bench-{mode}", target=f"o{i}", payload={"i": i, "qty": 100})
print(time.perf_counter() - start)
"""


def _run(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", WORKER, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"bench worker failed: {result.stderr[-1500:]}")
    return result.stdout.strip()


def _verify(env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return time.perf_counter() - start, (result.stdout or result.stderr).strip()


def _pg_ready(url: str) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 5432), timeout=2).close()
    except OSError:
        return False
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}"')
        conn.execute(f'CREATE DATABASE "{parsed.path.lstrip("/")}"')
    return True


def bench(label: str, database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    _run(env, "migrate", "0")
    seconds = float(_run(env, "single", str(SINGLE)))
    print(f"{label:10s} single writer : {SINGLE / seconds:8.0f} appends/s ({SINGLE} appends)")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, f"w{i}", str(PER_WRITER)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"writer failed: {err[-1500:]}")
    # Wall time includes each process's Django start-up (~1 s); per-process append time is the fairer figure.
    wall = time.perf_counter() - start
    print(
        f"{label:10s} {WRITERS} processes   : {WRITERS * PER_WRITER / wall:8.0f} appends/s wall-clock "
        f"({WRITERS}x{PER_WRITER}, incl. process start-up)"
    )
    remaining = VERIFY_N - SINGLE - WRITERS * PER_WRITER
    _run(env, "bulk", str(remaining))
    seconds, line = _verify(env)
    print(
        f"{label:10s} verify_audit  : {VERIFY_N / seconds:8.0f} entries/s, {VERIFY_N} entries in {seconds:.2f}s "
        f"(process start-up included) -> {line}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
    if _pg_ready(PG_URL):
        bench("PostgreSQL", PG_URL)
    else:
        print(f"PostgreSQL      : skipped, not reachable at {PG_URL}")


if __name__ == "__main__":
    main()
