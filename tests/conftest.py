"""Fixtures shared across the apps' tests."""

import sys
from pathlib import Path

import pytest

import trading.strategies as strategies_package
from trading.strategies import registry

QQQ_CSV = Path(__file__).resolve().parents[1] / "data" / "daily" / "QQQ.csv"


@pytest.fixture
def demo_strategy(tmp_path, monkeypatch):
    """A registered strategy whose source lives in a temporary project tree, so tests can change its code."""
    package = tmp_path / "trading" / "strategies"
    package.mkdir(parents=True)
    (tmp_path / "trading" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("SCALE = 1\n")
    (package / "demo.py").write_text(
        "from trading.strategies.helpers import SCALE\n"
        "from trading.strategies.ibs_reversion import IBSReversion as Demo, IBSReversionConfig as DemoConfig\n\n"
        "THRESHOLD = 0.15 * SCALE\n"
    )
    monkeypatch.setattr(registry, "PROJECT_ROOT", tmp_path)
    # Importable as trading.strategies.demo (its params are IBS reversion's), from this test's tree only.
    monkeypatch.setattr(strategies_package, "__path__", [*strategies_package.__path__, str(package)])
    for name in ("trading.strategies.demo", "trading.strategies.helpers"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    spec = registry.StrategySpec("demo", "trading.strategies.demo", "Demo", "DemoConfig", "test strategy")
    registry._load_builtin()
    monkeypatch.setitem(registry._REGISTRY, "demo", spec)
    return package


@pytest.fixture
def known_instruments(monkeypatch):
    """For tests that start sessions or approve instruments with no gateway running: the gateway's instrument check
    answers from ibsim's contract table (QQQ.NASDAQ, SPY.ARCA, ...; FOO.BAR stays unknown) instead of connecting.

    Production never skips the check: only this fixture replaces trading.gateway.resolve_instruments, and a test
    gets it by asking for it by name. End-to-end tests use the real check against their ibsim. Returns the list of
    instrument ids asked for, so a test can see the check ran.
    """
    from ibsim.contracts import CONTRACTS
    from trading import gateway

    asked: list[str] = []

    def resolve(config, instrument_ids):
        asked.extend(instrument_ids)
        problems = {}
        for iid in instrument_ids:
            symbol, _, venue = iid.rpartition(".")
            contract = CONTRACTS.get(symbol)
            known = contract is not None and contract.primary_exchange == venue
            problems[iid] = "" if known else gateway.unknown_contract(iid, gateway.NO_SECURITY_DEFINITION)
        return problems

    monkeypatch.setattr(gateway, "resolve_instruments", resolve)
    return asked


# Tests of approval mechanics (order, audit, revocation) approve without climbing the ladder, as an operator may.
TEST_OVERRIDE = "test of the approval mechanics, not of the ladder"


@pytest.fixture
def approved_demo(demo_strategy, db, known_instruments):
    """The demo strategy approved for QQQ.NASDAQ."""
    from approvals.services import do_approve_live

    return do_approve_live(
        strategy="demo",
        instrument_id="QQQ.NASDAQ",
        note="2w paper, matched backtest",
        actor="user:approver",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )


@pytest.fixture(scope="session")
def qqq_catalog_dir(tmp_path_factory) -> Path:
    """A catalog holding QQQ.NASDAQ daily bars imported from data/daily/QQQ.csv (built once per session)."""
    from trading.marketdata.catalog import open_catalog
    from trading.marketdata.importer import import_bars_file

    path = tmp_path_factory.mktemp("qqq_catalog")
    import_bars_file(QQQ_CSV, "QQQ.NASDAQ", "1-DAY-LAST", open_catalog(path))
    return path


@pytest.fixture
def qqq_catalog(qqq_catalog_dir, settings) -> Path:
    """Point settings.ATS_CATALOG_DIR at the shared QQQ catalog (tests must not write to it)."""
    settings.ATS_CATALOG_DIR = qqq_catalog_dir
    return qqq_catalog_dir
