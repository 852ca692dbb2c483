"""Fixtures for the trading tests: catalogs in tmp dirs, loaded from the bundled real daily data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import QQQ_CSV  # noqa: F401 - imported from here by the trading tests


@pytest.fixture
def empty_catalog(tmp_path, settings) -> Path:
    """Point settings.ATS_CATALOG_DIR at a fresh, empty catalog."""
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    return settings.ATS_CATALOG_DIR
