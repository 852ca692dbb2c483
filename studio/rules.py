"""The Studio's rules at run time: NautilusTrader indicators built from a resolved spec, and an evaluator that feeds
them bar by bar, keeps the recent values every condition reads, and answers "entry?" and "exit?".

The interpreter strategy, the Studio's chart lines and nothing else use this: one implementation of every rule.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from nautilus_trader.indicators.averages import ExponentialMovingAverage, SimpleMovingAverage
from nautilus_trader.indicators.momentum import RateOfChange, RelativeStrengthIndex, Stochastics
from nautilus_trader.indicators.trend import MovingAverageConvergenceDivergence
from nautilus_trader.indicators.volatility import AverageTrueRange, BollingerBands, DonchianChannel
from nautilus_trader.model.data import Bar

from studio.spec import CROSSES, INDICATORS, Resolved, operand_of

Values = dict[str, float | None]


class Indicator:
    """One declared indicator: a Nautilus indicator (two for MACD's signal line) and how to read its outputs."""

    def __init__(self, decl: dict[str, Any]) -> None:
        self.type = decl["type"]
        self.outputs = INDICATORS[self.type].outputs
        self._signal: ExponentialMovingAverage | None = None
        kind = self.type
        if kind == "sma":
            self._inner: Any = SimpleMovingAverage(decl["period"])
        elif kind == "ema":
            self._inner = ExponentialMovingAverage(decl["period"])
        elif kind == "rsi":
            self._inner = RelativeStrengthIndex(decl["period"])
        elif kind == "bbands":
            self._inner = BollingerBands(decl["period"], decl["k"])
        elif kind == "atr":
            self._inner = AverageTrueRange(decl["period"])
        elif kind == "macd":
            self._inner = MovingAverageConvergenceDivergence(decl["fast_period"], decl["slow_period"])
            self._signal = ExponentialMovingAverage(decl["signal_period"])
        elif kind == "donchian":
            self._inner = DonchianChannel(decl["period"])
        elif kind == "roc":
            # Nautilus compares with the oldest of `period` prices (period - 1 bars back): one more reaches back period.
            self._inner = RateOfChange(decl["period"] + 1)
        elif kind == "stoch":
            self._inner = Stochastics(decl["k_period"], decl["d_period"])
        else:  # pragma: no cover - spec validation admits only INDICATORS
            raise ValueError(f"unknown indicator type {kind!r}")

    def update(self, bar: Bar) -> None:
        """Feed one bar."""
        self._inner.handle_bar(bar)
        if self._signal is not None and self._inner.initialized:
            self._signal.update_raw(self._inner.value)

    @property
    def initialized(self) -> bool:
        """Whether every output has seen enough bars."""
        return bool(self._inner.initialized and (self._signal is None or self._signal.initialized))

    def read(self) -> dict[str, float]:
        """Every output's current value, by output name."""
        inner = self._inner
        kind = self.type
        if kind in ("bbands", "donchian"):
            return {"upper": inner.upper, "middle": inner.middle, "lower": inner.lower}
        if kind == "macd":
            signal = self._signal.value if self._signal is not None else 0.0
            return {"value": inner.value, "signal": signal, "histogram": inner.value - signal}
        if kind == "stoch":
            return {"k": inner.value_k, "d": inner.value_d}
        if kind in ("rsi", "roc"):
            return {"value": inner.value * 100.0}  # Nautilus gives fractions; the spec speaks 0-100 and percent
        return {"value": inner.value}


def bar_values(bar: Bar) -> Values:
    """The bar fields a condition may read; IBS is None on a zero-range bar, where it is undefined."""
    high, low, close = bar.high.as_double(), bar.low.as_double(), bar.close.as_double()
    span = high - low
    return {
        "open": bar.open.as_double(),
        "high": high,
        "low": low,
        "close": close,
        "volume": bar.volume.as_double(),
        "ibs": (close - low) / span if span > 0 else None,
    }


Condition = Callable[[], bool]


class Evaluator:
    """Feeds a resolved spec's indicators bar by bar and evaluates its entry and exit conditions."""

    def __init__(self, resolved: Resolved) -> None:
        self.resolved = resolved
        self.indicators = {ident: Indicator(decl) for ident, decl in resolved.spec["indicators"].items()}
        self.history: deque[Values] = deque(maxlen=resolved.history)
        self.bars = 0
        self.entry = self._compile(resolved.spec["entry"])
        exit_rule = resolved.spec["exit"]
        self.exit: Condition | None = None if exit_rule is None else self._compile(exit_rule)

    def update(self, bar: Bar) -> Values:
        """Feed one bar to every indicator and remember its values; return them (bar fields and outputs)."""
        values = bar_values(bar)
        for ident, indicator in self.indicators.items():
            indicator.update(bar)
            for output, value in indicator.read().items():
                values[f"{ident}.{output}"] = value
        self.history.appendleft(values)
        self.bars += 1
        return values

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over: enough bars for every indicator and every bars-ago reference."""
        return self.bars >= self.resolved.warmup and all(i.initialized for i in self.indicators.values())

    def value(self, series: str, bars_ago: int) -> float | None:
        """A series' value bars_ago bars back, None when not yet seen or undefined."""
        if bars_ago >= len(self.history):
            return None
        return self.history[bars_ago].get(series)

    def _compile(self, cond: dict[str, Any]) -> Condition:
        if "all" in cond:
            parts = [self._compile(c) for c in cond["all"]]
            return lambda: all(part() for part in parts)
        if "any" in cond:
            parts = [self._compile(c) for c in cond["any"]]
            return lambda: any(part() for part in parts)
        indicators = self.resolved.spec["indicators"]
        op = cond["op"]
        left = self._reader(operand_of(cond["left"], indicators))
        if op == "between":
            low, high = (self._reader(operand_of(r, indicators)) for r in cond["right"])
            return lambda: _between(left(0), low(0), high(0))
        right = self._reader(operand_of(cond["right"], indicators))
        if op in CROSSES:
            above = op == "crosses_above"
            return lambda: _crossed(left(0), right(0), left(1), right(1), above)
        compare = _COMPARE[op]
        return lambda: _compared(compare, left(0), right(0))

    def _reader(self, operand: Any) -> Callable[[int], float | None]:
        """A function of 'extra bars back' reading the operand (constants ignore it)."""
        if operand.constant is not None:
            constant = operand.constant
            return lambda extra: constant
        series, ago = operand.series, operand.bars_ago
        return lambda extra: self.value(series, ago + extra)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _compared(compare: Callable[[float, float], bool], a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and compare(a, b)


def _between(value: float | None, low: float | None, high: float | None) -> bool:
    return value is not None and low is not None and high is not None and low <= value <= high


def _crossed(now_a: float | None, now_b: float | None, was_a: float | None, was_b: float | None, above: bool) -> bool:
    """A cross between the previous bar and this one: strictly past the other side now, not past it before."""
    if now_a is None or now_b is None or was_a is None or was_b is None:
        return False
    if above:
        return now_a > now_b and was_a <= was_b
    return now_a < now_b and was_a >= was_b
