"""Turn (strategy name, JSON params, instrument id, bar spec) into a validated, frozen StrategyConfig.

The one entry point for backtests, sweeps, tasks, the live runner and the web start panel. Every problem is a
StrategyParamsError whose message is one line naming the parameter, e.g.
`buy_threshold: must be between 0 and 1, got 1.5`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import msgspec
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import BarType
from nautilus_trader.trading.strategy import Strategy

from trading.ids import InvalidIdentifier, validate_bar_spec, validate_instrument_id
from trading.strategies.registry import UnknownStrategy, get_spec

# Fields that come from the command line / session, not from the params JSON.
_FIXED_FIELDS = {f.name for f in msgspec.structs.fields(StrategyConfig)} | {"instrument_id", "bar_type"}


class StrategyParamsError(ValueError):
    """A strategy, its parameters, instrument id or bar spec are invalid; the message is one line."""


@dataclass(frozen=True)
class ParamInfo:
    """One user-settable strategy parameter, for help texts and forms."""

    name: str
    type: str
    default: Any
    doc: str


def load_strategy(name: str) -> tuple[type[Strategy], type[StrategyConfig]]:
    """The Strategy subclass and its config class registered under `name`."""
    try:
        spec = get_spec(name)
    except UnknownStrategy as exc:
        raise StrategyParamsError(str(exc)) from None
    if spec.loader is not None:
        return spec.loader()
    module = importlib.import_module(spec.module)
    return getattr(module, spec.strategy_class), getattr(module, spec.config_class)


def user_fields(config_class: type[StrategyConfig]) -> list[msgspec.structs.FieldInfo]:
    """The config fields a caller may set: not Nautilus's own, not instrument/bars, not ones the strategy fixes."""
    fixed = _FIXED_FIELDS | getattr(config_class, "ATS_FIXED_FIELDS", frozenset())
    return [f for f in msgspec.structs.fields(config_class) if f.name not in fixed]


def bar_type_for(instrument_id: str, bar_spec: str) -> BarType:
    """The external bar type for an instrument and spec, e.g. QQQ.NASDAQ-1-DAY-LAST-EXTERNAL."""
    try:
        instrument_id = validate_instrument_id(instrument_id)
        bar_spec = validate_bar_spec(bar_spec)
    except InvalidIdentifier as exc:
        raise StrategyParamsError(str(exc)) from None
    try:
        return BarType.from_str(f"{instrument_id}-{bar_spec}-EXTERNAL")
    except ValueError:  # well-formed but not a valid Nautilus step, e.g. 7-MINUTE (steps must divide the hour)
        raise StrategyParamsError(
            f"invalid bar spec {bar_spec!r}: Nautilus does not accept that step for {bar_spec.split('-')[1]} bars"
        ) from None


