"""Every condition, operand and exit of the Studio spec, run by the interpreter in a backtest on the bundled QQQ bars,
against an independent pandas simulation of the same rules (tests/studio/pandas_reference.py).

Each case saves a spec as a Studio version, backtests it (fill convention next_open) and compares every order the
interpreter sent (its bar, side and quantity) with the orders the reference loop sends: decisions on a bar's close
once the documented warm-up has closed, fills at the next bar's open, the entry price being that open. Every case
trades often enough (min_entries, and a minimum count per exit reason) that a wrong rule would show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from studio.services import do_save_version
from tests.studio import pandas_reference as ref
from trading.services import run_backtest

pytestmark = pytest.mark.django_db

Rules = tuple[pd.Series, pd.Series | None]


@dataclass
class Case:
    """A spec (without instrument, bar spec, sizing) and the reference's reading of it."""

    spec: dict[str, Any]
    rules: Callable[[pd.DataFrame], Rules]  # entry and exit conditions, bar by bar
    warmup: int  # bars before the first decision, as studio/spec.py documents it
    min_entries: int
    stops: dict[str, Any] = field(default_factory=dict)  # the reference's stops (simulate's keywords)
    min_reasons: dict[str, int] = field(default_factory=dict)  # exits by reason the reference must see
    params: dict[str, Any] | None = None  # run_backtest's parameter values
    direction: str = "long"
    first_decision: int | None = None  # 0-based bar of the first order, where the case pins it


def cmp(left: Any, op: str, right: Any) -> dict:
    return {"left": left, "op": op, "right": right}


def rsi2_rules(oversold: float, overbought: float, period: int) -> Callable[[pd.DataFrame], Rules]:
    def rules(df: pd.DataFrame) -> Rules:
        r = ref.rsi(df["close"], period)
        return (df["close"] > ref.sma(df["close"], 200)) & (r < oversold), r > overbought

    return rules


RSI2 = {
    "params": {"rsi_period": 2, "oversold": 10.0, "overbought": 70.0},
    "indicators": {"rsi": {"type": "rsi", "period": "$rsi_period"}, "trend": {"type": "sma", "period": 200}},
    "entry": {"all": [cmp("close", ">", "trend"), cmp("rsi", "<", "$oversold")]},
    "exit": {"any": [cmp("rsi", ">", "$overbought")]},
    "stops": {"max_bars_held": 10},
}


def _bb_touch(df):
    bb = ref.bbands(df, 20, 2.0)
    return df["close"] <= bb["lower"], df["close"] >= bb["middle"]


def _macd_cross(df):
    m = ref.macd(df["close"], 12, 26, 9)
    return ref.crosses_above(m["value"], m["signal"]), ref.crosses_below(m["value"], m["signal"])


def _cross_constant(df):
    close, ema, rsi = df["close"], ref.ema(df["close"], 20), ref.rsi(df["close"], 14)
    entry = ref.crosses_above(close, ema) | ref.crosses_above(rsi, 30.0)
    return entry, ref.crosses_below(rsi, 70.0) | ref.crosses_below(close, ema)


def _cross_bars_ago(df):
    close, ema = df["close"], ref.ema(df["close"], 20)
    return ref.crosses_above(close.shift(2), ema.shift(2)), ref.crosses_below(close.shift(1), ema.shift(1))


def _between_params(df):
    k, close = ref.stoch(df, 14, 3)["k"], df["close"]
    return ref.between(k, 10.0, 25.0) & (close > ref.sma(close, 50)), k > 80.0


def _between_series(df):
    bb, close = ref.bbands(df, 20, 2.0), df["close"]
    entry = ref.between(close, bb["lower"], bb["middle"]) & ref.between(ref.rsi(close, 14), 30.0, 45.0)
    return entry, close > bb["upper"]


def _three_down(df):
    c = df["close"]
    return (c < c.shift(1)) & (c.shift(1) < c.shift(2)) & (c.shift(2) < c.shift(3)), c > df["high"].shift(1)


def _breakout(df):
    dc = ref.donchian(df, 20)
    return df["close"] > dc["upper"].shift(1), df["close"] < dc["lower"].shift(1)


def _ibs_volume(df):
    ibs, volume = ref.ibs(df), df["volume"]
    return (ibs < 0.15) & (volume > volume.shift(1)), ibs > 0.75


