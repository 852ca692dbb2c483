"""The strategy class of the Studio's Python export: StudioStrategy's lifecycle (studio.interpreter) written out for
one spec, direction, stops and sizing fixed, with the rules from studio.export_rules."""

from __future__ import annotations

import textwrap
from typing import Any

from studio.export_code import block, call, docstring, number, returned_chain, whole
from studio.export_rules import (
    Rules,
    condition_methods,
    indicator_attr,
    indicator_lines,
    signal_attr,
    value_lines,
    warmup_lines,
)

ENTRY_QUANTITY = '''\
def entry_quantity(self, bar: Bar) -> Quantity | None:
    """Shares for an entry: the fixed quantity, percent of the account's balance, or notional, at the close."""
    config = self.config
    if config.quantity is None and config.percent_equity is not None:
        account = self.portfolio.account(config.instrument_id.venue)
        close = bar.close.as_double()
        if account is None or close <= 0 or self.instrument is None:
            return None
        balance = account.balance_total(self.instrument.quote_currency)
        equity = balance.as_double() if balance is not None else 0.0
        shares = math.floor(equity * config.percent_equity / 100 / close)
        return self.instrument.make_qty(shares) if shares >= 1 else None
    return super().entry_quantity(bar)'''


def strategy_lines(rules: Rules, base: str, source: str) -> list[str]:
    """The strategy class, at module level."""
    stops = rules.spec["stops"]
    price_stops = [k for k in ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct") if stops[k] is not None]
    names = {"stop_loss_pct": "stop-loss", "take_profit_pct": "take-profit", "trailing_stop_pct": "trailing stop"}
    exits = [names.get(k, "max bars held") for k in stops if stops[k] is not None]
    if rules.spec["exit"] is not None:
        exits.append("the exit condition")
    verb = "sell short" if rules.short else "buy"
    doc = docstring(
        [
            f"The Studio strategy {source} ({rules.spec['direction']}) as hand-written code.",
            "On each bar close, once warmed up and with no order of its own in flight: in a position, exit with a "
            f"reduce-only MARKET order on the first of: {', '.join(exits)}; flat, {verb} with a MARKET order when the "
            "entry condition holds.",
        ],
        4,
    )
    # The helpers here write methods at indent 0 (shifted into the class below); value_lines and
    # condition_methods write them in place, at the class body's indent.
    methods = [
        block(_init(rules, base), 4),
        block(_on_start(rules), 4),
        block(_on_bar(rules, bool(price_stops)), 4),
        value_lines(rules),
        block(_warmed_up(rules), 4),
        condition_methods(rules, "entry"),
        condition_methods(rules, "exit") if rules.spec["exit"] is not None else [],
        block(_exit_reason(rules, price_stops), 4),
        block(_enter(rules), 4),
        block(ENTRY_QUANTITY.splitlines(), 4),
        block(_on_reset(rules), 4),
    ]
    lines = [f"class {base}(SleeveStrategy):", *doc]
    for method in methods:
        if method:
            lines += ["", *method]
    return lines


def _init(rules: Rules, base: str) -> list[str]:
    stops = rules.spec["stops"]
    extra = rules.resolved.max_bars_ago
    note = "# Bars before the first decision: the longest indicator warm-up"
    if extra:
        note += f", plus {extra} for the deepest bars-ago reference"
    if rules.resolved.has_crosses:
        note += ", plus 1 for a cross (it compares with the bar before)"
    lines = [f"def __init__(self, config: {base}Config) -> None:", "    super().__init__(config)"]
    lines += [line[4:] for line in indicator_lines(rules)]
    lines += [f"    {line}" for line in _comment(note + ".")]
    lines += [line[4:] for line in warmup_lines(rules)]
    lines.append("    # The values the conditions read, newest first: history[k] holds those of k bars ago.")
    lines.append(f"    self.history: deque[dict[str, float]] = deque(maxlen={rules.resolved.history})")
    lines.append("    self.bars_seen = 0")
    if stops["max_bars_held"] is not None:
        lines.append("    self.bars_held = 0  # bar closes in the open position")
    if stops["trailing_stop_pct"] is not None:
        lines.append("    self.best_close: float | None = None  # the position's best close so far")
    lines.append('    self.last_exit_reason = ""')
    return lines


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 110, subsequent_indent="# ")


def _on_start(rules: Rules) -> list[str]:
    if not rules.spec["indicators"]:
        return []
    lines = [
        "def on_start(self) -> None:",
        '    """Register the indicators, so that Nautilus updates them with each bar before on_bar; subscribe."""',
    ]
    for ident in rules.spec["indicators"]:
        args = ["self.config.bar_type", f"self.{indicator_attr(ident)}"]
        lines += [line[4:] for line in call("self.register_indicator_for_bars", args, 8)]
    lines.append("    super().on_start()")
    return lines


