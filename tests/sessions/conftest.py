"""Fixtures for end-to-end session tests: a real ibsim, and session hosts in their own processes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from ibsim import run_in_thread

ROOT = Path(__file__).resolve().parents[2]
PAPER_ACCOUNT = "DU1234567"
LIVE_ACCOUNT = "U7654321"
PROBE_CATALOG = "tests.sessions.probe_catalog"


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy; return its value or fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {message}")


def database_url() -> str:
    """The URL of the test database, for processes the test starts."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    return f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


@dataclasses.dataclass
class Stack:
    """The gateway and the environment that session hosts run with."""

    sim: object
    env: dict
    logs: Path

    def host(self, session_id: int) -> subprocess.Popen:
        """Start `manage.py host_session ID` in a fresh process (one node per process)."""
        with open(self.logs / f"host-{session_id}-{time.monotonic_ns()}.log", "w") as log:
            return subprocess.Popen(
                [sys.executable, "manage.py", "host_session", str(session_id)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )


TEST_HMAC_KEY = "test-only-audit-hmac-key-0123456789abcdef"


def _point_settings(settings, monkeypatch, port: int, live: bool = False) -> dict:
    ats = settings.ATS
    ats = dataclasses.replace(ats, paper=dataclasses.replace(ats.paper, port=port))
    env = {
        **os.environ,
        "ATS_IB_PAPER_PORT": str(port),
        "ATS_STRATEGY_CATALOGS": PROBE_CATALOG,
        "ATS_NODE_LOG_LEVEL": os.environ.get("ATS_NODE_LOG_LEVEL", "WARNING"),
        "ATS_SESSION_START_TIMEOUT": "30",
        "IB_MAX_CONNECTION_ATTEMPTS": "3",
    }
    if live:
        live_port = port + 1 if port < 65535 else port - 1
        ats = dataclasses.replace(
            ats,
            enable_live_trading=True,
            live=dataclasses.replace(ats.live, port=port, account_id=LIVE_ACCOUNT),
            audit_hmac_key=TEST_HMAC_KEY,  # live refuses to start without one
        )
        ats = dataclasses.replace(ats, paper=dataclasses.replace(ats.paper, port=live_port))
        env.update(
            {
                "ATS_AUDIT_HMAC_KEY": TEST_HMAC_KEY,
                "ATS_ENABLE_LIVE_TRADING": "true",
                "ATS_IB_LIVE_ACCOUNT_ID": LIVE_ACCOUNT,
                "ATS_IB_LIVE_PORT": str(port),
                "ATS_IB_PAPER_PORT": str(live_port),
            }
        )
    settings.ATS = ats
    register_probe(monkeypatch)
    return env


def register_probe(monkeypatch) -> None:
    """Register the test strategies in this process for one test (hosts get them through ATS_STRATEGY_CATALOGS)."""
    from trading.strategies import registry

    registry.builtin_names()  # load the built-in catalogue first
    for spec in (
        registry.StrategySpec(
            "order_probe", "tests.sessions.probe_strategy", "OrderProbe", "OrderProbeConfig", "test probe"
        ),
        registry.StrategySpec(
            "adversary", "tests.sessions.adversary_strategy", "Adversary", "AdversaryConfig", "test adversary"
        ),
    ):
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)


@pytest.fixture
def paper_stack(settings, monkeypatch, transactional_db, tmp_path):
    """ibsim (real TWS protocol) on a random port, with the paper gateway settings pointed at it."""
    with run_in_thread(accounts=[PAPER_ACCOUNT], port=0, seed=7, speed=1) as sim:
        env = _point_settings(settings, monkeypatch, sim.port)
        env["DATABASE_URL"] = database_url()
        yield Stack(sim, env, tmp_path)


@pytest.fixture
def make_stack(settings, monkeypatch, transactional_db, tmp_path):
    """Build a stack with chosen ibsim accounts, for the paper or the live environment."""
    sims = []

    def build(accounts, live=False, speed=1):
        sim = run_in_thread(accounts=accounts, port=0, seed=7, speed=speed)
        sims.append(sim)
        env = _point_settings(settings, monkeypatch, sim.port, live=live)
        env["DATABASE_URL"] = database_url()
        return Stack(sim, env, tmp_path)

    yield build
    for sim in sims:
        sim.stop()


def finish(proc: subprocess.Popen, timeout: float = 40.0) -> int:
    """Wait for a host process; kill it if it hangs, and fail."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"session host did not exit within {timeout:.0f}s")