def _roc_atr(df):
    roc, atr = ref.roc(df["close"], 5), ref.atr(df, 14)
    return (roc < -3.0) & (atr > atr.shift(10)), roc > 0.0


def _close_at_low(df):
    close = df["close"]
    return (close <= df["low"]) & ref.between(close, df["low"], df["high"]), close >= df["high"]


def _ibs_leaves_edges(df):
    ibs = ref.ibs(df)
    return ref.crosses_above(ibs, 0.0), ref.crosses_below(ibs, 1.0)


def _always_after_warmup(df):
    return (df["close"] > 0) & (ref.sma(df["close"], 50).shift(2) > 0), None


def _rsi2_only(df):
    return ref.rsi(df["close"], 2) < 10.0, None


def _sma_cross(df):
    return ref.crosses_above(df["close"], ref.sma(df["close"], 50)), None


def _short_rsi(df):
    r = ref.rsi(df["close"], 2)
    return r > 90.0, r < 30.0


BREAKOUT = {
    "indicators": {"dc": {"type": "donchian", "period": 20}},
    "entry": cmp("close", ">", "dc.upper[1]"),
}

CASES: dict[str, Case] = {
    # >, <, an all group, an any group, $params in an indicator period and in thresholds, max_bars_held.
    "gt-lt-all-any-params": Case(
        RSI2, rsi2_rules(10.0, 70.0, 2), 200, 150, {"max_bars_held": 10}, {"exit_condition": 150, "max_bars_held": 3}
    ),
    # The same spec with its parameters changed at run time: $params are read from the config.
    "params-at-run-time": Case(
        RSI2,
        rsi2_rules(25.0, 60.0, 3),
        200,
        150,
        {"max_bars_held": 10},
        {"exit_condition": 150, "max_bars_held": 3},
        params={"rsi_period": 3, "oversold": 25.0, "overbought": 60.0},
    ),
    # <= and >= against indicator outputs.
    "le-ge-bbands": Case(
        {
            "indicators": {"bb": {"type": "bbands", "period": 20, "k": 2}},
            "entry": cmp("close", "<=", "bb.lower"),
            "exit": cmp("close", ">=", "bb.middle"),
        },
        _bb_touch,
        20,
        60,
        min_reasons={"exit_condition": 60},
    ),
    # crosses_above / crosses_below between two series (one more bar of warm-up for the previous values).
    "crosses-series": Case(
        {
            "indicators": {"m": {"type": "macd"}},
            "entry": cmp("m.value", "crosses_above", "m.signal"),
            "exit": cmp("m.value", "crosses_below", "m.signal"),
        },
        _macd_cross,
        26 + 9 + 1,
        150,
        min_reasons={"exit_condition": 150},
    ),
    # Crosses of a constant, and of a price with an indicator, in any groups.
    "crosses-constant-any": Case(
        {
            "indicators": {"ema": {"type": "ema", "period": 20}, "rsi": {"type": "rsi", "period": 14}},
            "entry": {"any": [cmp("close", "crosses_above", "ema"), cmp("rsi", "crosses_above", 30)]},
            "exit": {"any": [cmp("rsi", "crosses_below", 70), cmp("close", "crosses_below", "ema")]},
        },
        _cross_constant,
        20 + 1,
        200,
        min_reasons={"exit_condition": 200},
    ),
    # Crosses of values some bars ago: the history kept reaches one bar past the deepest reference.
    "crosses-bars-ago": Case(
        {
            "indicators": {"ema": {"type": "ema", "period": 20}},
            "entry": cmp("close[2]", "crosses_above", "ema[2]"),
            "exit": cmp("close[1]", "crosses_below", "ema[1]"),
        },
        _cross_bars_ago,
        20 + 2 + 1,
        150,
        min_reasons={"exit_condition": 150},
    ),
    # between with $param bounds.
    "between-params": Case(
        {
            "params": {"lo": 10, "hi": 25},
            "indicators": {
                "st": {"type": "stoch", "k_period": 14, "d_period": 3},
                "trend": {"type": "sma", "period": 50},
            },
            "entry": {"all": [cmp("st.k", "between", ["$lo", "$hi"]), cmp("close", ">", "trend")]},
            "exit": cmp("st.k", ">", 80),
        },
        _between_params,
        50,
        40,
        min_reasons={"exit_condition": 40},
    ),
    # between with series bounds and with constant bounds.
    "between-series": Case(
        {
            "indicators": {"bb": {"type": "bbands"}, "rsi": {"type": "rsi", "period": 14}},
            "entry": {"all": [cmp("close", "between", ["bb.lower", "bb.middle"]), cmp("rsi", "between", [30, 45])]},
            "exit": cmp("close", ">", "bb.upper"),
        },
        _between_series,
        20,
        60,
        min_reasons={"exit_condition": 60},
    ),
    # Bars-ago operands on bar fields: three lower closes; out above the previous high. No indicators: warm-up is
    # the deepest reference plus this bar.
    "bars-ago-fields": Case(
        {
            "entry": {
                "all": [
                    cmp("close", "<", "close[1]"),
                    cmp("close[1]", "<", "close[2]"),
                    cmp("close[2]", "<", "close[3]"),
                ]
            },
            "exit": cmp("close", ">", "high[1]"),
        },
        _three_down,
        3 + 1,
        150,
        min_reasons={"exit_condition": 150},
    ),
    # Bars-ago on an indicator output: a close above the previous 20-bar high.
    "bars-ago-output": Case(
        {**BREAKOUT, "exit": cmp("close", "<", "dc.lower[1]")},
        _breakout,
        20 + 1,
        40,
        min_reasons={"exit_condition": 40},
    ),
    # ibs and volume fields.
    "ibs-volume": Case(
        {
            "entry": {"all": [cmp("ibs", "<", 0.15), cmp("volume", ">", "volume[1]")]},
            "exit": cmp("ibs", ">", 0.75),
        },
        _ibs_volume,
        1 + 1,
        250,
        min_reasons={"exit_condition": 250},
    ),
    # Exact ties decide these: a close at the bar's low (<=, and between's bounds are inclusive), out on a close at
    # the high (>=). With < , > or an exclusive between it would never trade.
    "ties-ge-le-between": Case(
        {
            "entry": {"all": [cmp("close", "<=", "low"), cmp("close", "between", ["low", "high"])]},
            "exit": cmp("close", ">=", "high"),
        },
        _close_at_low,
        1,
        100,
        min_reasons={"exit_condition": 100},
    ),
    # A cross from exactly on the line: the previous IBS is 0 (close at the low) or 1 (at the high), which a cross
    # counts ("not past it before"); a strict previous-bar test would miss every one of these.
    "ties-crosses": Case(
        {"entry": cmp("ibs", "crosses_above", 0), "exit": cmp("ibs", "crosses_below", 1)},
        _ibs_leaves_edges,
        1 + 1,
        100,
        min_reasons={"exit_condition": 100},
    ),
    # roc and atr as operands, atr some bars ago.
    "roc-atr": Case(
        {
            "params": {"drop": -3},
            "indicators": {"roc": {"type": "roc", "period": 5}, "atr": {"type": "atr"}},
            "entry": {"all": [cmp("roc", "<", "$drop"), cmp("atr", ">", "atr[10]")]},
            "exit": cmp("roc", ">", 0),
        },
        _roc_atr,
        14 + 1 + 10,
        80,
        min_reasons={"exit_condition": 80},
    ),
    # The warm-up exactly: an entry true on every bar, the deepest indicator SMA(50) read 2 bars ago, in for 2 bars.
    "warmup-max-bars-held": Case(
        {
            "indicators": {"sma": {"type": "sma", "period": 50}},
            "entry": {"all": [cmp("close", ">", 0), cmp("sma[2]", ">", 0)]},
            "stops": {"max_bars_held": 2},
        },
        _always_after_warmup,
        50 + 2,
        1000,
        {"max_bars_held": 2},
        {"max_bars_held": 1000},
        first_decision=50 + 2 - 1,  # the 52nd bar's close: SMA(50) complete 2 bars earlier
    ),
    # stop_loss_pct (a $param) with max_bars_held as the only other way out.
    "stop-loss": Case(
        {**BREAKOUT, "params": {"sl": 3}, "stops": {"stop_loss_pct": "$sl", "max_bars_held": 30}},
        lambda df: (_breakout(df)[0], None),
        20 + 1,
        80,
        {"stop_loss_pct": 3.0, "max_bars_held": 30},
        {"stop_loss": 30, "max_bars_held": 30},
    ),
    "take-profit": Case(
        {
            "indicators": {"rsi": {"type": "rsi", "period": 2}},
            "entry": cmp("rsi", "<", 10),
            "stops": {"take_profit_pct": 2, "max_bars_held": 15},
        },
        _rsi2_only,
        2 + 1,
        200,
        {"take_profit_pct": 2.0, "max_bars_held": 15},
        {"take_profit": 100, "max_bars_held": 60},
    ),
    "trailing-stop": Case(
        {
            "indicators": {"sma": {"type": "sma", "period": 50}},
            "entry": cmp("close", "crosses_above", "sma"),
            "stops": {"trailing_stop_pct": 4, "max_bars_held": 60},
        },
        _sma_cross,
        50 + 1,
        60,
        {"trailing_stop_pct": 4.0, "max_bars_held": 60},
        {"trailing_stop": 50, "max_bars_held": 8},
    ),
    # Short: sell to open, buy to close; every stop measured in the short's favour.
    "short-every-exit": Case(
        {
            "indicators": {"rsi": {"type": "rsi", "period": 2}},
            "entry": cmp("rsi", ">", 90),
            "exit": cmp("rsi", "<", 30),
            "stops": {"stop_loss_pct": 3, "take_profit_pct": 2, "trailing_stop_pct": 2.5, "max_bars_held": 8},
        },
        _short_rsi,
        2 + 1,
        250,
        {"stop_loss_pct": 3.0, "take_profit_pct": 2.0, "trailing_stop_pct": 2.5, "max_bars_held": 8},
        {"exit_condition": 150, "stop_loss": 10, "take_profit": 10, "trailing_stop": 5, "max_bars_held": 3},
        direction="short",
    ),
}


