"""The built-in strategies' indicator lines (StrategySpec.chart_lines) on the bundled QQQ bars, against the same
quantities computed here with numpy; declaring lines leaves the strategies' code hashes alone."""

from __future__ import annotations

import numpy as np
import pytest

from trading.marketdata.catalog import load_bars, open_catalog
from trading.strategies.params import bar_type_for
from trading.strategies.registry import code_hash_inputs, get_spec


@pytest.fixture(scope="module")
def bars(qqq_catalog_dir):
    return load_bars(open_catalog(qqq_catalog_dir), bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))[:600]


def test_sma_cross_draws_its_two_averages(bars):
    lines = get_spec("sma_cross").chart_lines({"fast_period": 10, "slow_period": 50, "notional": 1e4}, bars)
    closes = np.array([b.close.as_double() for b in bars])
    assert list(lines) == ["SMA 10", "SMA 50"]
    for period, values in ((10, lines["SMA 10"]), (50, lines["SMA 50"])):
        assert len(values) == len(bars) and values[: period - 1] == [None] * (period - 1)
        expected = np.convolve(closes, np.ones(period) / period, mode="valid")
        assert values[period - 1 :] == pytest.approx(expected, rel=1e-12)


def test_ibs_reversion_draws_the_prior_high_it_exits_above(bars):
    lines = get_spec("ibs_reversion").chart_lines({"buy_threshold": 0.1, "sell_threshold": 0.9}, bars)
    assert lines == {"prior high": [None] + [b.high.as_double() for b in bars[:-1]]}


@pytest.mark.parametrize("params", [{"fast_period": 0, "slow_period": 50}, {"slow_period": 50}, {"fast_period": "x"}])
def test_bad_params_are_refused_in_one_line(bars, params):
    with pytest.raises(ValueError, match="fast_period: expected a whole number of bars >= 1"):
        get_spec("sma_cross").chart_lines(params, bars)


@pytest.mark.parametrize("name", ["sma_cross", "ibs_reversion"])
def test_the_lines_module_is_outside_the_code_hash(name):
    labels = [label for label, _ in code_hash_inputs(name)]
    assert f"trading/strategies/{name}.py" in labels
    assert not any(label.endswith(("lines.py", "catalog.py", "registry.py")) for label in labels)
