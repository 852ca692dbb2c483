"""The Studio preview: the real interpreter in the real engine on the catalog's bars. Its markers are the saved
version's backtest fills, its lines are rules.Indicator's values, its metrics the backtest's; bars are loaded once
per catalog state and thinned only when there are too many."""

from __future__ import annotations

import copy

import pytest

from studio import market
from studio.preview import markers, preview
from studio.rules import Indicator
from studio.services import do_save_version
from studio.spec import SpecError
from tests.conftest import QQQ_CSV
from trading.marketdata.catalog import load_bars, open_catalog
from trading.marketdata.importer import import_bars_file
from trading.services import run_backtest
from trading.strategies.params import bar_type_for

HEADLINE = ("total_return", "cagr", "sharpe", "max_drawdown", "trades", "win_rate", "exposure")


@pytest.fixture(autouse=True)
def fresh_cache():
    market.clear_cache()
    yield
    market.clear_cache()


@pytest.mark.django_db
def test_markers_and_metrics_are_the_saved_versions_backtest(rsi2_spec, qqq_catalog):
    result = preview(rsi2_spec)
    version, _ = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    outcome = run_backtest(version.strategy_name, "QQQ.NASDAQ", "1-DAY-LAST")  # next_open, as the preview
    assert result["fill_convention"] == outcome.fill_convention == "next_open"
    assert result["markers"] == markers(outcome.fills)
    fills = outcome.fills
    assert [m["t"] for m in result["markers"]] == [f.ts // 1_000_000_000 for f in fills]  # one fill per order
    assert [m["price"] for m in result["markers"]] == [f.price for f in fills]
    assert [m["side"] for m in result["markers"]] == ["buy" if f.side > 0 else "sell" for f in fills]
    kinds = [m["kind"] for m in result["markers"]]
    assert kinds[::2] == ["entry"] * len(kinds[::2]) and kinds[1::2] == ["exit"] * len(kinds[1::2])
    trades = outcome.metrics["trades"]
    assert trades > 50 and kinds.count("exit") == trades == result["metrics"]["trades"]
    for key in HEADLINE:
        assert result["metrics"][key] == pytest.approx(outcome.metrics[key]), key
    assert result["spec_hash"] == version.spec_hash


def test_lines_are_the_rules_indicators_values(rsi2_spec, qqq_catalog):
    result = preview(rsi2_spec)
    bars = load_bars(open_catalog(qqq_catalog), bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))
    lines = {line["series"]: line for line in result["lines"]}
    assert set(lines) == {"rsi.value", "trend.value"}
    assert lines["trend.value"]["pane"] == "price" and lines["rsi.value"]["pane"] == "rsi"
    for series, decl in (("rsi.value", {"type": "rsi", "period": 2}), ("trend.value", {"type": "sma", "period": 200})):
        indicator, expected = Indicator(decl), []
        for bar in bars:
            indicator.update(bar)
            expected.append(indicator.read()["value"] if indicator.initialized else None)
        got = lines[series]["values"]
        assert len(got) == len(bars) == result["bars"]["count"] == result["bars"]["shown"]
        assert [v is None for v in got] == [v is None for v in expected]
        assert [v for v in got if v is not None] == pytest.approx([v for v in expected if v is not None], abs=1e-4)
    assert result["panes"] == [{"id": "rsi", "title": "rsi: Relative strength index (0-100) (2)", "levels": [10, 70]}]
    assert result["warmup"] == 200


def test_curves_metrics_and_the_bars_sent_once(rsi2_spec, qqq_catalog):
    first = preview(rsi2_spec)
    n = first["bars"]["count"]
    assert n == 5031 and not first["bars"]["aggregated"]
    assert len(first["bars"]["t"]) == len(first["bars"]["c"]) == len(first["equity"]) == len(first["drawdown"]) == n
    assert set(HEADLINE) <= set(first["metrics"]) and all(first["metrics"][k] is not None for k in HEADLINE)
    assert min(first["drawdown"]) == pytest.approx(first["metrics"]["max_drawdown"], abs=1e-6)
    assert max(first["drawdown"]) <= 0
    assert first["equity"][-1] == pytest.approx(first["metrics"]["end_equity"], abs=0.01)
    assert first["bars"]["t"][0] == 915408000 and first["first_bar"] == "1999-01-04"  # the bar's date, in seconds
    again = preview(rsi2_spec, {"oversold": 5}, have_bars=first["bars_key"])
    assert again["bars"] is None and again["bars_key"] == first["bars_key"]
    assert again["params"]["oversold"] == 5 and again["panes"][0]["levels"] == [5, 70]
    assert again["metrics"]["trades"] < first["metrics"]["trades"]