def parse_params(params: dict | str | None) -> dict:
    """Params as a dict: a JSON object string, a dict, or None/empty for all defaults."""
    if params is None or (isinstance(params, str) and not params.strip()):
        return {}
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except json.JSONDecodeError as exc:
            raise StrategyParamsError(f"params: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise StrategyParamsError("params: nested too deeply; parameters are flat values") from None
    if not isinstance(params, dict):
        shown = repr(params)[:80] if isinstance(params, str | int | float | bool) else f"a {type(params).__name__}"
        raise StrategyParamsError(f'params: expected a JSON object like {{"buy_threshold": 0.15}}, got {shown}')
    for key, value in params.items():
        if isinstance(value, dict | list):
            raise StrategyParamsError(
                f"{str(key)[:40]}: expected a number, string or true/false, got a {type(value).__name__}"
            )
    return params


def strategy_params(name: str) -> list[ParamInfo]:
    """The user-settable parameters of a strategy with their types, defaults and documentation."""
    _, config_class = load_strategy(name)
    docs = _field_docs(config_class)
    return [
        ParamInfo(f.name, _type_name(msgspec.inspect.type_info(f.type)), f.default, docs.get(f.name, ""))
        for f in user_fields(config_class)
    ]


def build_config(
    name: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | str | None = None,
    *,
    order_id_tag: str | None = None,
) -> StrategyConfig:
    """Validate everything and return the strategy's frozen config; raise StrategyParamsError (one line)."""
    _, config_class = load_strategy(name)
    bar_type = bar_type_for(instrument_id, bar_spec)
    values = parse_params(params)
    fields = {f.name: f for f in user_fields(config_class)}
    for key in values:
        if key not in fields:
            raise StrategyParamsError(f"unknown parameter {key!r} (known: {', '.join(sorted(fields))})")
    checked = {
        key: _check_type(key, msgspec.inspect.type_info(fields[key].type), value) for key, value in values.items()
    }
    try:
        return config_class(
            instrument_id=bar_type.instrument_id,
            bar_type=bar_type,
            order_id_tag=order_id_tag,
            **checked,
        )
    except (ValueError, TypeError) as exc:
        raise StrategyParamsError(str(exc).splitlines()[0]) from None


def config_params(config: StrategyConfig) -> dict:
    """The user-settable parameters of a built config (defaults included), as JSON-ready values."""
    return {f.name: getattr(config, f.name) for f in user_fields(type(config))}


def canonical_params(name: str, instrument_id: str, bar_spec: str, params: dict | str | None) -> dict:
    """Every parameter of a validated config, defaults included: two spellings of one config compare equal."""
    return config_params(build_config(name, instrument_id, bar_spec, params))


def params_key(params: dict) -> str:
    """sha256 of canonical params (see canonical_params) as sorted, compact JSON: the ladder's params identity."""
    encoded = json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _check_type(key: str, info: msgspec.inspect.Type, value: Any) -> Any:
    if isinstance(info, msgspec.inspect.UnionType):
        if value is None and any(isinstance(t, msgspec.inspect.NoneType) for t in info.types):
            return None
        others = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(others) == 1:
            return _check_type(key, others[0], value)
        raise TypeError(f"{key}: unsupported parameter type")  # a programming error, not user input
    if isinstance(info, msgspec.inspect.BoolType):
        if isinstance(value, bool):
            return value
        raise StrategyParamsError(f"{key}: expected true or false, got {value!r}")
    if isinstance(info, msgspec.inspect.IntType):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise StrategyParamsError(f"{key}: expected a whole number, got {value!r}")
    if isinstance(info, msgspec.inspect.FloatType):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise StrategyParamsError(f"{key}: expected a number, got {value!r}")
    if isinstance(info, msgspec.inspect.StrType):
        if isinstance(value, str):
            return value
        raise StrategyParamsError(f"{key}: expected a string, got {value!r}")
    raise TypeError(f"{key}: unsupported parameter type {info!r}")


def _type_name(info: msgspec.inspect.Type) -> str:
    if isinstance(info, msgspec.inspect.UnionType):
        return " | ".join(_type_name(t) for t in info.types)
    return {
        msgspec.inspect.BoolType: "bool",
        msgspec.inspect.IntType: "int",
        msgspec.inspect.FloatType: "float",
        msgspec.inspect.StrType: "str",
        msgspec.inspect.NoneType: "null",
    }.get(type(info), type(info).__name__)


_PARAM_HEADER = re.compile(r"^(\w+) : .*$")


def _field_docs(config_class: type) -> dict[str, str]:
    """Field descriptions from the numpy-style 'Parameters' sections of the config class and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(config_class.__mro__):
        current = None
        for line in (klass.__doc__ or "").splitlines():
            stripped = line.strip()
            header = _PARAM_HEADER.match(stripped)
            if header and line.startswith("    ") and not line.startswith("        "):
                current = header.group(1)
                docs[current] = ""
            elif current and stripped and line.startswith("        "):
                docs[current] = f"{docs[current]} {stripped}".strip()
            elif not stripped:
                current = None
    return docs
