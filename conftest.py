"""Suite-wide test setup: the append-only triggers around flush, required services, and the e2e tier's border."""

from __future__ import annotations

import os
import subprocess

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations

from tests.support import IN_CI, e2e_command, service_reachable

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


# Fixtures that start ibsim, a TradingNode, daphne, a django-q cluster or a browser: a test using any of them
# (directly or through another fixture) is end to end, whichever module it sits in.
E2E_FIXTURES = frozenset({"sim", "paper_stack", "make_stack", "stack", "browser", "gateway"})


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """A cheap hasher for the users tests create: the default PBKDF2 costs ~0.8 s a password on this machine."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _audit_anchors_per_test(tmp_path, settings, monkeypatch):
    """Each test publishes audit anchors to a file of its own (and so do the processes it starts), never to var/."""
    import dataclasses

    path = str(tmp_path / "audit-anchors.jsonl")
    monkeypatch.setenv("ATS_AUDIT_ANCHOR_FILE", path)
    settings.ATS = dataclasses.replace(settings.ATS, audit_anchor_file=path)


@pytest.fixture(autouse=True)
def _fast_tier_starts_nothing_end_to_end(request, monkeypatch):
    """A test not marked e2e fails if it starts ibsim, a TradingNode or an e2e process: the fast tier stays fast."""
    if request.node.get_closest_marker("e2e"):
        return

    def refuse(what: str):
        pytest.fail(
            f"{request.node.nodeid} starts {what} but is not marked e2e (see E2E_FIXTURES in conftest.py)",
            pytrace=False,
        )

    from nautilus_trader.live.node import TradingNode

    from ibsim.sim import IBSim

    popen_init = subprocess.Popen.__init__

    def guarded_popen(self, args, *rest, **kwargs):
        if command := e2e_command(args):
            refuse(command)
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(IBSim, "__init__", lambda *a, **k: refuse("ibsim"))
    monkeypatch.setattr(TradingNode, "__init__", lambda *a, **k: refuse("a TradingNode"))
    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_popen)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Before any fixture is torn down (a transactional test's flush included), stop the notification courier a test
    woke, so it never delivers or audits into the next test's database."""
    from notifications import courier

    courier.stop()
    yield


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
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
