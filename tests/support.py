"""Helpers for tests that need services running on this machine (PostgreSQL, Redis)."""

from __future__ import annotations

import os
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
