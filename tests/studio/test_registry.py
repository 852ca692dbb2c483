"""A saved Studio version is a registered strategy: names, loading, config, code hash, backtests."""

import json

import pytest

from studio.services import StudioError, do_save_version
from trading.services import run_backtest
from trading.strategies.params import StrategyParamsError, build_config, strategy_params
from trading.strategies.registry import UnknownStrategy, code_hash, get_spec, strategy_names

pytestmark = pytest.mark.django_db


def test_saved_version_is_listed_and_loads(rsi2_spec):
    version, created = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    assert created and version.strategy_name == "studio:rsi2_pullback@1"
    assert "studio:rsi2_pullback@1" in strategy_names()
    assert get_spec("studio:rsi2_pullback@1").module == "studio.interpreter"
    names = [p.name for p in strategy_params("studio:rsi2_pullback@1")]
    assert {"rsi_period", "oversold", "overbought", "notional"} <= set(names)
    assert "spec" not in names and "allow_short" not in names


def test_unknown_versions_are_refused_in_one_line(rsi2_spec):
    do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    with pytest.raises(UnknownStrategy, match="latest is studio:rsi2_pullback@1"):
        get_spec("studio:rsi2_pullback@2")
    with pytest.raises(UnknownStrategy, match="not a Studio strategy name"):
        get_spec("studio:RSI")


def test_spec_fields_cannot_be_overridden_by_params(rsi2_spec):
    do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    with pytest.raises(StrategyParamsError, match="unknown parameter 'spec'"):
        build_config("studio:rsi2_pullback@1", "QQQ.NASDAQ", "1-DAY-LAST", {"spec": "{}"})
    with pytest.raises(StrategyParamsError, match="unknown parameter 'allow_short'"):
        build_config("studio:rsi2_pullback@1", "QQQ.NASDAQ", "1-DAY-LAST", {"allow_short": True})
    with pytest.raises(StrategyParamsError, match="indicators.rsi.period: must be a whole number from 1"):
        build_config("studio:rsi2_pullback@1", "QQQ.NASDAQ", "1-DAY-LAST", {"rsi_period": 0})
    with pytest.raises(StrategyParamsError, match="instrument_id: this spec trades QQQ.NASDAQ"):
        build_config("studio:rsi2_pullback@1", "SPY.ARCA", "1-DAY-LAST", {})


def test_code_hash_binds_the_spec(rsi2_spec):
    first, _ = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    rsi2_spec["params"]["oversold"] = 5.0
    second, created = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    assert created and second.version == 2 and second.parent == first
    assert code_hash(first.strategy_name) != code_hash(second.strategy_name)
    assert code_hash(first.strategy_name) == code_hash(first.strategy_name)


def test_saving_the_same_spec_again_stores_nothing(rsi2_spec):
    first, _ = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    again, created = do_save_version(name="rsi2_pullback", spec=json.dumps(rsi2_spec, indent=4), actor="user:test")
    assert not created and again.pk == first.pk


def test_bad_spec_is_refused_naming_the_path(rsi2_spec):
    rsi2_spec["entry"]["all"][1]["right"] = "rsii"
    with pytest.raises(StudioError, match=r"^entry.all\[1\].right: unknown indicator 'rsii'"):
        do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")


def test_backtest_of_a_saved_version_trades(rsi2_spec, qqq_catalog):
    version, _ = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    outcome = run_backtest(version.strategy_name, "QQQ.NASDAQ", "1-DAY-LAST")
    assert outcome.metrics["trades"] > 50
    assert outcome.code_hash == code_hash(version.strategy_name)
