"""A database outage under a running session, on a PostgreSQL cluster the test stops and starts itself: orders stay
refused while it is away, the supervisor survives, heartbeats resume when it is back, and the kill switch works
without it (kill_session signals the host on this machine)."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest

from tests.sessions.conftest import ROOT, wait_until
from tests.sessions.throwaway_postgres import ThrowawayPostgres

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CREATE = """
from trading.sessions.services import do_create_session
session = do_create_session(environment="paper", actor="user:tester", sleeves=[{
    "strategy": "order_probe", "instrument_id": "QQQ.NASDAQ", "bar_spec": "5-SECOND-LAST",
    "params": {"action": "accumulate", "count": 5, "interval_ms": 300}}])
print(session.pk)
"""


def manage(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def row(url: str, session_id: int) -> tuple:
    with psycopg.connect(url, connect_timeout=3) as conn:
        return conn.execute(
            "SELECT status, heartbeat_at, stop_reason FROM trading_tradingsession WHERE id = %s", [session_id]
        ).fetchone()


def audit_denials(url: str, session_id: int) -> int:
    """Denials for a failed intent write, as telemetry rows and audit entries (both only once the spool replays)."""
    with psycopg.connect(url, connect_timeout=3) as conn:
        events = conn.execute(
            "SELECT count(*) FROM trading_sessionevent WHERE session_id = %s AND payload->>'rule' = 'audit'",
            [session_id],
        ).fetchone()[0]
        audited = conn.execute(
            "SELECT count(*) FROM audit_auditentry WHERE action = 'order.denied' AND payload->>'rule' = 'audit'"
        ).fetchone()[0]
    return min(events, audited)


def test_orders_stay_refused_while_the_database_is_away_and_the_kill_switch_still_works(paper_stack):
    sim, pg = paper_stack.sim, ThrowawayPostgres()
    paper_stack.env["DATABASE_URL"] = pg.url
    env = paper_stack.env
    host = None
    try:
        assert manage(env, "migrate", "-v0").returncode == 0
        created = manage(env, "shell", "-c", CREATE)
        assert created.returncode == 0, created.stderr[-2000:]
        session_id = int(created.stdout.strip().splitlines()[-1])
        host = paper_stack.host(session_id)
        wait_until(lambda: row(pg.url, session_id)[0] == "running", 60, message="the session running")
        wait_until(lambda: len(sim.received("PLACE_ORDER")) >= 3, 30, message="orders while the database is up")

        pg.stop()  # the outage
        time.sleep(1.0)
        placed = len(sim.received("PLACE_ORDER"))
        time.sleep(4.0)  # ~13 more buys attempted: none may leave without its audited intent
        assert len(sim.received("PLACE_ORDER")) <= placed + 1, "orders left while the intent could not be audited"
        assert host.poll() is None, "the host died with the database"

        pg.start()  # back: the supervisor heartbeats again and orders flow
        beat_before = row(pg.url, session_id)[1]
        wait_until(lambda: row(pg.url, session_id)[1] > beat_before, 30, message="a heartbeat after the outage")
        placed = len(sim.received("PLACE_ORDER"))
        wait_until(lambda: len(sim.received("PLACE_ORDER")) >= placed + 2, 30, message="orders after the outage")
        # What happened during the outage was spooled to disk and is replayed, not lost.
        wait_until(lambda: audit_denials(pg.url, session_id) >= 5, 30, message="the outage's denials replayed")

        sim.seed_working_order("DU1234567", "QQQ", "BUY", 3, "LMT", lmt_price=1.0)
        pg.stop()  # a second outage: the kill switch must still work
        killed = manage(env, "kill_session", str(session_id), "--reason", "database down")
        assert killed.returncode == 0, killed.stderr[-2000:]
        assert f"database unreachable: kill (halt) signalled to the host of session {session_id}" in killed.stdout
        wait_until(
            lambda: not [o for o in sim.orders() if o["status"] in ("Submitted", "PreSubmitted")],
            30,
            message="every working order cancelled at the broker",
        )
        placed = len(sim.received("PLACE_ORDER"))
        time.sleep(1.5)
        assert len(sim.received("PLACE_ORDER")) == placed

        pg.start()  # the host records its own outcome once the database is back
        assert host.wait(90) == 0
        status, _, reason = row(pg.url, session_id)
        assert status == "killed" and "killed by local kill switch: signalled by kill_session" in reason
    finally:
        if host is not None and host.poll() is None:
            host.kill()
        pg.remove()
