"""The Studio's declarative strategy spec (schema 1): validation with one-line errors naming the path, the canonical
form that is hashed, and resolution of named parameters into the concrete rules the interpreter runs.

A spec is JSON. Its parts (the README's "Strategy Studio" section has an example):

- ``instrument_id``, ``bar_spec``: what it trades and on which bars.
- ``direction``: ``long`` (default) or ``short``; short is the explicit flag the pre-trade risk rules see.
- ``params``: named numbers (``{"oversold": 10}``), used anywhere a number goes as ``"$oversold"``; they are the
  strategy's parameters (sweeps, the gauntlet's grid and approvals see them like any strategy's).
- ``indicators``: ``{"rsi": {"type": "rsi", "period": 2}}``; the types are NautilusTrader's indicators (INDICATORS).
- ``entry`` and optional ``exit``: conditions. A condition is ``{"all": [...]}``, ``{"any": [...]}`` or a
  comparison ``{"left": A, "op": OP, "right": B}`` with OP one of ``>``, ``<``, ``>=``, ``<=``,
  ``crosses_above``, ``crosses_below``, or ``between`` (then ``right`` is ``[low, high]``). An operand is a number,
  a ``$param``, a bar field (open, high, low, close, volume, ibs), an indicator id, an indicator output
  (``bb.lower``), any of those N bars ago (``close[1]``, ``bb.lower[2]``).
- ``stops``: ``stop_loss_pct``, ``take_profit_pct``, ``trailing_stop_pct`` (percent, checked on each bar's close
  against the position's average entry price, or the best close since entry for the trailing stop) and
  ``max_bars_held`` (bar closes in the position); each optional. Exits are MARKET orders.
- ``sizing``: exactly one of ``{"notional": USD}``, ``{"quantity": shares}``, ``{"percent_equity": pct}``.

Nothing here imports Django or Nautilus: a spec is checked the same way in the web process, a worker and a node.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trading.ids import InvalidIdentifier, validate_bar_spec, validate_instrument_id

SCHEMA_VERSION = 1
BAR_FIELDS = ("open", "high", "low", "close", "volume", "ibs")
COMPARISONS = (">", "<", ">=", "<=")
CROSSES = ("crosses_above", "crosses_below")
OPERATORS = (*COMPARISONS, *CROSSES, "between")
DIRECTIONS = ("long", "short")
SIZINGS = ("notional", "quantity", "percent_equity")
STOPS = ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct", "max_bars_held")
MAX_BARS_AGO = 100
MAX_NESTING = 8
MAX_CONDITIONS = 64
MAX_INDICATORS = 32
MAX_PERIOD = 5000
MAX_QUANTITY = 10_000_000  # shares per entry; the pre-trade risk caps bound what an order may be worth
MAX_SPEC_CHARS = 64_000
# Parameter names become config fields: they may not shadow the sleeve's own.
RESERVED_PARAMS = frozenset(
    {"instrument_id", "bar_type", "notional", "quantity", "percent_equity", "close_positions_on_stop", "allow_short"}
    | {"spec", "strategy_id", "order_id_tag", "oms_type", "external_order_claims", "manage_contingent_orders"}
    | {"manage_gtd_expiry", "use_uuid_client_order_ids", "use_hyphens_in_client_order_ids", "log_events"}
    | {"log_commands", "log_rejected_due_post_only_as_warning", "manage_stop", "market_exit_interval_ms"}
    | {"market_exit_max_attempts", "market_exit_time_in_force", "market_exit_reduce_only"}
    # ... nor the config's methods (a parameter named json would replace config.json()).
    | {"dict", "json", "json_primitives", "json_schema", "parse", "validate", "id", "fully_qualified_name"}
    | {"param_values", "rules"}
)
TOP_LEVEL = ("schema", "instrument_id", "bar_spec", "direction", "params", "indicators", "entry", "exit")
TOP_LEVEL_ALL = (*TOP_LEVEL, "stops", "sizing")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_OPERAND = re.compile(r"^(?P<name>[a-z][a-z0-9_]{0,39})(?:\.(?P<output>[a-z_]+))?(?:\[(?P<ago>\d{1,3})\])?$")


class SpecError(ValueError):
    """A spec is invalid; str() is one line, '<path>: <problem>'."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass(frozen=True)
