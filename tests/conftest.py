"""Fixtures shared across the apps' tests."""

import pytest

from trading.strategies import registry


@pytest.fixture
def demo_strategy(tmp_path, monkeypatch):
    """A registered strategy whose source lives in a temporary project tree, so tests can change its code."""
    package = tmp_path / "trading" / "strategies"
    package.mkdir(parents=True)
    (tmp_path / "trading" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("SCALE = 1\n")
    (package / "demo.py").write_text("from trading.strategies.helpers import SCALE\n\nTHRESHOLD = 0.15 * SCALE\n")
    monkeypatch.setattr(registry, "PROJECT_ROOT", tmp_path)
    spec = registry.StrategySpec("demo", "trading.strategies.demo", "Demo", "DemoConfig", "test strategy")
    registry._load_builtin()
    monkeypatch.setitem(registry._REGISTRY, "demo", spec)
    return package


@pytest.fixture
def approved_demo(demo_strategy, db):
    """The demo strategy approved for QQQ.NASDAQ."""
    from approvals.services import do_approve_live

    return do_approve_live(
        strategy="demo", instrument_id="QQQ.NASDAQ", note="2w paper, matched backtest", actor="user:approver"
    )
