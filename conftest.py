"""Suite-wide test setup: the append-only triggers around flush, and required services."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations

IN_CI = os.environ.get("CI", "").lower() == "true"

_original_flush = BaseDatabaseOperations.execute_sql_flush


def _flush_around_append_only_guards(self, sql_list):
    """Transactional tests flush every table at teardown; lift the guards on the throwaway test database only."""
    from audit import append_only

    connection = self.connection
    for model in append_only.registered_models():
        append_only.drop(connection, model)
    try:
        _original_flush(self, sql_list)
    finally:
        append_only.install_all(connection)


BaseDatabaseOperations.execute_sql_flush = _flush_around_append_only_guards


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


def pytest_collection_modifyitems(config, items):
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        return
    if service_reachable(database_url, 5432):
        return
    message = f"PostgreSQL is not reachable at {database_url}"
    if IN_CI:
        raise pytest.UsageError(f"{message} (CI=true: PostgreSQL is required, not optional)")
    skip = pytest.mark.skip(reason=f"{message}; start it to run the PostgreSQL pass")
    for item in items:
        item.add_marker(skip)
