"""Sessions hosted by the django-q sessions cluster, and a gateway restart the node rides out."""

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sessions.conftest import PAPER_ACCOUNT, ROOT, database_url, finish, register_probe, wait_until
from trading.sessions.models import SessionEvent, SessionStatus, TradingSession
from trading.sessions.services import do_create_session, do_request_kill
from trading.sessions.tasks import enqueue_session

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PROBE = [
    {
        "strategy": "order_probe",
        "instrument_id": "QQQ.NASDAQ",
        "bar_spec": "5-SECOND-LAST",
        "params": {"action": "working", "count": 1},
    }
]


def status(session_id: int) -> str:
    return TradingSession.objects.values_list("status", flat=True).get(pk=session_id)


REDIS_TEST_URL = os.environ.get("ATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def _enqueue(session_id: int, env: dict, broker: str) -> None:
    if broker == "orm":
        enqueue_session(session_id)
        return
    # django-q reads its broker configuration once at import: enqueue from a process configured for Redis.
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from trading.sessions.tasks import enqueue_session; enqueue_session({session_id})",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.mark.postgres
@pytest.mark.parametrize("broker", ["orm", pytest.param("redis", marks=pytest.mark.redis)])
def test_one_worker_hosts_two_sessions_in_a_row(paper_stack, broker):
    env = {**paper_stack.env, "Q_CLUSTER_NAME": "sessions", "ATS_SESSION_WORKERS": "1"}
    if broker == "redis":
        from tests.support import require_service

        require_service("Redis", REDIS_TEST_URL, 6379)
        import redis

        redis.Redis.from_url(REDIS_TEST_URL).flushdb()
        env["REDIS_URL"] = REDIS_TEST_URL
    with open(paper_stack.logs / "qcluster.log", "w") as log:  # the child keeps its own copy of the descriptor
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        pids = []
        for round_ in range(2):
            session = do_create_session(environment="paper", sleeves=PROBE, actor="user:tester")
            _enqueue(session.pk, env, broker)
            session_id = session.pk
            wait_until(
                lambda sid=session_id: status(sid) == SessionStatus.RUNNING, 90, message=f"session {round_ + 1} to run"
            )
            wait_until(
                lambda: [o for o in paper_stack.sim.orders() if o["status"] == "Submitted"],
                30,
                message="its working order at the broker",
            )
            pids.append(TradingSession.objects.get(pk=session_id).pid)
            do_request_kill(actor="user:tester", reason=f"round {round_ + 1} done", session_id=session_id)
            wait_until(lambda sid=session_id: status(sid) == SessionStatus.KILLED, 30, message="the kill")
            assert not [o for o in paper_stack.sim.orders() if o["status"] == "Submitted"]
        # Each session got a fresh process (never a second node in one process), under the same single worker.
        assert pids[0] != pids[1]
        assert cluster.poll() is None
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()


def _start_ibsim(port: int, state: str, log_path: Path) -> subprocess.Popen:
    with open(log_path, "a") as log:  # appended to across the restart; the child keeps its own descriptor
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ibsim",
                "--port",
                str(port),
                "--account",
                PAPER_ACCOUNT,
                "--state",
                state,
                "--speed",
                "1",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    line = proc.stdout.readline()
    assert line.startswith("ibsim listening on "), line
    return proc


def test_an_ibsim_restart_keeps_the_account_and_the_node_resumes(settings, monkeypatch, transactional_db, tmp_path):
    log = tmp_path / "ibsim.log"
    state = str(tmp_path / "ibsim-state.json")
    with socket.socket() as probe:  # a fixed free port, so the restarted gateway comes back where it was
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = _start_ibsim(port, state, log)
    settings.ATS = dataclasses.replace(settings.ATS, paper=dataclasses.replace(settings.ATS.paper, port=port))
    register_probe(monkeypatch)
    env = {
        **os.environ,
        "ATS_STRATEGY_CATALOGS": "tests.sessions.probe_catalog",
        "DATABASE_URL": database_url(),
        "ATS_IB_PAPER_PORT": str(port),
        "ATS_NODE_LOG_LEVEL": "WARNING",
        "ATS_SESSION_START_TIMEOUT": "30",
    }
    session = do_create_session(environment="paper", sleeves=PROBE, actor="user:tester")
    with open(tmp_path / "host.log", "w") as host_log:
        host = subprocess.Popen(
            [sys.executable, "manage.py", "host_session", str(session.pk)],
            cwd=ROOT,
            env=env,
            stdout=host_log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: status(session.pk) == SessionStatus.RUNNING, 60, message="the session to run")
        wait_until(
            lambda: SessionEvent.objects.filter(session=session, kind="order", payload__event="OrderAccepted").exists(),
            30,
            message="the working order to be accepted",
        )
        sim.terminate()  # a gateway restart: connections drop, the account stays in the state file
        sim.wait(10)
        time.sleep(2)
        sim = _start_ibsim(port, state, log)
        bars_before = SessionEvent.objects.filter(session=session, kind="bar").count()
        wait_until(
            lambda: SessionEvent.objects.filter(session=session, kind="bar").count() >= bars_before + 2,
            90,
            message="bars after the gateway came back",
        )
        assert status(session.pk) == SessionStatus.RUNNING
        do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
        assert finish(host, 60) == 0
        assert status(session.pk) == SessionStatus.KILLED
    finally:
        if host.poll() is None:
            host.kill()
        sim.terminate()
        sim.wait(10)


def test_a_gateway_restart_without_its_state_shows_an_inferred_fill_audited_and_alerted(
    settings, monkeypatch, transactional_db, tmp_path
):
    """The restarted gateway has forgotten the position: reconciliation infers a fill to match it. That fill is marked
    inferred in telemetry, audited under its own action and alerted; the dropped connection is audited too."""
    from audit.models import Action, AuditEntry
    from tests.monitoring.conftest import WebhookReceiver

    webhook = WebhookReceiver()
    log = tmp_path / "ibsim.log"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = _start_ibsim(port, str(tmp_path / "before.json"), log)
    settings.ATS = dataclasses.replace(settings.ATS, paper=dataclasses.replace(settings.ATS.paper, port=port))
    register_probe(monkeypatch)
    env = {
        **os.environ,
        "ATS_STRATEGY_CATALOGS": "tests.sessions.probe_catalog",
        "DATABASE_URL": database_url(),
        "ATS_IB_PAPER_PORT": str(port),
        "ATS_NODE_LOG_LEVEL": "WARNING",
        "ATS_SESSION_START_TIMEOUT": "30",
        "ATS_ALERT_WEBHOOK_URL": webhook.url,
    }
    buy = [{**PROBE[0], "params": {"action": "market", "count": 5}}]
    session = do_create_session(environment="paper", sleeves=buy, actor="user:tester")
    with open(tmp_path / "host.log", "w") as host_log:
        host = subprocess.Popen(
            [sys.executable, "manage.py", "host_session", str(session.pk)],
            cwd=ROOT,
            env=env,
            stdout=host_log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: SessionEvent.objects.filter(session=session, kind="fill").exists(), 60, message="the buy filled"
        )
        sim.terminate()  # the gateway restarts with a fresh state: the account's position is gone
        sim.wait(10)
        time.sleep(2)
        sim = _start_ibsim(port, str(tmp_path / "after.json"), log)
        inferred = wait_until(
            lambda: SessionEvent.objects.filter(session=session, kind="fill", payload__inferred=True).first(),
            90,
            message="the inferred fill",
        )
        assert inferred.payload["order_side"] == "SELL" and float(inferred.payload["last_qty"]) == 5
        entry = AuditEntry.objects.get(action=Action.ORDER_FILL_INFERRED)
        assert entry.payload["inferred"] is True and entry.target == f"session:{session.pk}"
        assert AuditEntry.objects.filter(action=Action.GATEWAY_CONNECTIVITY, payload__code="disconnected").exists()
        alert = webhook.wait_for("order.fill_inferred", timeout=10)
        assert alert and "reconciliation inferred a fill" in alert[0]["message"]
        do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
        assert finish(host, 60) == 0
    finally:
        webhook.close()
        if host.poll() is None:
            host.kill()
        sim.terminate()
        sim.wait(10)