class Arg:
    """One argument of an indicator: whole number or number, its default and lower bound."""

    name: str
    whole: bool
    default: float | int | None
    minimum: float
    doc: str


@dataclass(frozen=True)
class IndicatorKind:
    """An indicator type the spec offers: its arguments, outputs (the first is the default) and warm-up bars."""

    type: str
    title: str
    args: tuple[Arg, ...]
    outputs: tuple[str, ...]
    warmup: Callable[[dict[str, Any]], int]
    check: Callable[[dict[str, Any]], str | None] = lambda args: None
    doc: str = ""


def _period(doc: str = "bars in the window", default: int | None = None) -> Arg:
    return Arg("period", True, default, 1, doc)


INDICATORS: dict[str, IndicatorKind] = {
    kind.type: kind
    for kind in (
        IndicatorKind("sma", "Simple moving average", (_period(),), ("value",), lambda a: a["period"]),
        IndicatorKind("ema", "Exponential moving average", (_period(),), ("value",), lambda a: a["period"]),
        IndicatorKind(
            "rsi",
            "Relative strength index (0-100)",
            (_period(),),
            ("value",),
            lambda a: a["period"] + 1,
            doc="Nautilus's RSI (exponential averages of gains and losses), scaled to 0-100.",
        ),
        IndicatorKind(
            "bbands",
            "Bollinger Bands",
            (_period(default=20), Arg("k", False, 2.0, 0.0, "standard deviations from the middle band")),
            ("upper", "middle", "lower"),
            lambda a: a["period"],
            check=lambda a: None if a["k"] > 0 else "k: must be greater than 0",
            doc="On the typical price (high + low + close) / 3, as Nautilus computes them.",
        ),
        IndicatorKind(
            "atr",
            "Average true range",
            (_period(default=14),),
            ("value",),
            lambda a: a["period"] + 1,
            doc="Simple average of the true range.",
        ),
        IndicatorKind(
            "macd",
            "Moving average convergence divergence",
            (
                Arg("fast_period", True, 12, 1, "bars in the fast EMA"),
                Arg("slow_period", True, 26, 1, "bars in the slow EMA"),
                Arg("signal_period", True, 9, 1, "bars in the EMA of the MACD line"),
            ),
            ("value", "signal", "histogram"),
            lambda a: a["slow_period"] + a["signal_period"],
            check=lambda a: (
                None if a["fast_period"] < a["slow_period"] else "slow_period: must be greater than fast_period"
            ),
            doc="value: EMA(fast) - EMA(slow); signal: EMA(signal_period) of value; histogram: value - signal.",
        ),
        IndicatorKind(
            "donchian",
            "Donchian channel",
            (_period(default=20),),
            ("upper", "middle", "lower"),
            lambda a: a["period"],
            doc="Highest high and lowest low of the window including this bar: compare a close with upper[1].",
        ),
        IndicatorKind(
            "roc",
            "Rate of change (%)",
            (_period("bars back to compare with", 10),),
            ("value",),
            lambda a: a["period"] + 1,
            doc="Percent change of the close over period bars.",
        ),
        IndicatorKind(
            "stoch",
            "Stochastics (0-100)",
            (Arg("k_period", True, 14, 1, "bars in %K's high-low window"), Arg("d_period", True, 3, 1, "bars in %D")),
            ("k", "d"),
            lambda a: a["k_period"] + a["d_period"],
            doc="%K: the close within the window's range; %D: sum(close - low) / sum(high - low) over d_period bars.",
        ),
    )
}


@dataclass(frozen=True)
class Operand:
    """A parsed operand: a constant, or a series (bar field or indicator output) some bars ago."""

    constant: float | None = None
    series: str = ""  # "close", "rsi.value", "bbands.lower"
    bars_ago: int = 0


