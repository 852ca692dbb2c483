"""Fixtures for the gateway-monitor tests: a real ibsim, a real local webhook receiver, a monitor in a thread."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ats_site.config import GatewayConfig
from ibsim import run_in_thread
from tests.monitoring.vnc_server import vnc_server
from trading.monitoring.monitor import GatewayMonitor

ACCOUNT = "DU1234567"
LIVE_ACCOUNT = "U7654321"
WEBHOOK_SECRET = "s3cret-token"
# Fast settings so a scenario takes a second or two instead of the production cadence.
FAST = {"interval": 0.3, "timeout": 0.6}


def wait_until(condition, timeout: float = 5.0, step: float = 0.02):
    """Poll `condition` until it returns something truthy; return that, or the last falsy value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class WebhookReceiver:
    """A tiny HTTP server in a thread that keeps every JSON body POSTed to it."""

    def __init__(self, status: int = 204):
        self.status = status
        self.posts: list[dict] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.paths.append(self.path)
                    receiver.posts.append({"content_type": self.headers.get("Content-Type"), "json": json.loads(body)})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/{WEBHOOK_SECRET}?token={WEBHOOK_SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self, kind: str | None = None) -> list[dict]:
        with self._lock:
            return [p["json"] for p in self.posts if kind is None or p["json"]["kind"] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        return wait_until(lambda: len(self.bodies(kind)) >= count and self.bodies(kind), timeout) or []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sim():
    """A fresh ibsim managing the configured paper account, with a frozen clock."""
    with run_in_thread(accounts=[ACCOUNT], port=0, seed=7, speed=0, client_id_grace=0.3) as handle:
        yield handle


def point_settings(
    settings, *, paper_port: int, webhook_url: str = "", live_port: int | None = None, live_account: str = LIVE_ACCOUNT
):
    """Point settings.ATS at test gateways (and the webhook); live is enabled only when live_port is given."""
    ats = settings.ATS
    live = GatewayConfig("live", "127.0.0.1", live_port or ats.live.port, live_account if live_port else "")
    settings.ATS = dataclasses.replace(
        ats,
        paper=GatewayConfig("paper", "127.0.0.1", paper_port, ACCOUNT),
        live=live,
        enable_live_trading=live_port is not None,
        alert_webhook_url=webhook_url,
    )
    return settings.ATS


@pytest.fixture
def ats(settings, sim, webhook, transactional_db):
    """settings.ATS pointing at the ibsim (paper only) and the webhook receiver."""
    return point_settings(settings, paper_port=sim.port, webhook_url=webhook.url)


@contextmanager
def monitor_running(**kwargs):
    """Run a GatewayMonitor (fast cadence) on its own loop in a thread; stop it and check it ended cleanly."""
    monitor = GatewayMonitor(**{**FAST, **kwargs})
    failures: list[BaseException] = []

    def main():
        try:
            asyncio.run(monitor.run())
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    thread = threading.Thread(target=main, name="gateway-monitor", daemon=True)
    thread.start()
    try:
        yield monitor
    finally:
        monitor.stop()
        thread.join(10)
    assert not thread.is_alive(), "the monitor did not stop"
    assert not failures, failures


def check_once(**kwargs):
    """One monitor cycle, run on a fresh loop: (results, lost session ids)."""
    return asyncio.run(GatewayMonitor(**{**FAST, **kwargs}).check_once())


@pytest.fixture
def vnc(tmp_path):
    """A real VNC server (Xvfb painted red, x11vnc with a password) on a free loopback port."""
    with vnc_server(tmp_path) as server:
        yield server
