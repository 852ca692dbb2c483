"""Fixtures for the gauntlet's tests: the bundled QQQ bars in a catalog, and the test strategies registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trading.conftest import QQQ_CSV
from trading.marketdata.catalog import open_catalog
from trading.marketdata.importer import import_bars_file


@pytest.fixture(scope="session")
def gauntlet_catalog_dir(tmp_path_factory) -> Path:
    """QQQ.NASDAQ daily bars from data/daily/QQQ.csv, imported once per test session."""
    path = tmp_path_factory.mktemp("gauntlet_catalog")
    import_bars_file(QQQ_CSV, "QQQ.NASDAQ", "1-DAY-LAST", open_catalog(path))
    return path


@pytest.fixture
def gauntlet_catalog(gauntlet_catalog_dir, settings) -> Path:
    """Point settings.ATS_CATALOG_DIR at the QQQ catalog (read-only for tests)."""
    settings.ATS_CATALOG_DIR = gauntlet_catalog_dir
    return gauntlet_catalog_dir


@pytest.fixture
def test_strategies(monkeypatch):
    """peek (lookahead on purpose) and coin_flip (no edge on purpose), registered for this test."""
    from tests.research.strategies import specs
    from trading.strategies import registry

    registry.strategy_names()  # the built-in catalogue first
    for spec in specs():
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)


# The session tests' ibsim stack, for the paper rung's end-to-end test.
from tests.sessions.conftest import make_stack  # noqa: E402, F401
