"""Finding 3: the code hash covers everything that runs: each kind of file edited changes it."""

from __future__ import annotations

import importlib.metadata
import uuid

import pytest

from trading.strategies import registry
from trading.strategies.registry import UnknownStrategy, code_hash, code_hash_inputs, dependency_modules


def _changes_hash(name: str, path, text: str) -> bool:
    before = code_hash(name)
    path.write_text(text)
    return code_hash(name) != before


def test_package_inits_that_run_before_the_strategy_are_hashed(demo_strategy):
    project = demo_strategy.parent.parent
    assert _changes_hash("demo", demo_strategy / "__init__.py", "import math  # could monkeypatch sizing\n")
    assert _changes_hash("demo", project / "trading" / "__init__.py", "SIZING = 2\n")
    assert _changes_hash("demo", demo_strategy / "helpers.py", "SCALE = 3\n")
    assert _changes_hash("demo", demo_strategy / "demo.py", "from trading.strategies.helpers import SCALE\nX = 1\n")
    assert not _changes_hash("demo", demo_strategy / "unrelated.py", "NOT_IMPORTED = True\n")


@pytest.fixture
def outside_catalog(tmp_path, monkeypatch):
    """A user's strategy package outside the project tree, on the Python path, with helpers of its own."""
    name = f"usercat_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "site" / name
    (root / "strategies").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sizing.py").write_text("import numpy\n\nSCALE = 1\n")
    (root / "strategies" / "__init__.py").write_text("")
    (root / "strategies" / "util.py").write_text("LOOKBACK = 20\n")
    (root / "strategies" / "mean.py").write_text(
        f"import json\nfrom nautilus_trader.trading.strategy import Strategy\nfrom {name}.sizing import SCALE\n"
        "from . import util\n\ndef helper():\n    from trading.strategies import base  # a lazy project import\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = registry.StrategySpec("outside", f"{name}.strategies.mean", "Mean", "MeanConfig", "user strategy")
    registry._load_builtin()
    monkeypatch.setitem(registry._REGISTRY, "outside", spec)
    return root


def test_a_catalogue_outside_the_project_tree_is_hashed_with_its_own_helpers(outside_catalog):
    name = outside_catalog.name
    modules = dependency_modules(f"{name}.strategies.mean")
    assert {name, f"{name}.sizing", f"{name}.strategies", f"{name}.strategies.util", "trading.strategies.base"} <= set(
        modules
    )
    # The standard library and pinned third-party distributions are not followed (their versions are pinned).
    assert not {m for m in modules if m.split(".")[0] in {"json", "numpy", "nautilus_trader"}}
    for path in (
        outside_catalog / "sizing.py",
        outside_catalog / "__init__.py",
        outside_catalog / "strategies" / "__init__.py",
        outside_catalog / "strategies" / "util.py",
        outside_catalog / "strategies" / "mean.py",
    ):
        assert _changes_hash("outside", path, path.read_text() + "\n# edited\n"), path


def test_a_strategy_module_with_no_source_anywhere_is_refused(monkeypatch):
    spec = registry.StrategySpec("ghost", "no_such_package_anywhere.strat", "G", "GConfig", "missing")
    registry._load_builtin()
    monkeypatch.setitem(registry._REGISTRY, "ghost", spec)
    with pytest.raises(UnknownStrategy, match="has no Python source file"):
        code_hash("ghost")


def test_the_engine_and_ib_adapter_versions_are_hashed():
    inputs = dict(code_hash_inputs("ibs_reversion"))
    assert inputs["version:nautilus_trader"] == importlib.metadata.version("nautilus_trader").encode()
    assert inputs["version:nautilus_ibapi"] == importlib.metadata.version("nautilus_ibapi").encode()
    assert {"trading/__init__.py", "trading/strategies/__init__.py", "trading/strategies/base.py"} <= set(inputs)
