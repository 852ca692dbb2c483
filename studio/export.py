"""Export a Studio version as a readable, standalone NautilusTrader strategy module: how a trader graduates from a
spec to hand-written code.

The module imports nothing from the Studio (only trading.strategies.base and NautilusTrader): a frozen config with
the spec's parameters as documented fields, and a SleeveStrategy whose on_bar holds the spec's rules as plain code.
It trades exactly as studio.interpreter.StudioStrategy runs the same spec (tests/studio/test_export.py proves it on
the bundled data). The text is formatted as ``ruff format`` would format it.
"""

from __future__ import annotations

import textwrap
from typing import Any

from studio.export_code import block, call, camel, docstring, number, whole
from studio.export_rules import (
    CLASSES,
    Rules,
    describe,
    indicator_imports,
    param_checks,
    param_doc_lines,
    uses_ibs,
)
from studio.export_strategy import strategy_lines
from studio.spec import resolve, spec_hash

BASE_IMPORTS = {
    "nautilus_trader.model.data": {"Bar"},
    "nautilus_trader.model.enums": {"OrderSide"},
    "nautilus_trader.model.objects": {"Quantity"},
}
# Class names the module imports: a strategy named like one of them gets a Studio prefix.
TAKEN = {"SleeveConfig", "SleeveStrategy", "Bar", "OrderSide", "Quantity"} | {c for _, c in CLASSES.values()}
PERCENT_EQUITY_CHECKS = """\
        if self.percent_equity is not None:
            require(
                0 < self.percent_equity <= 100 and math.isfinite(self.percent_equity),
                "percent_equity",
                "must be above 0 and at most 100",
                self.percent_equity,
            )
            require(self.quantity is None, "quantity", "give quantity or percent_equity, not both", self.quantity)"""
PERCENT_EQUITY_DOC = (
    "Size each entry at this percent of the account's total balance, at the signal bar's close, rounded down to "
    "whole shares. Replaces notional; quantity, when set, replaces both."
)


def export_module(spec: dict[str, Any], *, name: str, version: int) -> str:
    """Python source of a standalone strategy module that trades this (canonical, validated) spec as the Studio does."""
    rules = Rules(spec=spec, resolved=resolve(spec, {}))
    base = camel(name)
    if base in TAKEN or f"{base}Config" in TAKEN:
        base = f"Studio{base}"
    lines = [
        *_module_doc(rules, name, version, base),
        "",
        *_imports(rules),
        "",
        f'SOURCE = "studio:{name}@{version}"',
        f'SPEC_SHA256 = "{spec_hash(spec)}"',
        *_functions(rules),
        "",
        "",
        *_config(rules, base),
        "",
        "",
        *strategy_lines(rules, base, f"studio:{name}@{version}"),
    ]
    return "\n".join(lines) + "\n"


def _module_doc(rules: Rules, name: str, version: int, base: str) -> list[str]:
    spec = rules.spec
    indicators = "; ".join(
        f"{ident} = {decl['type']}({', '.join(f'{k}={v}' for k, v in decl.items() if k != 'type')})"
        for ident, decl in spec["indicators"].items()
    )
    stops = ", ".join(f"{k} {v}" for k, v in spec["stops"].items() if v is not None) or "none"
    ((sizing, amount),) = spec["sizing"].items()
    facts = [
        f"instrument and bars: {spec['instrument_id']}, {spec['bar_spec']}; direction: {spec['direction']}",
        f"params: {', '.join(f'${k} = {v}' for k, v in spec['params'].items()) or 'none'}",
        f"indicators: {indicators or 'none'}",
        f"entry: {describe(spec['entry'])}",
        f"exit: {describe(spec['exit']) if spec['exit'] is not None else 'none (stops only)'}",
        f"stops: {stops}",
        f"sizing: {sizing} {amount}",
    ]
    return docstring(
        [
            f"{base}: the Studio strategy {name}, version {version}, as a hand-written NautilusTrader strategy.",
            f"Exported from studio:{name}@{version} (spec sha256 {spec_hash(spec)}). It needs nothing from the Studio "
            "and trades exactly as the Studio's interpreter runs that version: the same indicators, conditions, "
            "warm-up, stops and sizing. From here on it is ordinary code: edit it, test it, register it.",
            "The spec's rules:",
            _bulleted(facts),
        ],
        0,
    )


