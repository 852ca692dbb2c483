"""Benchmark: a fill reaching the session's telemetry sink → the message received by N websocket clients.

Not a test: prints figures from one run. For each mode — embedded default (SQLite, no Redis: consumers poll the
SessionEvent table) and production (PostgreSQL when reachable, else SQLite, + Redis: the publish wakes them) — it
starts daphne, connects N = 1 and N = 50 authenticated clients to one session's stream, and emits fills through the
real TelemetrySink (the object the session host hands every order event to: persist, audit, publish). Latency is
taken per client per fill, from `sink.emit` to the websocket frame parsed by the client (one clock: same machine).
The fill's own trip ibsim → Nautilus → sink is measured by bench/order_path.py; this covers the rest.
Targets (issue): p95 under 500 ms embedded, under 150 ms with Redis, no message lost.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILLS = int(os.environ.get("BENCH_FILLS", "40"))
SPACING = float(os.environ.get("BENCH_FILL_SPACING", "0.05"))
CLIENT_COUNTS = (1, 50)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TARGET_P95_MS = {"embedded": 500.0, "redis": 150.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a minimal websocket client (no client library in the venv; the protocol subset daphne speaks is small) -------


class Client:
    def __init__(self, port: int, path: str, cookie: str):
        self.port, self.path, self.cookie = port, path, cookie
        self.received: dict[int, float] = {}
        self.synced = asyncio.Event()

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://127.0.0.1:{self.port}\r\nCookie: {self.cookie}\r\n\r\n"
            ).encode()
        )
        status = await self.reader.readline()
        if b" 101 " not in status:
            raise RuntimeError(f"websocket refused: {status!r}")
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass
        self.task = asyncio.ensure_future(self.read())

    async def read(self):
        try:
            while True:
                head = await self.reader.readexactly(2)
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = struct.unpack(">H", await self.reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", await self.reader.readexactly(8))[0]
                data = await self.reader.readexactly(length)
                now = time.time()
                if opcode == 8:
                    return
                if opcode != 1:
                    continue
                message = json.loads(data)
                if message["type"] == "synced":
                    self.synced.set()
                elif message["type"] == "events":
                    for event in message["events"]:
                        t = event["payload"].get("t_emit")
                        if t is not None:
                            self.received.setdefault(event["payload"]["seq"], now - t)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def close(self):
        self.task.cancel()
        self.writer.close()


# -- one mode in a child process (settings come from the environment, before Django starts) --------------------


async def _round(port: int, session_id: int, cookie: str, clients: int, after: int) -> dict:
    from trading.sessions.telemetry import TelemetrySink

    conns = [Client(port, f"/ws/paper/telemetry/?session={session_id}&after={after}", cookie) for _ in range(clients)]
    await asyncio.gather(*(c.connect() for c in conns))
    await asyncio.wait_for(asyncio.gather(*(c.synced.wait() for c in conns)), 30)
    sink = TelemetrySink(session_id, "paper")
    sink.start()
    for seq in range(FILLS):
        sink.emit(
            "fill",
            {
                "event": "OrderFilled",
                "client_order_id": f"B-{seq}",
                "order_side": "BUY",
                "last_qty": "1",
                "last_px": "100.00",
                "seq": seq,
                "t_emit": time.time(),
            },
        )
        await asyncio.sleep(SPACING)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(len(c.received) < FILLS for c in conns):
        await asyncio.sleep(0.05)
    await asyncio.to_thread(sink.close)
    for c in conns:
        c.close()
    latencies = [v * 1000 for c in conns for v in c.received.values()]
    lost = FILLS * clients - len(latencies)
    return {
        "clients": clients,
        "fills": FILLS,
        "messages": len(latencies),
        "lost": lost,
        "p50_ms": round(_percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


def child(mode: str) -> None:
    tmp = tempfile.mkdtemp(prefix="ats-bench-telemetry-")
    env = {"DJANGO_SETTINGS_MODULE": "ats_site.settings", "LOG_LEVEL": "WARNING", "DEBUG": "true"}
    pg_db = None
    if mode == "redis":
        env["REDIS_URL"] = REDIS_URL
        if _reachable("127.0.0.1", 5432):
            import psycopg

            pg_db = f"ats_bench_telemetry_{os.getpid()}"
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {pg_db}")
            env["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + f"/{pg_db}"
    else:
        os.environ.pop("REDIS_URL", None)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    daphne = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
        import django

        django.setup()
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.auth.models import User
        from django.contrib.sessions.backends.db import SessionStore

        from trading.sessions.models import SessionEvent, TradingSession

        user = User.objects.create_superuser("bench", password="bench-pw-123456")
        store = SessionStore()
        store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        session = TradingSession.objects.create(
            environment="paper",
            account_id="DU1234567",
            sleeves=[],
            risk_caps={},
            started_by="user:bench",
            status="running",
        )
        port = _free_port()
        daphne = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ats_site.asgi:application"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not start") from exc
                time.sleep(0.2)
        results = []
        for clients in CLIENT_COUNTS:
            after = SessionEvent.objects.filter(session=session).order_by("-id").values_list("id", flat=True).first()
            results.append(asyncio.run(_round(port, session.pk, f"sessionid={store.session_key}", clients, after or 0)))
        database = "PostgreSQL" if pg_db else "SQLite"
        print(json.dumps({"mode": mode, "database": database, "results": results}))
    finally:
        if daphne is not None:
            daphne.terminate()
            daphne.wait(10)
        if pg_db:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")


def main() -> None:
    modes = ["embedded"]
    if _reachable("127.0.0.1", 6379):
        modes.append("redis")
    else:
        print("Redis is not reachable at 127.0.0.1:6379: skipping the Redis mode")
    failed = False
    for mode in modes:
        out = subprocess.run([sys.executable, __file__, "--child", mode], cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stdout, out.stderr, file=sys.stderr)
            raise SystemExit(f"{mode} run failed")
        data = json.loads(out.stdout.strip().splitlines()[-1])
        target = TARGET_P95_MS[mode]
        for r in data["results"]:
            ok = r["lost"] == 0 and r["p95_ms"] is not None and r["p95_ms"] < target
            failed |= not ok
            print(
                f"{mode:8s} ({data['database']:10s}) N={r['clients']:2d}: {r['messages']}/{r['fills'] * r['clients']} "
                f"messages, lost {r['lost']}, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms "
                f"(target p95 < {target:.0f} ms) {'OK' if ok else 'MISSED'}"
            )
    if failed:
        print("target missed")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