def _on_bar(rules: Rules, needs_close: bool) -> list[str]:
    stops = rules.spec["stops"]
    trailing = stops["trailing_stop_pct"] is not None
    lines = [
        "def on_bar(self, bar: Bar) -> None:",
        '    """Record the bar\'s values, then apply the exits or the entry to the bar that just closed."""',
    ]
    for ident, decl in rules.spec["indicators"].items():
        if decl["type"] == "macd":
            inner, signal = indicator_attr(ident), signal_attr(ident)
            lines.append(f"    if self.{inner}.initialized:")
            lines += [line[4:] for line in call(f"self.{signal}.update_raw", [f"self.{inner}.value"], 12)]
    lines += ["    self.history.appendleft(self.values(bar))", "    self.bars_seen += 1"]
    if needs_close:
        lines.append("    close = bar.close.as_double()")
    lines.append("    in_position = self.is_long()  # an open position of this strategy (a short one too)")
    if stops["max_bars_held"] is not None:
        lines.append("    self.bars_held = self.bars_held + 1 if in_position else 0")
    if trailing:
        better = "<" if rules.short else ">"
        lines += [
            "    if not in_position:",
            "        self.best_close = None",
            f"    elif self.best_close is None or close {better} self.best_close:",
            "        self.best_close = close",
        ]
    lines += [
        "    if not self.warmed_up() or self.has_working_orders():",
        "        return",
        "    if in_position:",
        f"        reason = self.exit_reason({'close' if needs_close else ''})",
        "        if reason:",
        "            self.last_exit_reason = reason",
        "            self.exit()",
        "    elif self.entry_signal():",
        "        self.enter(bar)",
    ]
    return lines


def _warmed_up(rules: Rules) -> list[str]:
    terms: list[Any] = ["self.bars_seen >= self.warmup"]
    if rules.spec["indicators"]:
        terms.append("self.indicators_initialized()")
    terms += [f"self.{signal_attr(i)}.initialized" for i, d in rules.spec["indicators"].items() if d["type"] == "macd"]
    return [
        "def warmed_up(self) -> bool:",
        '    """Whether the warm-up is over: enough bars for every bars-ago reference, every indicator initialized."""',
        *(line[4:] for line in returned_chain(terms, "and", 8)),
    ]


def _stop_value(value: Any, is_whole: bool) -> str:
    if isinstance(value, str):
        return f"self.config.{value[1:]}"
    return whole(value) if is_whole else number(value)


def _exit_reason(rules: Rules, price_stops: list[str]) -> list[str]:
    stops = rules.spec["stops"]
    signature = "self, close: float" if price_stops else "self"
    lines = [
        f"def exit_reason({signature}) -> str:",
        '    """Why the open position should close on this bar, or \'\' to hold it: the first reason that applies."""',
    ]
    if stops["stop_loss_pct"] is not None or stops["take_profit_pct"] is not None:
        lines.append("    from_entry = move_pct(close, self.entry_price())")
    if stops["trailing_stop_pct"] is not None:
        lines.append("    from_best = move_pct(close, self.best_close)")
    checks = (
        ("stop_loss_pct", "from_entry is not None and from_entry <= -{}", "stop_loss"),
        ("take_profit_pct", "from_entry is not None and from_entry >= {}", "take_profit"),
        ("trailing_stop_pct", "from_best is not None and from_best <= -{}", "trailing_stop"),
        ("max_bars_held", "self.bars_held >= {}", "max_bars_held"),
    )
    for stop, test, reason in checks:
        if stops[stop] is not None:
            lines += [
                f"    if {test.format(_stop_value(stops[stop], stop == 'max_bars_held'))}:",
                f'        return "{reason}"',
            ]
    if rules.spec["exit"] is not None:
        lines += ["    if self.exit_signal():", '        return "exit_condition"']
    lines.append('    return ""')
    if stops["stop_loss_pct"] is not None or stops["take_profit_pct"] is not None:
        lines += [
            "",
            "def entry_price(self) -> float | None:",
            '    """The open position\'s average entry price."""',
            "    positions = self.cache.positions_open(instrument_id=self.config.instrument_id, strategy_id=self.id)",
            "    return positions[0].avg_px_open if positions else None",
        ]
    return lines


def _enter(rules: Rules) -> list[str]:
    side, what, verb = ("SELL", "Sell short", "sells") if rules.short else ("BUY", "Buy", "buys")
    args = ["instrument_id=self.config.instrument_id", f"order_side=OrderSide.{side}", "quantity=quantity"]
    return [
        "def enter(self, bar: Bar) -> None:",
        f'    """{what} with a MARKET order sized for this bar."""',
        "    quantity = self.entry_quantity(bar)",
        "    if quantity is None:",
        f'        self.log.warning(f"sizing {verb} less than one share at {{bar.close}}; no entry")',
        "        return",
        *(line[4:] for line in call("order = self.order_factory.market", args, 8)),
        "    self.send(order)",
    ]


def _on_reset(rules: Rules) -> list[str]:
    stops = rules.spec["stops"]
    lines = [
        "def on_reset(self) -> None:",
        '    """Start afresh: reset the indicators, forget the recorded values and the position\'s bars."""',
        "    super().on_reset()",
    ]
    for ident, decl in rules.spec["indicators"].items():
        lines.append(f"    self.{indicator_attr(ident)}.reset()")
        if decl["type"] == "macd":
            lines.append(f"    self.{signal_attr(ident)}.reset()")
    lines += ["    self.history.clear()", "    self.bars_seen = 0"]
    if stops["max_bars_held"] is not None:
        lines.append("    self.bars_held = 0")
    if stops["trailing_stop_pct"] is not None:
        lines.append("    self.best_close = None")
    return lines
