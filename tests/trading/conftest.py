"""Fixtures for the trading tests: catalogs in tmp dirs, loaded from the bundled real daily data."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading.marketdata.catalog import open_catalog
from trading.marketdata.importer import import_bars_file

REPO = Path(__file__).resolve().parents[2]
QQQ_CSV = REPO / "data" / "daily" / "QQQ.csv"


@pytest.fixture(scope="session")
def qqq_catalog_dir(tmp_path_factory) -> Path:
    """A catalog holding QQQ.NASDAQ daily bars imported from data/daily/QQQ.csv (built once per session)."""
    path = tmp_path_factory.mktemp("qqq_catalog")
    import_bars_file(QQQ_CSV, "QQQ.NASDAQ", "1-DAY-LAST", open_catalog(path))
    return path


@pytest.fixture
def qqq_catalog(qqq_catalog_dir, settings) -> Path:
    """Point settings.ATS_CATALOG_DIR at the shared QQQ catalog (tests must not write to it)."""
    settings.ATS_CATALOG_DIR = qqq_catalog_dir
    return qqq_catalog_dir


@pytest.fixture
def empty_catalog(tmp_path, settings) -> Path:
    """Point settings.ATS_CATALOG_DIR at a fresh, empty catalog."""
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    return settings.ATS_CATALOG_DIR
