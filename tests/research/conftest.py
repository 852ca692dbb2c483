"""Fixtures for the gauntlet's tests: the bundled QQQ bars in a catalog, and the test strategies registered."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def gauntlet_catalog(qqq_catalog) -> Path:
    """The bundled QQQ daily bars as the catalog (read-only for tests)."""
    return qqq_catalog


@pytest.fixture
def test_strategies(monkeypatch):
    """peek (lookahead on purpose) and coin_flip (no edge on purpose), registered for this test."""
    from tests.research.strategies import specs
    from trading.strategies import registry

    registry.builtin_names()  # the built-in catalogue first
    for spec in specs():
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)


# The session tests' ibsim stack, for the paper rung's end-to-end test.
from tests.sessions.conftest import make_stack  # noqa: E402, F401