def _bulleted(facts: list[str]) -> list[str]:
    lines = []
    for fact in facts:
        lines.extend(
            textwrap.wrap(
                fact,
                120,
                initial_indent="- ",
                subsequent_indent="  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return lines


def _imports(rules: Rules) -> list[str]:
    modules: dict[str, set[str]] = {k: set(v) for k, v in BASE_IMPORTS.items()}
    for module, names in indicator_imports(rules).items():
        modules.setdefault(module, set()).update(names)
    return [
        "from __future__ import annotations",
        "",
        "import math",
        "from collections import deque",
        "",
        *(f"from {module} import {', '.join(sorted(modules[module]))}" for module in sorted(modules)),
        "",
        "from trading.strategies.base import SleeveConfig, SleeveStrategy, require",
    ]


def _functions(rules: Rules) -> list[str]:
    lines: list[str] = []
    if uses_ibs(rules):
        lines += [
            "",
            "",
            "def internal_bar_strength(bar: Bar) -> float:",
            *docstring(
                [
                    "IBS = (close - low) / (high - low); NaN on a zero-range bar, where it is undefined, so that every "
                    "comparison with it is False (the Studio's rule for an undefined IBS)."
                ],
                4,
            ),
            "    high, low, close = bar.high.as_double(), bar.low.as_double(), bar.close.as_double()",
            "    span = high - low",
            "    return (close - low) / span if span > 0 else math.nan",
        ]
    stops = rules.spec["stops"]
    if any(stops[k] is not None for k in ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct")):
        move = "(reference - close)" if rules.short else "(close - reference)"
        side = "short" if rules.short else "long"
        lines += [
            "",
            "",
            "def move_pct(close: float, reference: float | None) -> float | None:",
            f'    """The close\'s move from a reference price in percent, positive in a {side} position\'s favour."""',
            "    if not reference:",
            "        return None",
            f"    return {move} / reference * 100",
        ]
    return lines


def _config(rules: Rules, base: str) -> list[str]:
    spec = rules.spec
    ((sizing, amount),) = spec["sizing"].items()
    docs = param_doc_lines(rules)
    fields = [f"{k}: {rules.kinds[k].__name__} = {_literal(v, rules.kinds[k])}" for k, v in spec["params"].items()]
    if sizing == "notional":
        docs += [f"notional : float, default {number(amount)}", "    Cash committed per entry: the spec's sizing."]
        fields.append(f"notional: float = {number(amount)}")
    elif sizing == "quantity":
        docs += [f"quantity : int, default {whole(amount)}", "    Shares per entry: the spec's sizing."]
        fields.append(f"quantity: int | None = {whole(amount)}")
    pct = number(amount) if sizing == "percent_equity" else None
    docs.append(f"percent_equity : float, {'optional' if pct is None else f'default {pct}'}")
    docs += [
        line[4:]
        for line in textwrap.wrap(PERCENT_EQUITY_DOC, 112, initial_indent="        ", subsequent_indent="        ")
    ]
    fields.append(f"percent_equity: float | None = {pct}")
    if rules.short:
        docs += ["allow_short : bool, default True", "    Must stay True: this strategy sells short."]
        fields.append("allow_short: bool = True")
    doc = docstring(
        [
            f"Configuration for {base} (see SleeveConfig for instrument, bars, sizing and stop behaviour).",
            ["Parameters", "----------", *docs],
        ],
        4,
    )
    checks = list(param_checks(rules))
    if rules.short:
        checks.append(("self.allow_short", "allow_short", "must be True: this strategy sells short"))
    post = ["    def __post_init__(self) -> None:", "        super().__post_init__()"]
    for cond, field_, rule in checks:
        post += call("require", [cond, f'"{field_}"', f'"{rule}"', f"self.{field_}"], 8)
    post += PERCENT_EQUITY_CHECKS.splitlines()
    return [f"class {base}Config(SleeveConfig, kw_only=True, frozen=True):", *doc, "", *block(fields, 4), "", *post]


def _literal(value: float | int, kind: type) -> str:
    return whole(value) if kind is int else number(value)
