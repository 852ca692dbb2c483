"""Real local receivers for the notification tests: an HTTP server in a thread (webhook, Slack, Discord) and an SMTP
server (aiosmtpd) in a thread, both on 127.0.0.1 with ports the OS picks; and settings pointing every channel there.

They start in milliseconds, so these tests stay in the fast tier (no ibsim, node, cluster or browser).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notifications.models import Alert

TOKEN = "T0KEN-never-shown-7f3a9c"  # in every webhook URL's path and query, as real webhook URLs carry theirs
SMTP_USER = "ats-mailer"
SMTP_PASSWORD = "smtp-pa55word-never-shown-41d2"
RECIPIENTS = ("ops@example.com", "risk@example.com")
FAST_RETRY = 0.05  # seconds: the first retry's delay in these tests (then 0.1, 0.2, ...)
MAX_ATTEMPTS = 3


def wait_until(condition, timeout: float = 5.0, step: float = 0.02):
    """Poll `condition` until it returns something truthy; return that, or the last falsy value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class HttpReceiver:
    """An HTTP server in a thread that answers POSTs with scripted statuses (the last repeats), optionally slowly,
    and keeps every request: path, JSON body, arrival time."""

    def __init__(self, statuses=(204,), delay: float = 0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "content_type": self.headers.get("Content-Type"),
                            "json": json.loads(body),
                            "at": time.monotonic(),
                            "status": status,
                        }
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hooks/{TOKEN}?token={TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        with self._lock:
            return [r["json"] for r in self.requests]

    def times(self) -> list[float]:
        with self._lock:
            return [r["at"] for r in self.requests]

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        return wait_until(lambda: len(self.bodies()) >= count and self.bodies(), timeout) or []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _Inbox:
    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content.decode()}
        )
        return "250 OK"


class _LocalController(Controller):
    """aiosmtpd's controller on a port the OS picks (it needs the real port before it checks the server is up)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that requires AUTH with SMTP_USER / SMTP_PASSWORD."""

    def __init__(self, password: str = SMTP_PASSWORD):
        self.inbox = _Inbox()
        self.auth_attempts: list[str] = []

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
            self.auth_attempts.append(auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?")
            return AuthResult(success=ok, handled=False)

        self.controller = _LocalController(
            self.inbox,
            hostname="127.0.0.1",
            port=0,
            authenticator=authenticate,
            auth_required=True,
            auth_require_tls=False,
        )
        self.controller.start()
        self.port = self.controller.port

    @property
    def messages(self) -> list[dict]:
        return list(self.inbox.messages)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        return wait_until(lambda: len(self.inbox.messages) >= count and self.messages, timeout) or []

    def close(self):
        self.controller.stop()


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def receivers():
    """One receiver per webhook channel, so each can be scripted on its own."""
    made = {name: HttpReceiver() for name in ("webhook", "slack", "discord")}
    yield made
    for receiver in made.values():
        receiver.close()


def point_channels(settings, *, webhook="", slack="", discord="", email_to=(), smtp_port=None, password=SMTP_PASSWORD):
    """Configure the channels (and fast retries) the way the environment would."""
    settings.ATS = dataclasses.replace(
        settings.ATS,
        alert_webhook_url=webhook,
        alert_slack_webhook_url=slack,
        alert_discord_webhook_url=discord,
        alert_email_to=tuple(email_to),
        alert_max_attempts=MAX_ATTEMPTS,
        alert_retry_base_seconds=FAST_RETRY,
    )
    # Django's test set-up swaps every mailer for the in-memory one: these tests send to a real SMTP server.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": smtp_port or 1,
                "username": SMTP_USER,
                "password": password,
                "use_tls": False,
                "use_ssl": False,
                "timeout": 3,
            },
        }
    }
    settings.DEFAULT_FROM_EMAIL = "ats@example.com"
    return settings.ATS


@pytest.fixture
def all_channels(settings, receivers, smtp, transactional_db):
    """Every channel configured, each pointing at a local receiver."""
    point_channels(
        settings,
        webhook=receivers["webhook"].url,
        slack=receivers["slack"].url,
        discord=receivers["discord"].url,
        email_to=RECIPIENTS,
        smtp_port=smtp.port,
    )
    return receivers, smtp


def finished(alert_id: int, timeout: float = 10.0) -> Alert | None:
    """The alert once every delivery is final (and audited), or None on timeout."""
    return wait_until(lambda: Alert.objects.filter(pk=alert_id, finished_at__isnull=False).first(), timeout)
