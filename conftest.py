"""Suite-wide test setup: the append-only triggers around flush, and required services."""

from __future__ import annotations

import os

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations

from tests.support import IN_CI, service_reachable

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
