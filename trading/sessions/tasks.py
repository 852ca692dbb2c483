"""django-q tasks that host sessions. Each node runs in a fresh process: never one forked from a worker that
built a node, never a second node in one process."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys

from django.conf import settings

log = logging.getLogger(__name__)

SESSION_CLUSTER = "sessions"


def host_session_task(session_id: int) -> str:
    """Host a session in a child process and wait for it; SIGTERM to the worker stops the session cooperatively."""
    child = subprocess.Popen([sys.executable, "manage.py", "host_session", str(session_id)], cwd=settings.BASE_DIR)

    def forward(signum, frame):
        child.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    log.info("session %s host exited with %s", session_id, code)
    return f"session {session_id} host exited with {code}"


def enqueue_session(session_id: int) -> str:
    """Queue a session for the dedicated sessions cluster (no timeout, one attempt, leases refuse duplicates)."""
    from django_q.tasks import async_task

    return async_task(
        "trading.sessions.tasks.host_session_task",
        session_id,
        cluster=SESSION_CLUSTER,
        task_name=f"session-{session_id}",
    )
