"""Helpers for tests that need services running on this machine (PostgreSQL, Redis), and the e2e commands."""

from __future__ import annotations

import os
import shlex
import socket
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def service_reachable(url: str, default_port: int) -> bool:
    """Whether a TCP service named by URL accepts connections."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (laptop) or fail (CI=true) when a service the test needs is down."""
    if service_reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: services are required, not optional)", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


# Commands that start a gateway, a session host, the web server or a worker (each an argv token, or a pair).
E2E_COMMANDS = (
    ("-m", "ibsim"),
    ("-m", "daphne"),
    ("manage.py", "qcluster"),
    ("manage.py", "host_session"),
    ("manage.py", "run_stack"),
    ("node_script.py",),
)


def e2e_command(args: object) -> str | None:
    """The e2e command an argv starts, if any (`ibsim --help` starts nothing)."""
    tokens = shlex.split(args) if isinstance(args, str) else args if isinstance(args, list | tuple) else [args]
    argv = [os.path.basename(str(token)) for token in tokens]
    if "--help" in argv:
        return None
    for command in E2E_COMMANDS:
        for i in range(len(argv) - len(command) + 1):
            if tuple(argv[i : i + len(command)]) == command:
                return " ".join(command)
    return None
