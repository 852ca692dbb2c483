"""The Studio's preview: a spec run by the real interpreter in the real engine on the catalog's bars, shaped for
the page's charts (price with indicator lines and entry/exit markers, oscillator panes, equity and drawdown) and
headline metrics.

Nothing here decides a trade: the backtest is trading.services.execute_backtest with the live fill convention
(next_open), the lines come from studio.rules.Indicator fed the same bars, and the markers are the run's fills.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from studio.interpreter import StudioStrategy, config_class_for
from studio.market import MarketData, market_data
from studio.rules import Indicator
from studio.spec import (
    BAR_FIELDS,
    INDICATORS,
    Resolved,
    SpecError,
    canonical_json,
    load,
    resolve,
    spec_hash,
    validate,
)
from trading.backtests.engine import DEFAULT_FILL_CONVENTION, BacktestCosts, Fill
from trading.backtests.metrics import equity_and_position
from trading.services import PreparedBacktest, execute_backtest

PRICE_TYPES = frozenset({"sma", "ema", "bbands", "donchian"})  # drawn over the price; the rest in panes below
PREVIEW_STRATEGY = "studio:preview"  # the run's name: an unsaved spec is no registered strategy
HEADLINE = ("total_return", "cagr", "sharpe", "max_drawdown", "trades", "win_rate", "exposure")
MORE = ("end_equity", "sortino", "commissions", "avg_trade_return", "open_position", "orders_denied_or_rejected")
RECENT_TRADES = 100
# One engine run at a time per process: previews queue rather than share two CPUs with each other.
_RUN_LOCK = threading.Lock()


def preview(spec: Any, params: dict | None = None, *, have_bars: str = "") -> dict[str, Any]:
    """Validate and run a spec on its catalog bars; the page's JSON. SpecError (one line naming the path) if bad.

    params: values for the spec's named parameters (default: the spec's own). have_bars: the bars key the page
    already holds; when it is still current the bars are not sent again.
    """
    started = time.perf_counter()
    canonical = validate(spec)
    values = _param_values(canonical, params)
    resolved = resolve(canonical, values)
    text = canonical_json(canonical)
    data = market_data(canonical["instrument_id"], canonical["bar_spec"])
    costs = BacktestCosts()
    prepared = PreparedBacktest(
        strategy=PREVIEW_STRATEGY,
        instrument_id=canonical["instrument_id"],
        bar_spec=canonical["bar_spec"],
        config=_config(text, data, values),
        strategy_class=StudioStrategy,
        instrument=data.instrument,
        bars=data.bars,
        costs=costs,
        code_hash=f"studio-spec:{spec_hash(canonical)}",
        requested_start=None,
        requested_end=None,
        fill_convention=DEFAULT_FILL_CONVENTION,
    )
    with _RUN_LOCK:
        ran = time.perf_counter()
        outcome = execute_backtest(prepared)
        engine_ms = (time.perf_counter() - ran) * 1000
    equity, _ = equity_and_position(data.series, outcome.fills, costs.capital)
    peak = np.maximum.accumulate(np.concatenate(([costs.capital], equity)))[1:]
    drawdown = equity / peak - 1
    starts, ends = data.starts, data.ends
    aggregated = len(starts) != len(data.bars)
    lines, panes = _chart_lines(resolved, data, ends)
    metrics = outcome.metrics
    return {
        "spec": canonical,
        "spec_hash": spec_hash(canonical),
        "params": {**canonical["params"], **values},
        "instrument_id": canonical["instrument_id"],
        "bar_spec": canonical["bar_spec"],
        "fill_convention": outcome.fill_convention,
        "capital": costs.capital,
        "warmup": resolved.warmup,
        "bars": None if have_bars == data.key else data.shown_bars(),
        "bars_key": data.key,
        "first_bar": _iso_day(int(data.ts_event[0])),
        "last_bar": _iso_day(int(data.ts_event[-1])),
        "lines": lines,
        "panes": panes,
        "markers": markers(outcome.fills),
        "equity": [round(float(v), 2) for v in equity[ends]],
        "drawdown": [round(float(v), 6) for v in (np.minimum.reduceat(drawdown, starts) if aggregated else drawdown)],
        "metrics": {key: _plain(metrics.get(key)) for key in (*HEADLINE, *MORE)},
        "trades": outcome.trades[-RECENT_TRADES:],
        "timing_ms": {"engine": round(engine_ms), "total": round((time.perf_counter() - started) * 1000)},
    }


def _param_values(canonical: dict[str, Any], params: Any) -> dict[str, float | int]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise SpecError("params", "the values to run with are an object of named numbers")
    declared = canonical["params"]
    for name, value in params.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none declared"
            raise SpecError(f"params.{str(name)[:40]}", f"not a parameter of this spec (params: {known})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SpecError(f"params.{name}", f"expected a number, got {value!r}"[:120])
    return dict(params)


def _config(text: str, data: MarketData, values: dict[str, Any]) -> Any:
    """The frozen config of the spec, exactly as a saved version builds it (its class from config_class_for)."""
    config_class = config_class_for(text)
    try:
        return config_class(instrument_id=data.bar_type.instrument_id, bar_type=data.bar_type, **values)
    except SpecError:
        raise
    except (ValueError, TypeError) as exc:
        raise SpecError("", str(exc).splitlines()[0]) from None


def indicator_values(resolved: Resolved, bars: list) -> dict[str, list[float | None]]:
    """Every indicator output at every bar ('sma.value' -> values), None until the indicator has warmed up.

    The indicators are rules.Indicator, built from the resolved spec as the interpreter's Evaluator builds them.
    """
    indicators = [(ident, Indicator(decl)) for ident, decl in resolved.spec["indicators"].items()]
    out: dict[str, list[float | None]] = {
        f"{ident}.{output}": [] for ident, indicator in indicators for output in indicator.outputs
    }
    columns = [(indicator, [(o, out[f"{ident}.{o}"]) for o in indicator.outputs]) for ident, indicator in indicators]
    for bar in bars:
        for indicator, series in columns:
            indicator.update(bar)
            if not indicator.initialized:
                for _, column in series:
                    column.append(None)
                continue
            values = indicator.read()
            for output, column in series:
                value = values[output]
                column.append(value if math.isfinite(value) else None)
    return out


def _chart_lines(resolved: Resolved, data: MarketData, ends: np.ndarray) -> tuple[list[dict], list[dict]]:
    """Lines (one per indicator output) for the price chart or a pane, and the panes with their rule levels."""
    indicators = resolved.spec["indicators"]
    values = indicator_values(resolved, data.bars)
    levels = _levels(resolved)
    lines, panes = [], []
    for ident, decl in indicators.items():
        kind = INDICATORS[decl["type"]]
        pane = "price" if decl["type"] in PRICE_TYPES else ident
        if pane != "price":
            args = ", ".join(f"{decl[a.name]:g}" for a in kind.args)
            panes.append(
                {"id": ident, "title": f"{ident}: {kind.title} ({args})", "levels": sorted(levels.get(ident, ()))}
            )
        for output in kind.outputs:
            column = values[f"{ident}.{output}"]
            shown = [column[i] for i in ends] if len(ends) != len(column) else column
            lines.append(
                {
                    "series": f"{ident}.{output}",
                    "label": _label(ident, kind.outputs, output),
                    "indicator": ident,
                    "pane": pane,
                    "values": [None if v is None else round(v, 4) for v in shown],
                }
            )
    return lines, panes


def _label(ident: str, outputs: Sequence[str], output: str) -> str:
    return ident if len(outputs) == 1 else f"{ident}.{output}"


def price_lines(spec_text: str, params: dict[str, Any], bars: Sequence[Any]) -> dict[str, list[float | None]]:
    """A saved spec's lines drawn over the price (its sma, ema, bbands, donchian), labelled as the Studio labels
    them, for a run with these params (StrategySpec.chart_lines of a Studio version; other keys are ignored)."""
    canonical = load(spec_text)
    resolved = resolve(canonical, {k: v for k, v in params.items() if k in canonical["params"]})
    price = {ident: decl for ident, decl in resolved.spec["indicators"].items() if decl["type"] in PRICE_TYPES}
    values = indicator_values(resolved, list(bars))
    return {
        _label(ident, INDICATORS[decl["type"]].outputs, output): values[f"{ident}.{output}"]
        for ident, decl in price.items()
        for output in INDICATORS[decl["type"]].outputs
    }


def _levels(resolved: Resolved) -> dict[str, set[float]]:
    """Constants the rules compare an oscillator with (rsi < 10 draws a line at 10 in rsi's pane)."""
    found: dict[str, set[float]] = {}

    def indicator_of(operand: Any) -> str | None:
        if not isinstance(operand, str):
            return None
        name = operand.split(".")[0].split("[")[0]
        return None if name in BAR_FIELDS else name

    def walk(cond: dict[str, Any] | None) -> None:
        if cond is None:
            return
        for key in ("all", "any"):
            if key in cond:
                for item in cond[key]:
                    walk(item)
                return
        sides = cond["right"] if cond["op"] == "between" else [cond["right"]]
        left = indicator_of(cond["left"])
        constants = [float(s) for s in sides if not isinstance(s, str)]
        if left is not None:
            found.setdefault(left, set()).update(constants)
        if not isinstance(cond["left"], str):
            for side in sides:
                right = indicator_of(side)
                if right is not None:
                    found.setdefault(right, set()).add(float(cond["left"]))

    walk(resolved.spec["entry"])
    walk(resolved.spec["exit"])
    return found


def markers(fills: list[Fill]) -> list[dict[str, Any]]:
    """One marker per filled order: entry (from flat) or exit, its side, time (epoch s), average price, quantity."""
    orders: list[dict[str, Any]] = []
    for fill in fills:
        last = orders[-1] if orders else None
        if last is not None and fill.order and last["order"] == fill.order:
            last["quantity"] += fill.quantity
            last["value"] += fill.quantity * fill.price
            continue
        orders.append(
            {
                "order": fill.order,
                "ts": fill.ts,
                "side": fill.side,
                "quantity": fill.quantity,
                "value": fill.quantity * fill.price,
            }
        )
    out = []
    position = 0.0
    for order in orders:
        out.append(
            {
                "t": order["ts"] // 1_000_000_000,
                "ts": _iso(order["ts"]),
                "kind": "entry" if abs(position) < 1e-9 else "exit",
                "side": "buy" if order["side"] > 0 else "sell",
                "price": round(order["value"] / order["quantity"], 6),
                "quantity": order["quantity"],
            }
        )
        position += order["side"] * order["quantity"]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _iso(ns: int) -> str:
    return np.datetime64(ns, "ns").astype("datetime64[s]").item().isoformat() + "Z"


def _iso_day(ns: int) -> str:
    return str(np.datetime64(ns, "ns").astype("datetime64[D]"))