@pytest.fixture(scope="module")
def qqq() -> pd.DataFrame:
    return ref.qqq()


def interpreter_decisions(name: str, case: Case, qqq: pd.DataFrame) -> tuple[list[tuple], Any]:
    spec = {"schema": 1, "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST", "direction": case.direction}
    spec.update({key: value for key, value in case.spec.items()})
    version, _ = do_save_version(name=name.replace("-", "_"), spec=spec, actor="user:test")
    outcome = run_backtest(version.strategy_name, "QQQ.NASDAQ", "1-DAY-LAST", case.params)
    bar_of = {int(ts): i for i, ts in enumerate(qqq["ts_init"])}
    return [(bar_of[d["ts"]], d["side"], d["quantity"]) for d in outcome.decisions], outcome


def _show(decisions: list[tuple], qqq: pd.DataFrame) -> list[str]:
    return [f"{qqq.index[bar]} {side} {quantity:g}" for bar, side, quantity, *_ in decisions]


@pytest.mark.parametrize("name", list(CASES))
def test_interpreter_trades_as_the_reference(name, qqq, qqq_catalog):
    case = CASES[name]
    entry, exit_rule = case.rules(qqq)
    expected = ref.simulate(qqq, entry, exit_rule, warmup=case.warmup, direction=case.direction, **case.stops)
    reasons = expected.reasons()
    assert expected.entries >= case.min_entries, reasons
    for reason, least in case.min_reasons.items():
        assert reasons.get(reason, 0) >= least, reasons
    assert all(d.bar >= case.warmup - 1 for d in expected.decisions)
    if case.first_decision is not None:
        assert expected.decisions[0].bar == case.first_decision

    actual, outcome = interpreter_decisions(name, case, qqq)
    want = [(d.bar, d.side, d.quantity) for d in expected.decisions]
    if actual != want:
        first = next(
            (i for i, (a, w) in enumerate(zip(actual, want, strict=False)) if a != w), min(len(actual), len(want))
        )
        raise AssertionError(
            f"{name}: {len(actual)} orders, the reference {len(want)}; first difference at order {first}: "
            f"interpreter {_show(actual[first : first + 3], qqq)}, reference {_show(want[first : first + 3], qqq)} "
            f"({expected.decisions[first].reason if first < len(want) else '-'})"
        )
    # next_open: every order decided before the last bar filled whole at the next bar's open.
    opens = qqq["open"].to_numpy()
    fills = [(f.price, f.quantity) for f in outcome.fills]
    assert fills == [(opens[bar + 1], quantity) for bar, _, quantity in want if bar + 1 < len(qqq)]