def test_bad_input_is_one_line_naming_the_path(rsi2_spec, qqq_catalog):
    cases = [
        ({"entry": {"all": [{"left": "rsii", "op": "<", "right": 10}]}}, None, "entry.all[0].left: unknown indicator"),
        ({"bar_spec": "1-MINUTE-LAST"}, None, "bar_spec: no QQQ.NASDAQ-1-MINUTE-LAST-EXTERNAL bars in the catalog"),
        ({"instrument_id": "SPY.ARCA"}, None, "instrument_id: no SPY.ARCA-1-DAY-LAST-EXTERNAL bars"),
        ({}, {"nope": 1}, "params.nope: not a parameter of this spec"),
        ({}, {"rsi_period": 0}, "indicators.rsi.period: must be a whole number from 1"),
        ({}, {"oversold": "low"}, "params.oversold: expected a number"),
    ]
    for change, params, message in cases:
        spec = {**copy.deepcopy(rsi2_spec), **change}
        with pytest.raises(SpecError) as caught:
            preview(spec, params)
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_short_spec_enters_with_a_sell(rsi2_spec, qqq_catalog):
    rsi2_spec["direction"] = "short"
    rsi2_spec["entry"] = {"all": [{"left": "rsi", "op": ">", "right": 90}]}
    rsi2_spec["exit"] = {"any": [{"left": "rsi", "op": "<", "right": 30}]}
    result = preview(rsi2_spec)
    assert result["markers"][0]["kind"] == "entry" and result["markers"][0]["side"] == "sell"
    assert result["markers"][1]["kind"] == "exit" and result["markers"][1]["side"] == "buy"


def test_bars_are_loaded_again_only_when_the_catalog_changes(rsi2_spec, tmp_path, settings, monkeypatch):
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    head = tmp_path / "head.csv"
    head.write_text("".join(QQQ_CSV.read_text().splitlines(keepends=True)[:1001]))
    import_bars_file(head, "QQQ.NASDAQ", "1-DAY-LAST", open_catalog(settings.ATS_CATALOG_DIR))
    loads = []
    real_load = market._load
    monkeypatch.setattr(market, "_load", lambda *a: loads.append(a) or real_load(*a))
    first = preview(rsi2_spec)
    assert preview(rsi2_spec)["bars_key"] == first["bars_key"] and len(loads) == 1  # read parquet once
    import_bars_file(QQQ_CSV, "QQQ.NASDAQ", "1-DAY-LAST", open_catalog(settings.ATS_CATALOG_DIR))
    grown = preview(rsi2_spec)
    assert len(loads) == 2 and grown["bars_key"] != first["bars_key"]
    assert (first["bars"]["count"], grown["bars"]["count"]) == (1000, 5031)
    assert market.catalog_bar_specs() == {"QQQ.NASDAQ": ["1-DAY-LAST"]}


def test_many_bars_are_drawn_as_fewer_candles(rsi2_spec, qqq_catalog, monkeypatch):
    monkeypatch.setattr(market, "MAX_POINTS", 1000)
    result = preview(rsi2_spec)
    bars = result["bars"]
    assert bars["aggregated"] and bars["count"] == 5031 and bars["shown"] == len(bars["t"]) <= 1000
    assert all(len(line["values"]) == bars["shown"] for line in result["lines"])
    assert len(result["equity"]) == len(result["drawdown"]) == bars["shown"]
    assert min(result["drawdown"]) == pytest.approx(result["metrics"]["max_drawdown"], abs=1e-6)  # kept in a bucket
    full = load_bars(open_catalog(qqq_catalog), bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))
    step = -(-5031 // 1000)
    assert bars["h"][1] == max(b.high.as_double() for b in full[step : 2 * step])
    assert bars["c"][1] == full[2 * step - 1].close.as_double()
    assert len(result["markers"]) >= 2 * result["metrics"]["trades"]  # markers keep their own times


def test_a_preview_takes_the_latest_bars_only(rsi2_spec, qqq_catalog, monkeypatch):
    monkeypatch.setattr(market, "MAX_PREVIEW_BARS", 3000)
    result = preview(rsi2_spec)
    assert (result["bars"]["count"], result["bars"]["total"]) == (3000, 5031)
    full = load_bars(open_catalog(qqq_catalog), bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))
    assert result["bars"]["t"][0] == full[-3000].ts_event // 1_000_000_000 and result["last_bar"] == "2018-12-31"
    assert result["metrics"]["trades"] > 0 and len(result["equity"]) == 3000
