"""The rule parts of the Studio's Python export: indicators, the values the conditions read, the conditions as
methods of plain comparisons, the warm-up, and the parameters' documentation and range checks.

Every formula here mirrors studio.rules and studio.spec.resolve: the exported strategy must trade exactly as the
interpreter does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.export_code import Comparison, Term, call, docstring, fits, number, returned_chain, whole, wrap
from studio.spec import BAR_FIELDS, CROSSES, INDICATORS, MAX_PERIOD, Resolved, parse_operand

# Where each indicator type's Nautilus class lives (the same classes studio.rules builds).
CLASSES: dict[str, tuple[str, str]] = {
    "sma": ("nautilus_trader.indicators.averages", "SimpleMovingAverage"),
    "ema": ("nautilus_trader.indicators.averages", "ExponentialMovingAverage"),
    "rsi": ("nautilus_trader.indicators.momentum", "RelativeStrengthIndex"),
    "bbands": ("nautilus_trader.indicators.volatility", "BollingerBands"),
    "atr": ("nautilus_trader.indicators.volatility", "AverageTrueRange"),
    "macd": ("nautilus_trader.indicators.trend", "MovingAverageConvergenceDivergence"),
    "donchian": ("nautilus_trader.indicators.volatility", "DonchianChannel"),
    "roc": ("nautilus_trader.indicators.momentum", "RateOfChange"),
    "stoch": ("nautilus_trader.indicators.momentum", "Stochastics"),
}
MIRROR = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
STOP_TEXT = {
    "stop_loss_pct": "stop-loss, percent against the position from its average entry price",
    "take_profit_pct": "take-profit, percent in the position's favour from its average entry price",
    "trailing_stop_pct": "trailing stop, percent against the position from its best close",
    "max_bars_held": "bar closes in the position before it is closed",
}


@dataclass
class Rules:
    """What the exporter reads of one spec: canonical (with $params) and resolved with its default values."""

    spec: dict[str, Any]
    resolved: Resolved
    kinds: dict[str, type] = field(default_factory=dict)  # param -> int or float, from its default's JSON type

    def __post_init__(self) -> None:
        self.kinds = {name: int if isinstance(v, int) else float for name, v in self.spec["params"].items()}

    @property
    def short(self) -> bool:
        """Whether the spec sells short."""
        return self.spec["direction"] == "short"

    def arg(self, value: Any, is_whole: bool, owner: str = "config") -> str:
        """An indicator argument or stop as code: a literal, or the config field of its $param (int()/float())."""
        if isinstance(value, str):
            name = value[1:]
            expr = f"{owner}.{name}"
            if is_whole and self.kinds[name] is float:
                return f"int({expr})"
            if not is_whole and self.kinds[name] is int:
                return f"float({expr})"
            return expr
        return whole(value) if is_whole else number(value)


def indicator_attr(ident: str) -> str:
    """The strategy attribute holding an indicator (suffixed: ids may be any name, Strategy's own included)."""
    return f"{ident}_indicator"


def signal_attr(ident: str) -> str:
    """The attribute holding a MACD's signal line (an EMA of the MACD line)."""
    return f"{ident}_signal_ema"


def indicator_imports(rules: Rules) -> dict[str, set[str]]:
    """module -> the Nautilus indicator classes the strategy builds."""
    imports: dict[str, set[str]] = {}
    for decl in rules.spec["indicators"].values():
        module, name = CLASSES[decl["type"]]
        imports.setdefault(module, set()).add(name)
        if decl["type"] == "macd":
            imports.setdefault("nautilus_trader.indicators.averages", set()).add("ExponentialMovingAverage")
    return imports


def indicator_lines(rules: Rules) -> list[str]:
    """__init__ lines (indented) creating the indicators, with the classes and arguments of studio.rules.Indicator."""
    lines = []
    for ident, decl in rules.spec["indicators"].items():
        kind = decl["type"]
        cls = CLASSES[kind][1]
        args = [rules.arg(decl[a.name], a.whole) for a in INDICATORS[kind].args]
        if kind == "roc":
            # Nautilus compares with the oldest of `period` prices (period - 1 bars back): one more reaches period.
            period = decl["period"]
            args = [f"{args[0]} + 1" if isinstance(period, str) else whole(period + 1)]
            lines.append(
                "        # ROC: Nautilus's window of n prices looks n - 1 bars back, so period + 1 looks back period."
            )
        if kind == "macd":
            lines.extend(call(f"self.{indicator_attr(ident)} = {cls}", args[:2], 8))
            lines.append("        # The signal line: an EMA of the MACD line, fed once the MACD line is initialized.")
            lines.extend(call(f"self.{signal_attr(ident)} = ExponentialMovingAverage", args[2:], 8))
        else:
            lines.extend(call(f"self.{indicator_attr(ident)} = {cls}", args, 8))
    return lines


def warmup_lines(rules: Rules) -> list[str]:
    """__init__ lines (indented) setting self.warmup: studio.spec.resolve's formula with the config's values."""
    consts, exprs = [1], []
    for decl in rules.spec["indicators"].values():
        kind = decl["type"]
        if kind == "macd":
            parts = (decl["slow_period"], decl["signal_period"])
        elif kind == "stoch":
            parts = (decl["k_period"], decl["d_period"])
        else:
            parts = (decl["period"], 1) if kind in ("rsi", "atr", "roc") else (decl["period"],)
        if not any(isinstance(p, str) for p in parts):  # no $param (a constant period may be written 20.0)
            consts.append(int(sum(parts)))
        else:
            exprs.append(" + ".join(rules.arg(p, True) for p in parts))
    extra = rules.resolved.max_bars_ago + (1 if rules.resolved.has_crosses else 0)
    if not exprs:
        return [f"        self.warmup = {whole(max(consts) + extra)}"]
    lines = call("self.warmup = max", [whole(max(consts)), *dict.fromkeys(exprs)], 8)
    return [*lines, f"        self.warmup += {extra}"] if extra else lines


# -- the series the conditions read --------------------------------------------------------------------------------


def series_keys(rules: Rules) -> list[str]:
    """Every series a condition reads, as the spec names it (close, rsi, bb.lower, macd.value), sorted."""
    keys: set[str] = set()
    for key in ("entry", "exit"):
        if rules.spec[key] is not None:
            _walk(rules.spec[key], lambda o: keys.add(o.split("[")[0]) if _is_series(o) else None)
    return sorted(keys)


def uses_ibs(rules: Rules) -> bool:
    """Whether a condition reads the bar's IBS."""
    return "ibs" in series_keys(rules)


def value_lines(rules: Rules) -> list[str]:
    """The `values` method: this bar's value of each series the conditions read."""
    lines = [
        "    def values(self, bar: Bar) -> dict[str, float]:",
        *docstring(["This bar's value of every series the conditions read, by its name in the spec."], 8),
        "        return {",
    ]
    indicators = rules.spec["indicators"]
    keys = series_keys(rules)
    if not keys:  # the conditions compare only numbers and parameters
        return [*lines[:-1], "        return {}"]
    for key in keys:
        expr, note = _value_expr(key, indicators)
        entry = f'"{key}": {expr},'
        commented = f"{entry}  # {note}"
        if note and fits(12, commented):
            lines.append(f"            {commented}")
        elif fits(12, entry):
            lines.append(f"            {entry}")
        else:  # a long indicator id: the value in parentheses on its own line(s)
            lines.append(f'            "{key}": (')
            left, minus, right = expr.partition(" - ")
            if fits(16, expr) or not minus:
                lines.append(f"                {expr}")
            else:
                lines += [f"                {left}", f"                - {right}"]
            lines.append("            ),")
    lines.append("        }")
    return lines


def _value_expr(key: str, indicators: dict[str, dict[str, Any]]) -> tuple[str, str]:
    if key == "ibs":
        return "internal_bar_strength(bar)", "NaN on a zero-range bar"
    if key in BAR_FIELDS:
        return f"bar.{key}.as_double()", ""
    ident, _, output = key.partition(".")
    kind = indicators[ident]["type"]
    output = output or INDICATORS[kind].outputs[0]
    inner = f"self.{indicator_attr(ident)}"
    if kind == "rsi":
        return f"{inner}.value * 100.0", "Nautilus's RSI is 0-1; the spec's is 0-100"
    if kind == "roc":
        return f"{inner}.value * 100.0", "Nautilus's ROC is a fraction; the spec's is percent"
    if kind == "macd":
        signal = f"self.{signal_attr(ident)}.value"
        return {"value": f"{inner}.value", "signal": signal, "histogram": f"{inner}.value - {signal}"}[output], ""
    if kind == "stoch":
        return f"{inner}.value_{output}", ""
    return f"{inner}.{output}", ""


# -- conditions ----------------------------------------------------------------------------------------------------


def _walk(cond: dict[str, Any], visit: Any) -> None:
    for key in ("all", "any"):
        if key in cond:
            for child in cond[key]:
                _walk(child, visit)
            return
    visit(cond["left"])
    for operand in cond["right"] if cond["op"] == "between" else [cond["right"]]:
        visit(operand)


def _is_series(operand: Any) -> bool:
    return isinstance(operand, str) and not operand.startswith("$")


def _text(operand: Any) -> str:
    return operand if isinstance(operand, str) else repr(operand)


def describe(cond: dict[str, Any]) -> str:
    """A condition in words, operands as the spec writes them: 'all of (close > trend; rsi < $oversold)'."""
    for key in ("all", "any"):
        if key in cond:
            return f"{key} of ({'; '.join(describe(c) for c in cond[key])})"
    left, op = _text(cond["left"]), cond["op"]
    if op == "between":
        low, high = (_text(r) for r in cond["right"])
        return f"{left} between {low} and {high}"
    return f"{left} {op.replace('_', ' ')} {_text(cond['right'])}"


class _Method:
    """One generated condition method: its terms joined by one operator, and the history rows it reads."""

    def __init__(self, name: str, doc: str, op: str) -> None:
        self.name, self.doc, self.op = name, doc, op
        self.terms: list[Term] = []
        self.rows: set[int] = set()

    def lines(self) -> list[str]:
        """The method's source, at the class body's indent."""
        body = docstring([self.doc], 8)
        for row in sorted(self.rows):
            body.append(f"        {_row(row)} = self.history[{row}]")
        return [f"    def {self.name}(self) -> bool:", *body, *returned_chain(self.terms, self.op, 8)]


def _row(bars_ago: int) -> str:
    return "now" if bars_ago == 0 else f"ago_{bars_ago}"


def condition_methods(rules: Rules, key: str) -> list[str]:
    """The methods evaluating the entry or exit condition: `entry_signal` / `exit_signal` and their helpers."""
    cond = rules.spec[key]
    methods: list[_Method] = []
    _build(cond, f"{key}_signal", f"{key.capitalize()} condition: {describe(cond)}.", key, methods)
    lines: list[str] = []
    for method in methods:
        lines.extend(["", *method.lines()])
    return lines[1:]


def _build(cond: dict[str, Any], name: str, doc: str, path: str, methods: list[_Method]) -> str:
    method = _Method(name, doc, "or" if "any" in cond else "and")
    methods.append(method)
    _terms(cond, method, path, methods)
    return f"self.{name}()"


def _terms(cond: dict[str, Any], method: _Method, path: str, methods: list[_Method]) -> None:
    """Add a condition's terms to a method whose terms are joined by method.op; a part needing the other
    operator (an any inside all, an all or a cross inside any) becomes a helper method named after its path."""
    for key, op in (("all", "and"), ("any", "or")):
        if key in cond:
            if method.op == op:
                for i, child in enumerate(cond[key]):
                    _terms(child, method, f"{path}.{key}[{i}]", methods)
            else:
                method.terms.append(_helper(cond, path, methods))
            return
    op = cond["op"]
    if op in CROSSES and method.op == "or":
        method.terms.append(_helper(cond, path, methods))
        return

    def operand(value: Any, extra: int = 0) -> tuple[str, bool]:
        if not isinstance(value, str):
            return number(value), True
        if value.startswith("$"):
            return f"self.config.{value[1:]}", False
        _, _, ago = parse_operand(value)
        method.rows.add(ago + extra)
        return f'{_row(ago + extra)}["{value.split("[")[0]}"]', False

    left = operand(cond["left"])
    if op == "between":
        low, high = (operand(r)[0] for r in cond["right"])
        method.terms.append(Comparison((low, left[0], high), ("<=", "<=")))
    elif op in CROSSES:
        above = op == "crosses_above"
        right, left_before, right_before = operand(cond["right"]), operand(cond["left"], 1), operand(cond["right"], 1)
        method.terms.append(_compare(left, ">" if above else "<", right))
        method.terms.append(_compare(left_before, "<=" if above else ">=", right_before))
    else:
        method.terms.append(_compare(left, op, operand(cond["right"])))


def _helper(cond: dict[str, Any], path: str, methods: list[_Method]) -> str:
    name = path.replace(".", "_").replace("[", "_").replace("]", "")
    return _build(cond, name, f"{path}: {describe(cond)}.", path, methods)


def _compare(left: tuple[str, bool], op: str, right: tuple[str, bool]) -> Comparison:
    """left op right, written series-first when the left is a number (ruff's SIM300: no Yoda conditions)."""
    if left[1] and not right[1]:
        return Comparison((right[0], left[0]), (MIRROR[op],))
    return Comparison((left[0], right[0]), (op,))


# -- parameters ----------------------------------------------------------------------------------------------------


def param_uses(rules: Rules) -> dict[str, list[tuple[str, str, Any]]]:
    """param -> its uses: ('arg', text, Arg), ('condition', text, None) or ('stop', text, stop name)."""
    uses: dict[str, list[tuple[str, str, Any]]] = {name: [] for name in rules.spec["params"]}
    for ident, decl in rules.spec["indicators"].items():
        for arg in INDICATORS[decl["type"]].args:
            value = decl[arg.name]
            if isinstance(value, str):
                uses[value[1:]].append(("arg", f"{ident}'s {arg.name} ({arg.doc})", arg))
    for key in ("entry", "exit"):
        if rules.spec[key] is not None:
            _conditions_using(rules.spec[key], key, uses)
    for stop, value in rules.spec["stops"].items():
        if isinstance(value, str):
            uses[value[1:]].append(("stop", f"{stop} ({STOP_TEXT[stop]})", stop))
    return uses


def _conditions_using(cond: dict[str, Any], key: str, uses: dict[str, list[tuple[str, str, Any]]]) -> None:
    for group in ("all", "any"):
        if group in cond:
            for child in cond[group]:
                _conditions_using(child, key, uses)
            return
    operands = [cond["left"], *(cond["right"] if cond["op"] == "between" else [cond["right"]])]
    for operand in operands:
        if isinstance(operand, str) and operand.startswith("$"):
            uses[operand[1:]].append(("condition", f"{key} condition {describe(cond)}", None))


def param_doc_lines(rules: Rules) -> list[str]:
    """The Parameters entries of the spec's params (relative to the docstring's indent)."""
    lines = []
    for name, uses in param_uses(rules).items():
        kind = rules.kinds[name]
        default = rules.spec["params"][name]
        shown = whole(default) if kind is int else number(default)
        lines.append(f"{name} : {kind.__name__}, default {shown}")
        text = "; ".join(dict.fromkeys(text for _, text, _ in uses)) or "not used by the rules"
        lines.extend(line[4:] for line in wrap(f"The spec's ${name}: {text}.", 8))
    return lines


def param_checks(rules: Rules) -> list[tuple[str, str, str]]:
    """(condition, field, rule) of every range check the spec's resolution applies to its parameters."""
    checks: list[tuple[str, str, str]] = []
    for name, uses in param_uses(rules).items():
        field_ = f"self.{name}"
        is_float = rules.kinds[name] is float
        finite = f" and math.isfinite({field_})" if is_float else ""
        for use, _, detail in uses:
            if (use == "arg" and detail.whole) or (use == "stop" and detail == "max_bars_held"):
                low = int(detail.minimum) if use == "arg" else 1
                integral = f"{field_}.is_integer() and " if is_float else ""
                check = (
                    f"{integral}{low} <= {field_} <= {MAX_PERIOD}",
                    f"must be a whole number from {low} to {MAX_PERIOD}",
                )
            elif use == "arg":
                check = (f"{field_} > {detail.minimum:g}{finite}", f"must be greater than {detail.minimum:g}")
            elif use == "stop" and detail == "take_profit_pct":
                check = (f"{field_} > 0{finite}", "must be greater than 0 (percent)")
            elif use == "stop":
                check = (f"0 < {field_} < 100", "must be between 0 and 100 (percent)")
            elif is_float:
                check = (f"math.isfinite({field_})", "must be a finite number")
            else:
                continue
            if (check[0], name, check[1]) not in checks:
                checks.append((check[0], name, check[1]))
    for decl in rules.spec["indicators"].values():
        fast, slow = decl.get("fast_period"), decl.get("slow_period")
        if decl["type"] == "macd" and (isinstance(fast, str) or isinstance(slow, str)):
            fast_code, slow_code = rules.arg(fast, True, "self"), rules.arg(slow, True, "self")
            if isinstance(slow, str):
                checks.append((f"{fast_code} < {slow_code}", slow[1:], f"must be greater than {_text(fast)}"))
            else:
                checks.append((f"{fast_code} < {slow_code}", fast[1:], f"must be less than {_text(slow)}"))
    return checks
