"""build_config: one-line errors naming the parameter; configs are frozen and documented."""

from __future__ import annotations

import msgspec
import pytest

from trading.strategies.ibs_reversion import IBSReversionConfig, internal_bar_strength
from trading.strategies.params import StrategyParamsError, build_config, config_params, strategy_params
from trading.strategies.registry import dependency_files, strategy_names


def test_defaults_and_bar_type():
    config = build_config("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", '{"buy_threshold": 0.15}')
    assert isinstance(config, IBSReversionConfig)
    assert str(config.bar_type) == "QQQ.NASDAQ-1-DAY-LAST-EXTERNAL"
    assert config.instrument_id.value == "QQQ.NASDAQ"
    assert config_params(config) == {
        "notional": 10_000.0,
        "quantity": None,
        "close_positions_on_stop": True,
        "allow_short": False,  # long-only unless the sleeve says otherwise; the order gate enforces it
        "buy_threshold": 0.15,
        "sell_threshold": 0.8,
    }


def test_config_is_frozen():
    config = build_config("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", {})
    with pytest.raises(AttributeError):
        config.buy_threshold = 0.5


def test_dict_params_and_integral_float_for_int():
    config = build_config("sma_cross", "SPY.ARCA", "5-SECOND-LAST", {"fast_period": 5.0, "slow_period": 20})
    assert (config.fast_period, config.slow_period) == (5, 20)
    assert isinstance(config.fast_period, int)
    assert str(config.bar_type) == "SPY.ARCA-5-SECOND-LAST-EXTERNAL"


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        ("ibs_reversion", '{"buy_threshold": 1.5}', "buy_threshold: must be between 0 and 1, got 1.5"),
        ("ibs_reversion", '{"buy_threshold": -0.1}', "buy_threshold: must be between 0 and 1, got -0.1"),
        ("ibs_reversion", '{"sell_threshold": 2}', "sell_threshold: must be between 0 and 1, got 2.0"),
        ("ibs_reversion", '{"buy_threshold": "abc"}', "buy_threshold: expected a number, got 'abc'"),
        ("ibs_reversion", '{"buy_threshold": true}', "buy_threshold: expected a number, got True"),
        ("ibs_reversion", '{"quantity": 1.5}', "quantity: expected a whole number, got 1.5"),
        ("ibs_reversion", '{"quantity": 0}', "quantity: must be at least 1, got 0"),
        ("ibs_reversion", '{"notional": -5}', "notional: must be a positive amount, got -5.0"),
        (
            "ibs_reversion",
            '{"close_positions_on_stop": "yes"}',
            "close_positions_on_stop: expected true or false, got 'yes'",
        ),
        ("sma_cross", '{"fast_period": 50}', "slow_period: must be greater than fast_period, got 50"),
        ("sma_cross", '{"fast_period": 0}', "fast_period: must be at least 1, got 0"),
        ("ibs_reversion", "[0.15]", "params: expected a JSON object"),
        ("ibs_reversion", "{buy_threshold: 0.1}", "params: not valid JSON"),
        ("nope", "{}", "unknown strategy 'nope'; known strategies: ibs_reversion, sma_cross"),
    ],
)
def test_bad_params_give_one_line_naming_the_parameter(strategy, params, message):
    with pytest.raises(StrategyParamsError) as caught:
        build_config(strategy, "QQQ.NASDAQ", "1-DAY-LAST", params)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(StrategyParamsError) as caught:
        build_config("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", '{"buy_treshold": 0.1}')
    assert str(caught.value) == (
        "unknown parameter 'buy_treshold' (known: allow_short, buy_threshold, close_positions_on_stop, notional, "
        "quantity, sell_threshold)"
    )


def test_fixed_fields_cannot_be_smuggled_in_as_params():
    with pytest.raises(StrategyParamsError, match="unknown parameter 'instrument_id'"):
        build_config("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", '{"instrument_id": "SPY.ARCA"}')


@pytest.mark.parametrize(
    ("instrument", "bar_spec", "message"),
    [
        ("QQQ", "1-DAY-LAST", "malformed instrument id 'QQQ'"),
        ("qqq.nasdaq", "1-DAY-LAST", "malformed instrument id 'qqq.nasdaq'"),
        ("QQQ.NASDAQ", "1-DAY", "malformed bar spec '1-DAY'"),
        ("QQQ.NASDAQ", "1-DAY-LAST-EXTERNAL", "malformed bar spec '1-DAY-LAST-EXTERNAL'"),
        ("QQQ.NASDAQ", "0-MINUTE-LAST", "malformed bar spec '0-MINUTE-LAST'"),
    ],
)
def test_malformed_ids_are_rejected(instrument, bar_spec, message):
    with pytest.raises(StrategyParamsError, match=message):
        build_config("ibs_reversion", instrument, bar_spec, {})


@pytest.mark.parametrize("name", ["ibs_reversion", "sma_cross"])
def test_every_parameter_is_documented(name):
    params = strategy_params(name)
    assert params, "a strategy without parameters cannot be swept"
    for param in params:
        assert len(param.doc) > 20, f"{name}.{param.name} lacks documentation"


@pytest.mark.django_db  # the list includes the Studio's saved versions, read from the database
def test_registry_lists_both_strategies_and_hashes_their_dependencies():
    assert {"ibs_reversion", "sma_cross"} <= set(strategy_names())
    files = {p.name for p in dependency_files("trading.strategies.ibs_reversion")}
    # The shared sleeve base is project code the strategy depends on: changing it must invalidate approvals.
    assert {"ibs_reversion.py", "base.py"} <= files


def test_ibs_of_a_zero_range_bar_is_undefined_not_a_division_error():
    assert internal_bar_strength(10.0, 10.0, 10.0) is None
    assert internal_bar_strength(11.0, 9.0, 9.5) == pytest.approx(0.25)


def test_config_round_trips_through_nautilus_json():
    # A live TradingNode receives strategy configs as ImportableStrategyConfig JSON: the config must survive it.
    config = build_config("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", {"quantity": 10})
    again = msgspec.json.decode(config.json(), type=dict)
    assert again["bar_type"] == "QQQ.NASDAQ-1-DAY-LAST-EXTERNAL" and again["quantity"] == 10
    assert IBSReversionConfig.parse(config.json()) == config
