"""Export to Python: the exported module trades exactly as the interpreter runs the same spec (on the bundled QQQ and
SPY bars, and on hand-made bars with undefined IBS), imports nothing from the Studio, passes ruff, and the
studio_export command prints or writes it."""

import ast
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from studio.export import export_module
from studio.interpreter import StudioStrategy, config_class_for
from studio.services import do_save_version
from studio.spec import canonical_json, validate
from trading.backtests.engine import BacktestCosts, EngineResult, run_engine
from trading.marketdata.catalog import assumed_us_equity, catalog_instrument, load_bars, make_bar, open_catalog
from trading.strategies.params import bar_type_for

REPO = Path(__file__).resolve().parents[2]
SPY_CSV = REPO / "data" / "daily" / "SPY.csv"
RUFF = Path(sys.executable).with_name("ruff")
QQQ, SPY = "QQQ.NASDAQ", "SPY.ARCA"


def spec(instrument_id: str = QQQ, **parts) -> dict:
    """A raw daily-bar spec."""
    return {"schema": 1, "instrument_id": instrument_id, "bar_spec": "1-DAY-LAST", **parts}


# name -> (raw spec, minimum round trips on the bundled bars). Together: every indicator type and operator, all/any
# nesting, bars-ago references, the ibs and volume fields, int and float params (one as a period, some in stops),
# every stop and sizing kind, a short spec and a spec on SPY.
SPECS: dict[str, tuple[dict, int]] = {
    "rsi2_pullback": (json.loads((Path(__file__).parent / "rsi2_pullback.json").read_text()), 100),
    "ema_cross": (
        spec(
            params={"fast": 10, "slow": 40},
            indicators={"fast": {"type": "ema", "period": "$fast"}, "slow": {"type": "sma", "period": "$slow"}},
            entry={"left": "fast", "op": "crosses_above", "right": "slow"},
            exit={"left": "fast", "op": "crosses_below", "right": "slow"},
            sizing={"quantity": 50},
        ),
        40,
    ),
    "bb_ibs": (
        spec(
            params={"k": 2.0, "ibs_low": 0.15},
            indicators={"bb": {"type": "bbands", "period": 20, "k": "$k"}},
            entry={
                "any": [
                    {"left": "close", "op": "<", "right": "bb.lower"},
                    {
                        "all": [
                            {"left": "ibs", "op": "<", "right": "$ibs_low"},
                            {"left": "close", "op": "<", "right": "close[1]"},
                            {"left": "close[1]", "op": "<", "right": "close[2]"},
                        ]
                    },
                ]
            },
            exit={
                "any": [{"left": "close", "op": ">=", "right": "bb.middle"}, {"left": "ibs", "op": ">", "right": 0.9}]
            },
            stops={"stop_loss_pct": 8, "take_profit_pct": 6},
            sizing={"percent_equity": 20},
        ),
        200,
    ),
    "macd_trend": (
        spec(
            indicators={"macd": {"type": "macd", "fast_period": 12, "slow_period": 26, "signal_period": 9}},
            entry={
                "all": [
                    {"left": "macd.value", "op": "crosses_above", "right": "macd.signal"},
                    {"left": "macd.value", "op": "<", "right": 0},
                ]
            },
            exit={"left": "macd.histogram", "op": "crosses_below", "right": 0},
            stops={"trailing_stop_pct": 5},
        ),
        60,
    ),
    "donchian_breakout": (
        spec(
            params={"hold": 30},
            indicators={"dc": {"type": "donchian", "period": 20}, "atr": {"type": "atr", "period": 14}},
            entry={
                "all": [
                    {"left": "close", "op": ">", "right": "dc.upper[1]"},
                    {"left": "volume", "op": ">=", "right": "volume[1]"},
                    {"left": "atr", "op": "<=", "right": "atr[5]"},
                ]
            },
            exit={"left": "close", "op": "<", "right": "dc.lower[1]"},
            stops={"max_bars_held": "$hold"},
            sizing={"notional": 25000},
        ),
        50,
    ),
    "roc_stoch": (
        spec(
            params={"oversold": 30},
            indicators={"roc": {"type": "roc", "period": 10}, "st": {"type": "stoch", "k_period": 14, "d_period": 3}},
            entry={
                "all": [
                    {"left": "roc", "op": "between", "right": [-8, -1]},
                    {
                        "any": [
                            {"left": "st.k", "op": "crosses_above", "right": "st.d"},
                            {"left": "st.k", "op": "<=", "right": 5},
                        ]
                    },
                    {"left": "st.k", "op": "<=", "right": "$oversold"},
                ]
            },
            exit={"left": "st.k", "op": ">=", "right": 80},
            stops={"stop_loss_pct": 10},
        ),
        70,
    ),
    "short_spike": (
        spec(
            direction="short",
            indicators={"rsi": {"type": "rsi", "period": 2}, "trend": {"type": "sma", "period": 100}},
            # 90 < rsi and 50 crosses above rsi: numbers on the left are written series-first in the export.
            entry={"all": [{"left": 90, "op": "<", "right": "rsi"}, {"left": "close", "op": "<", "right": "trend"}]},
            exit={"left": 50, "op": "crosses_above", "right": "rsi"},
            stops={"stop_loss_pct": 5, "take_profit_pct": 5, "trailing_stop_pct": 4},
            sizing={"quantity": 20},
        ),
        90,
    ),
    "spy_dip": (
        spec(
            SPY,
            params={"length": 10.0, "low": 0.25, "stop": 7},
            indicators={
                "avg": {"type": "sma", "period": "$length"},
                "bb": {"type": "bbands", "period": "$length", "k": 1.5},
            },
            entry={
                "any": [
                    {
                        "all": [
                            {"left": "close", "op": "between", "right": ["bb.lower", "bb.middle"]},
                            {
                                "any": [
                                    {"left": "ibs", "op": "<", "right": "$low"},
                                    {"left": "close[3]", "op": ">", "right": "avg"},
                                ]
                            },
                        ]
                    },
                    {"left": "close", "op": "crosses_below", "right": "bb.lower"},
                ]
            },
            exit={"left": "close", "op": ">", "right": "avg"},
            stops={"stop_loss_pct": "$stop"},
            sizing={"percent_equity": 50},
        ),
        300,
    ),
}


