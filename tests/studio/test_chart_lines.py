"""A saved Studio version's lines on the backtest page are the preview's price lines (the rules' indicators fed the
same bars), for the run's params; its oscillators stay off the price chart."""

from __future__ import annotations

import pytest

from studio import market
from studio.preview import preview
from studio.services import do_save_version
from trading.marketdata.catalog import load_bars, open_catalog
from trading.strategies.params import bar_type_for
from trading.strategies.registry import get_spec

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    market.clear_cache()
    yield
    market.clear_cache()


def test_a_studio_versions_lines_are_its_price_indicators(rsi2_spec, qqq_catalog):
    rsi2_spec["indicators"]["band"] = {"type": "bbands", "period": "$band_period", "k": 2}
    rsi2_spec["params"]["band_period"] = 20
    version, _ = do_save_version(name="rsi2_bands", spec=rsi2_spec, actor="user:test")
    bars = load_bars(open_catalog(qqq_catalog), bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))
    run_params = {"rsi_period": 2, "oversold": 10.0, "overbought": 70.0, "band_period": 30, "notional": 10000.0}
    lines = get_spec(version.strategy_name).chart_lines(run_params, bars)
    assert list(lines) == ["band.upper", "band.middle", "band.lower", "trend"]  # rsi has its own scale: not here
    shown = {line["label"]: line["values"] for line in preview(rsi2_spec, {"band_period": 30})["lines"]}
    for label, values in lines.items():
        assert len(values) == len(bars) == len(shown[label])
        assert [v is None for v in values] == [v is None for v in shown[label]]
        assert [v for v in values if v is not None] == pytest.approx(
            [v for v in shown[label] if v is not None], abs=1e-4
        )
    assert lines["band.middle"][28] is None and lines["band.middle"][29] is not None  # the run's 30, not the spec's 20