@dataclass
class Resolved:
    """A spec with parameters substituted and every rule checked: what the interpreter and the exporter run."""

    spec: dict[str, Any]  # canonical form, numbers in place of $params
    series: list[str] = field(default_factory=list)  # every series a condition reads, sorted
    max_bars_ago: int = 0
    has_crosses: bool = False
    warmup: int = 1  # bars before the first decision

    @property
    def history(self) -> int:
        """Values kept per series: now, the deepest bars-ago reference, and one more before it for a cross."""
        return self.max_bars_ago + 1 + (1 if self.has_crosses else 0)


# -- validation ----------------------------------------------------------------------------------------------------


def load(text: str) -> dict[str, Any]:
    """Parse spec JSON text and validate it; SpecError (one line) on any problem."""
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError("", f"a spec is at most {MAX_SPEC_CHARS} characters, got {len(text)}")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError("", f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise SpecError("", "nested too deeply") from None
    return validate(raw)


def validate(raw: Any) -> dict[str, Any]:
    """Check a spec and return its canonical form (defaults filled, $params kept); SpecError naming the path."""
    if not isinstance(raw, dict):
        raise SpecError("", f"a spec is a JSON object, got {_kind(raw)}")
    unknown = sorted(set(raw) - set(TOP_LEVEL_ALL))
    if unknown:
        raise SpecError(unknown[0], f"unknown key (known: {', '.join(TOP_LEVEL_ALL)})")
    schema = raw.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        raise SpecError("schema", f"unsupported schema version {schema!r}; this ATS reads schema {SCHEMA_VERSION}")
    spec: dict[str, Any] = {"schema": SCHEMA_VERSION}
    spec["instrument_id"] = _identifier("instrument_id", raw.get("instrument_id"), validate_instrument_id)
    spec["bar_spec"] = _identifier("bar_spec", raw.get("bar_spec"), validate_bar_spec)
    direction = raw.get("direction", "long")
    if direction not in DIRECTIONS:
        raise SpecError("direction", f"expected 'long' or 'short', got {direction!r}")
    spec["direction"] = direction
    spec["params"] = _params(raw.get("params", {}))
    spec["indicators"] = _indicators(raw.get("indicators", {}), spec["params"])
    known = _series_names(spec["indicators"])
    counter = [0]
    if "entry" not in raw:
        raise SpecError("entry", "required: the condition that opens a position")
    spec["entry"] = _condition("entry", raw["entry"], known, spec["params"], 0, counter)
    exit_rule = raw.get("exit")
    spec["exit"] = None if exit_rule is None else _condition("exit", exit_rule, known, spec["params"], 0, counter)
    spec["stops"] = _stops(raw.get("stops", {}), spec["params"])
    if spec["exit"] is None and all(value is None for value in spec["stops"].values()):
        raise SpecError("exit", "a position needs a way out: an exit condition, a stop or max_bars_held")
    spec["sizing"] = _sizing(raw.get("sizing", {"notional": 10_000.0}), spec["params"])
    resolve(spec, {})  # ranges and cross-argument rules hold for the default parameter values
    return spec


def canonical_json(spec: dict[str, Any]) -> str:
    """The canonical text of a validated spec: sorted keys, compact; what is hashed and stored."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)


def spec_hash(spec: dict[str, Any]) -> str:
    """sha256 of the canonical text."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"a string {value[:40]!r}"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", int: "a number", float: "a number"}.get(type(value), "something else")


def _identifier(path: str, value: Any, check: Callable[[str], str]) -> str:
    if not isinstance(value, str):
        raise SpecError(path, f"required, a string, got {_kind(value)}")
    try:
        return check(value)
    except InvalidIdentifier as exc:
        raise SpecError(path, str(exc)) from None