@pytest.fixture(scope="session")
def spy_catalog_dir(tmp_path_factory) -> Path:
    """A catalog holding SPY.ARCA daily bars imported from data/daily/SPY.csv (built once per session)."""
    from trading.marketdata.importer import import_bars_file

    path = tmp_path_factory.mktemp("spy_catalog")
    import_bars_file(SPY_CSV, SPY, "1-DAY-LAST", open_catalog(path))
    return path


@pytest.fixture(scope="session")
def market(qqq_catalog_dir, spy_catalog_dir) -> dict:
    """instrument id -> (instrument, bars) of the bundled daily data, loaded once."""
    loaded = {}
    for instrument_id, path in ((QQQ, qqq_catalog_dir), (SPY, spy_catalog_dir)):
        catalog = open_catalog(path)
        loaded[instrument_id] = (
            catalog_instrument(catalog, instrument_id),
            load_bars(catalog, bar_type_for(instrument_id, "1-DAY-LAST")),
        )
    return loaded


def exported(canonical: dict, name: str, directory: Path) -> ModuleType:
    """Export a spec, write it to a file and import it from there, as a trader's own module."""
    path = directory / f"{name}_export.py"
    path.write_text(export_module(canonical, name=name, version=1))
    module_spec = importlib.util.spec_from_file_location(f"{name}_export_{id(path)}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def strategy_classes(module: ModuleType) -> tuple[type, type]:
    """The exported (strategy class, config class)."""
    config_class = next(v for k, v in vars(module).items() if k.endswith("Config") and k != "SleeveConfig")
    strategy_class = next(v for k, v in vars(module).items() if f"{k}Config" == config_class.__name__)
    return strategy_class, config_class


def both(canonical: dict, module: ModuleType, instrument, bars, params=None) -> tuple[EngineResult, EngineResult]:
    """Run the interpreter and the exported strategy on the same bars; (interpreter, exported)."""
    params = params or {}
    bar_type = bar_type_for(canonical["instrument_id"], canonical["bar_spec"])
    ids = {"instrument_id": instrument.id, "bar_type": bar_type}
    interpreter_config = config_class_for(canonical_json(canonical))(**ids, **params)
    strategy_class, config_class = strategy_classes(module)
    costs = BacktestCosts()
    return (
        run_engine(StudioStrategy, interpreter_config, instrument, bars, costs),
        run_engine(strategy_class, config_class(**ids, **params), instrument, bars, costs),
    )


def trades(result: EngineResult) -> list[tuple]:
    """The fills as (time, side, quantity, price)."""
    return [(f.ts, f.side, f.quantity, f.price) for f in result.fills]


@pytest.mark.parametrize("name", list(SPECS))
def test_exported_module_trades_exactly_as_the_interpreter(name, market, tmp_path):
    raw, minimum = SPECS[name]
    canonical = validate(raw)
    instrument, bars = market[canonical["instrument_id"]]
    interpreted, hand_written = both(canonical, exported(canonical, name, tmp_path), instrument, bars)
    assert trades(hand_written) == trades(interpreted)
    assert hand_written.decisions == interpreted.decisions
    assert len(interpreted.fills) // 2 >= minimum  # it trades: a wrong rule would show


def test_parameters_are_config_fields_of_the_export(market, tmp_path):
    canonical = validate(SPECS["rsi2_pullback"][0])
    module = exported(canonical, "rsi2_pullback", tmp_path)
    instrument, bars = market[QQQ]
    params = {"rsi_period": 3, "oversold": 15.0, "overbought": 60.0, "percent_equity": 30.0}
    interpreted, hand_written = both(canonical, module, instrument, bars, params)
    assert trades(hand_written) == trades(interpreted)
    assert trades(interpreted) != trades(both(canonical, module, instrument, bars)[0])
    _, config_class = strategy_classes(module)
    ids = {"instrument_id": instrument.id, "bar_type": bar_type_for(QQQ, "1-DAY-LAST")}
    with pytest.raises(ValueError, match=r"^rsi_period: must be a whole number from 1 to 5000, got 0$"):
        config_class(**ids, rsi_period=0)
    with pytest.raises(ValueError, match=r"^quantity: give quantity or percent_equity, not both"):
        config_class(**ids, percent_equity=10.0, quantity=5)


def test_undefined_ibs_fails_every_comparison_as_in_the_interpreter(tmp_path):
    # Zero-range bars (high == low: IBS undefined) every third bar; the bundled data has none.
    instrument = assumed_us_equity("TEST.NASDAQ")
    bar_type = bar_type_for("TEST.NASDAQ", "1-DAY-LAST")
    first = pd.Timestamp("2020-01-01", tz="UTC")
    rows = []
    for i in range(90):
        price = 100 + (i % 7) - (i % 5)
        rows.append((price, price, price, price) if i % 3 == 0 else (price, price + 2, price - 2, price - 1.5 + i % 4))
    bars = [
        make_bar(bar_type, instrument, (first + pd.Timedelta(days=i)).value, o, h, lo, c, 1000)
        for i, (o, h, lo, c) in enumerate(rows)
    ]
    raw = spec(
        "TEST.NASDAQ",
        entry={
            "any": [
                {"left": "ibs", "op": "between", "right": [0, 0.2]},
                {"left": "ibs", "op": "crosses_above", "right": 0.6},
                {"left": 0.8, "op": "<=", "right": "ibs"},
            ]
        },
        exit={"left": "ibs", "op": ">=", "right": 0},
        stops={"max_bars_held": 2},
        sizing={"quantity": 10},
    )
    canonical = validate(raw)
    interpreted, hand_written = both(canonical, exported(canonical, "ibs_gaps", tmp_path), instrument, bars)
    assert trades(hand_written) == trades(interpreted)
    assert hand_written.decisions == interpreted.decisions
    assert len(interpreted.fills) >= 10
    zero_range = {bar.ts_init for bar, row in zip(bars, rows, strict=True) if row[1] == row[2]}
    assert not zero_range & {d["ts"] for d in interpreted.decisions if d["side"] == "BUY"}


def test_exported_module_imports_nothing_from_the_studio():
    allowed = ("__future__", "math", "collections", "nautilus_trader.", "trading.strategies.base")
    for name, (raw, _) in SPECS.items():
        tree = ast.parse(export_module(validate(raw), name=name, version=1))
        modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert modules and all(m.startswith(allowed) for m in modules), (name, modules)
        assert ast.get_docstring(tree) and f"studio:{name}@1" in ast.get_docstring(tree)


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to this Python")
def test_exported_source_passes_ruff(tmp_path):
    for name, (raw, _) in SPECS.items():
        (tmp_path / f"{name}_export.py").write_text(export_module(validate(raw), name=name, version=1))
    # From the repository, with its configuration: judged as if the files were in it (its line length, and
    # trading.* as first-party imports).
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(RUFF), *command, "--no-cache", "--config", "pyproject.toml", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_studio_export_command(rsi2_spec, tmp_path):
    version, _ = do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    # The stored canonical spec (keys sorted) is what is exported.
    expected = export_module(validate(json.loads(version.spec)), name="rsi2_pullback", version=1)
    assert f"spec sha256 {version.spec_hash}" in expected
    for name in ("rsi2_pullback@1", "studio:rsi2_pullback@1"):
        out = io.StringIO()
        call_command("studio_export", name, stdout=out)
        assert out.getvalue() == expected
    target = tmp_path / "rsi2_pullback.py"
    out = io.StringIO()
    call_command("studio_export", "rsi2_pullback@1", "--out", str(target), stdout=out)
    assert target.read_text() == expected
    assert out.getvalue() == f"wrote {target}: studio:rsi2_pullback@1 (spec {version.spec_hash[:12]})\n"


@pytest.mark.django_db
def test_studio_export_refuses_an_unknown_version_in_one_line(rsi2_spec):
    do_save_version(name="rsi2_pullback", spec=rsi2_spec, actor="user:test")
    for name, message in (
        ("rsi2_pullback@2", "no Studio version studio:rsi2_pullback@2"),
        ("nope@1", "no Studio version studio:nope@1"),
        ("RSI", "is not a Studio strategy name"),
    ):
        with pytest.raises(CommandError, match=message) as caught:
            call_command("studio_export", name, stdout=io.StringIO())
        assert "\n" not in str(caught.value)
