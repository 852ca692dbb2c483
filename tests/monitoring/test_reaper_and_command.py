"""The lost-session reaper run by the monitor, and manage.py monitor_gateways (--once exit codes, SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import ACCOUNT, monitor_running, wait_until
from trading.monitoring.models import GatewayHealth
from trading.monitoring.monitor import MONITOR_CLIENT_IDS
from trading.sessions.models import SessionStatus, TradingSession

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]


def make_session(status, lease_owner="", lease_expires_at=None, heartbeat_at=None):
    return TradingSession.objects.create(
        environment="paper",
        account_id=ACCOUNT,
        sleeves=[{"strategy": "sma_cross"}],
        risk_caps={},
        started_by="user:ops",
        status=status,
        lease_owner=lease_owner,
        lease_expires_at=lease_expires_at,
        heartbeat_at=heartbeat_at,
        started_at=heartbeat_at,
    )


def test_reaper_marks_expired_sessions_lost_alerts_and_never_restarts_them(ats, webhook):
    now = timezone.now()
    expired = make_session(
        SessionStatus.RUNNING, "deadhost:4242", now - timedelta(seconds=20), now - timedelta(seconds=35)
    )
    alive = make_session(SessionStatus.RUNNING, "livehost:1", now + timedelta(minutes=10), now)
    finished = make_session(SessionStatus.STOPPED)
    with monitor_running():  # the first cycle reaps at start-up
        posted = webhook.wait_for("session_lost")
        assert posted
        time.sleep(1.0)  # more cycles: the lost session is neither re-alerted nor picked up again
    (body,) = webhook.bodies("session_lost")
    assert body["environment"] == "paper" and body["details"]["session"] == expired.pk
    assert body["details"]["lease_owner"] == "deadhost:4242"
    assert body["message"].startswith(f"paper session #{expired.pk} lost: host deadhost:4242 stopped heartbeating")
    assert body["message"].endswith("it is not restarted")
    expired.refresh_from_db()
    assert expired.status == SessionStatus.LOST and expired.lease_owner == "" and expired.stopped_at
    (audit,) = AuditEntry.objects.filter(action=Action.SESSION_LOST)
    assert audit.target == f"session:{expired.pk}" and audit.actor == "system:session-reaper"
    alive.refresh_from_db(), finished.refresh_from_db()
    assert alive.status == SessionStatus.RUNNING and finished.status == SessionStatus.STOPPED
    assert TradingSession.objects.count() == 3  # nothing was started in its place


def run_command(*args, env_extra: dict, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}", **env_extra}
    env.pop("ATS_ENABLE_LIVE_TRADING", None)
    return subprocess.run(
        [sys.executable, "manage.py", "monitor_gateways", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_once_exits_zero_when_healthy_and_one_when_broken(ats, sim, webhook):
    env = {"ATS_IB_PAPER_PORT": str(sim.port), "ATS_ALERT_WEBHOOK_URL": webhook.url}
    ok = run_command("--once", "--timeout", "1", env_extra=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [f"paper: healthy (accounts {ACCOUNT})"]
    sim.stop()
    broken = run_command("--once", "--timeout", "1", env_extra=env)
    assert broken.returncode == 1
    assert broken.stdout.splitlines() == [
        f"paper: BROKEN: connection refused at 127.0.0.1:{sim.port}: no gateway is listening"
    ]
    assert "gateway broken: paper" in broken.stderr and "Traceback" not in broken.stderr
    assert GatewayHealth.objects.get(environment="paper").healthy is False
    assert AuditEntry.objects.filter(action=Action.GATEWAY_DOWN, target="gateway:paper").count() == 1
    assert webhook.wait_for("gateway_down")


def test_monitor_command_runs_until_sigterm(ats, sim, webhook):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "ATS_IB_PAPER_PORT": str(sim.port),
        "ATS_ALERT_WEBHOOK_URL": webhook.url,
    }
    env.pop("ATS_ENABLE_LIVE_TRADING", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "monitor_gateways", "--interval", "0.3"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        healthy = wait_until(lambda: GatewayHealth.objects.filter(environment="paper", healthy=True).exists(), 15)
        assert healthy, "the monitor never recorded a check"
        monitor_id = MONITOR_CLIENT_IDS["paper"]
        assert wait_until(lambda: monitor_id in sim.client_ids(), 2)  # its dedicated client id, kept connected
        sim.drop_connections()
        assert webhook.wait_for("gateway_down")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.startswith(f"monitoring paper 127.0.0.1:{sim.port} every 0.3s")