def _number(path: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(path, f"expected a number, got {_kind(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer no float can hold
        finite = False
    if not finite:
        shown = repr(value) if isinstance(value, float) else f"an integer of {len(str(abs(value)))} digits"
        raise SpecError(path, f"expected a finite number, got {shown}")
    return value


def _params(raw: Any) -> dict[str, float | int]:
    if not isinstance(raw, dict):
        raise SpecError("params", f"expected an object of named numbers, got {_kind(raw)}")
    params = {}
    for name, value in raw.items():
        if not _ID.match(str(name)):
            raise SpecError(f"params.{str(name)[:40]}", "a name is lowercase letters, digits and _")
        if name in RESERVED_PARAMS:
            raise SpecError(f"params.{name}", "reserved: the sleeve's own setting has this name")
        params[name] = _number(f"params.{name}", value)
    return params


def _value(path: str, value: Any, params: dict[str, Any]) -> float | int | str:
    """A number or a $param reference (kept as written in the canonical form)."""
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in params:
            known = ", ".join(f"${p}" for p in sorted(params)) or "none declared"
            raise SpecError(path, f"unknown parameter {value!r} (params: {known})")
        return value
    return _number(path, value)


def _indicators(raw: Any, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise SpecError("indicators", f"expected an object of named indicators, got {_kind(raw)}")
    if len(raw) > MAX_INDICATORS:
        raise SpecError("indicators", f"at most {MAX_INDICATORS} indicators")
    indicators = {}
    for ident, decl in raw.items():
        path = f"indicators.{str(ident)[:40]}"
        if not _ID.match(str(ident)):
            raise SpecError(path, "an indicator id is lowercase letters, digits and _")
        if ident in BAR_FIELDS:
            raise SpecError(path, f"{ident!r} is a bar field; name the indicator otherwise")
        if not isinstance(decl, dict):
            raise SpecError(path, f'expected an object like {{"type": "sma", "period": 20}}, got {_kind(decl)}')
        kind = INDICATORS.get(decl.get("type"))  # type: ignore[arg-type]
        if kind is None:
            raise SpecError(
                f"{path}.type", f"unknown indicator type {decl.get('type')!r} (known: {', '.join(INDICATORS)})"
            )
        names = {arg.name for arg in kind.args}
        extra = sorted(set(decl) - names - {"type"})
        if extra:
            raise SpecError(
                f"{path}.{extra[0]}", f"unknown argument of {kind.type} (arguments: {', '.join(sorted(names))})"
            )
        entry: dict[str, Any] = {"type": kind.type}
        for arg in kind.args:
            if arg.name not in decl:
                if arg.default is None:
                    raise SpecError(f"{path}.{arg.name}", f"required ({arg.doc})")
                entry[arg.name] = arg.default
            else:
                entry[arg.name] = _value(f"{path}.{arg.name}", decl[arg.name], params)
        indicators[ident] = entry
    return indicators


def _series_names(indicators: dict[str, dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Operand names a condition may use: bar fields (no outputs) and indicator ids with their outputs."""
    known: dict[str, tuple[str, ...]] = {name: () for name in BAR_FIELDS}
    for ident, decl in indicators.items():
        known[ident] = INDICATORS[decl["type"]].outputs
    return known


def parse_operand(text: str) -> tuple[str, str | None, int]:
    """Split 'name.output[k]' into its parts; ValueError when it does not have that shape."""
    match = _OPERAND.match(text)
    if match is None:
        raise ValueError(text)
    return match["name"], match["output"], int(match["ago"] or 0)


def _operand(path: str, value: Any, known: dict[str, tuple[str, ...]], params: dict[str, Any]) -> Any:
    if not isinstance(value, str) or value.startswith("$"):
        return _value(path, value, params)
    try:
        name, output, ago = parse_operand(value)
    except ValueError:
        raise SpecError(
            path, f"not an operand: {value[:40]!r} (e.g. close, rsi, bbands.lower, close[1], $param)"
        ) from None
    if name not in known:
        indicators = ", ".join(n for n in known if n not in BAR_FIELDS) or "none declared"
        raise SpecError(
            path, f"unknown indicator {name!r} (bar fields: {', '.join(BAR_FIELDS)}; indicators: {indicators})"
        )
    outputs = known[name]
    if output is not None and output not in outputs:
        choices = ", ".join(outputs) if outputs else "none, it is a bar field"
        raise SpecError(path, f"{name} has no output {output!r} (outputs: {choices})")
    if output is None and len(outputs) > 1:
        raise SpecError(path, f"{name} has several outputs: say which ({', '.join(f'{name}.{o}' for o in outputs)})")
    if ago > MAX_BARS_AGO:
        raise SpecError(path, f"at most {MAX_BARS_AGO} bars ago, got {ago}")
    text = name if output is None or len(outputs) == 1 else f"{name}.{output}"
    return f"{text}[{ago}]" if ago else text


def _condition(
    path: str, raw: Any, known: dict[str, tuple[str, ...]], params: dict[str, Any], depth: int, counter: list[int]
) -> dict[str, Any]:
    if depth > MAX_NESTING:
        raise SpecError(path, f"nested more than {MAX_NESTING} levels")
    if not isinstance(raw, dict):
        raise SpecError(
            path, f'expected a condition like {{"left": "close", "op": ">", "right": "sma"}}, got {_kind(raw)}'
        )
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise SpecError(path, f"more than {MAX_CONDITIONS} conditions in one spec")
    groups = [key for key in ("all", "any") if key in raw]
    if groups:
        key = groups[0]
        if len(raw) != 1:
            raise SpecError(path, f"a group holds only {key!r}, got also {sorted(set(raw) - {key})[0]!r}")
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise SpecError(f"{path}.{key}", "expected a non-empty list of conditions")
        return {
            key: [
                _condition(f"{path}.{key}[{i}]", item, known, params, depth + 1, counter)
                for i, item in enumerate(items)
            ]
        }
    extra = sorted(set(raw) - {"left", "op", "right"})
    if extra:
        raise SpecError(f"{path}.{extra[0]}", "unknown key (a condition has left, op, right; a group all or any)")
    op = raw.get("op")
    if op not in OPERATORS:
        raise SpecError(f"{path}.op", f"unknown operator {op!r} (operators: {', '.join(OPERATORS)})")
    for side in ("left", "right"):
        if side not in raw:
            raise SpecError(f"{path}.{side}", "required")
    left = _operand(f"{path}.left", raw["left"], known, params)
    if op == "between":
        bounds = raw["right"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise SpecError(f"{path}.right", f"between takes [low, high], got {_kind(bounds)}")
        right: Any = [_operand(f"{path}.right[{i}]", b, known, params) for i, b in enumerate(bounds)]
    else:
        right = _operand(f"{path}.right", raw["right"], known, params)
    return {"left": left, "op": op, "right": right}


def _stops(raw: Any, params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError("stops", f"expected an object, got {_kind(raw)}")
    extra = sorted(set(raw) - set(STOPS))
    if extra:
        raise SpecError(f"stops.{extra[0]}", f"unknown stop (stops: {', '.join(STOPS)})")
    return {name: None if raw.get(name) is None else _value(f"stops.{name}", raw[name], params) for name in STOPS}


def _sizing(raw: Any, params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in SIZINGS:
        raise SpecError("sizing", f'exactly one of {", ".join(SIZINGS)}, e.g. {{"notional": 10000}}')
    # Sizing is the sleeve's own notional / quantity / percent_equity setting (a parameter already): no $params.
    ((name, value),) = raw.items()
    return {name: _number(f"sizing.{name}", value)}


# -- resolution ----------------------------------------------------------------------------------------------------


def resolve(spec: dict[str, Any], values: dict[str, Any]) -> Resolved:
    """Substitute parameter values (defaults from the spec for any not given) and check every range; SpecError."""
    params = {**spec["params"], **values}

    def number(path: str, value: Any) -> float | int:
        if isinstance(value, str) and value.startswith("$"):
            return _number(path, params[value[1:]])
        return _number(path, value)

    def whole(path: str, value: Any, minimum: float, origin: Any, maximum: int = MAX_PERIOD) -> int:
        shown = f"{value!r} (from {origin})" if isinstance(origin, str) else repr(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or value < minimum or value > maximum:
            raise SpecError(path, f"must be a whole number from {int(minimum)} to {maximum}, got {shown}")
        return value

    out = json.loads(canonical_json(spec))
    warmup = 1
    for ident, decl in out["indicators"].items():
        kind = INDICATORS[decl["type"]]
        for arg in kind.args:
            path = f"indicators.{ident}.{arg.name}"
            origin = decl[arg.name]
            value = number(path, origin)
            if arg.whole:
                decl[arg.name] = whole(path, value, arg.minimum, origin)
            elif not value > arg.minimum:
                raise SpecError(path, f"must be greater than {arg.minimum:g}, got {value!r}")
            else:
                decl[arg.name] = float(value)
        problem = kind.check(decl)
        if problem:
            raise SpecError(f"indicators.{ident}.{problem.split(':')[0]}", problem.split(": ", 1)[1])
        warmup = max(warmup, kind.warmup(decl))
    resolved = Resolved(spec=out)
    for key in ("entry", "exit"):
        if out[key] is not None:
            out[key] = _resolve_condition(key, out[key], number, resolved)
    for name, value in out["stops"].items():
        if value is None:
            continue
        path = f"stops.{name}"
        value = number(path, value)
        if name == "max_bars_held":
            out["stops"][name] = whole(path, value, 1, spec["stops"][name])
        elif name == "take_profit_pct" and not value > 0:
            raise SpecError(path, f"must be greater than 0 (percent), got {value!r}")
        elif name != "take_profit_pct" and not 0 < value < 100:
            raise SpecError(path, f"must be between 0 and 100 (percent), got {value!r}")
        else:
            out["stops"][name] = float(value)
    ((name, value),) = out["sizing"].items()
    if name == "quantity":
        out["sizing"][name] = whole("sizing.quantity", value, 1, spec["sizing"][name], MAX_QUANTITY)
    elif name == "percent_equity" and not 0 < value <= 100:
        raise SpecError("sizing.percent_equity", f"must be above 0 and at most 100, got {value!r}")
    elif not value > 0:
        raise SpecError(f"sizing.{name}", f"must be a positive amount, got {value!r}")
    else:
        out["sizing"][name] = float(value)
    resolved.series = sorted(set(resolved.series))
    resolved.warmup = warmup + resolved.max_bars_ago + (1 if resolved.has_crosses else 0)
    return resolved


def _resolve_condition(
    path: str, cond: dict[str, Any], number: Callable[[str, Any], float | int], resolved: Resolved
) -> dict[str, Any]:
    for key in ("all", "any"):
        if key in cond:
            return {
                key: [_resolve_condition(f"{path}.{key}[{i}]", c, number, resolved) for i, c in enumerate(cond[key])]
            }
    if cond["op"] in CROSSES:
        resolved.has_crosses = True

    def operand(where: str, value: Any) -> Any:
        if isinstance(value, str) and not value.startswith("$"):
            name, output, ago = parse_operand(value)
            resolved.series.append(series_key(name, output, resolved.spec["indicators"]))
            resolved.max_bars_ago = max(resolved.max_bars_ago, ago)
            return value
        return number(where, value)

    right = cond["right"]
    if cond["op"] == "between":
        right = [operand(f"{path}.right[{i}]", r) for i, r in enumerate(right)]
    else:
        right = operand(f"{path}.right", right)
    return {"left": operand(f"{path}.left", cond["left"]), "op": cond["op"], "right": right}


def series_key(name: str, output: str | None, indicators: dict[str, dict[str, Any]]) -> str:
    """The series an operand reads: a bar field, or 'indicator.output' (the default output when none is named)."""
    if name in BAR_FIELDS:
        return name
    return f"{name}.{output or INDICATORS[indicators[name]['type']].outputs[0]}"


def operand_of(value: Any, indicators: dict[str, dict[str, Any]]) -> Operand:
    """A resolved operand (number or series text) as an Operand."""
    if not isinstance(value, str):
        return Operand(constant=float(value))
    name, output, ago = parse_operand(value)
    return Operand(series=series_key(name, output, indicators), bars_ago=ago)
