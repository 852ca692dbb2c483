"""The one strategy that runs every Studio spec, unchanged in backtest, paper and live: the spec is its config.

Each Studio version gets its own frozen config class (config_class_for): the spec's named parameters become
documented config fields with the spec's values as defaults, so sweeps, the gauntlet's grid, the start panel and
approvals treat them like any strategy's parameters; the canonical spec itself is a fixed field.
"""

from __future__ import annotations

import functools
import json
import math
import types
from typing import Any, ClassVar

from nautilus_trader.model.data import Bar
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Quantity

from studio.rules import Evaluator
from studio.spec import Resolved, SpecError, resolve, spec_hash
from trading.strategies.base import SleeveConfig, SleeveStrategy, require


class StudioConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Configuration of the Studio interpreter (see SleeveConfig for instrument, bars, sizing and stop behaviour).

    Parameters
    ----------
    spec : str
        The canonical JSON of the Studio spec this sleeve runs (fixed by the Studio version, not a parameter).
    percent_equity : float, optional
        Size each entry at this percent of the account's total balance, at the signal bar's close, rounded down
        to whole shares. Replaces notional; quantity, when set, replaces both.
    """

    spec: str = "{}"
    percent_equity: float | None = None

    # Set by the version, never by a caller: the rules, and whether it may sell short (the spec's direction).
    ATS_FIXED_FIELDS: ClassVar[frozenset[str]] = frozenset({"spec", "allow_short"})
    SPEC_PARAMS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.percent_equity is not None:
            require(
                0 < self.percent_equity <= 100 and math.isfinite(self.percent_equity),
                "percent_equity",
                "must be above 0 and at most 100",
                self.percent_equity,
            )
            require(self.quantity is None, "quantity", "give quantity or percent_equity, not both", self.quantity)
        rules = self.rules()
        short = rules.spec["direction"] == "short"
        require(
            self.allow_short == short, "allow_short", f"is fixed by the spec's direction ({short})", self.allow_short
        )
        require(
            rules.spec["instrument_id"] == self.instrument_id.value,
            "instrument_id",
            f"this spec trades {rules.spec['instrument_id']}",
            self.instrument_id.value,
        )

    def param_values(self) -> dict[str, Any]:
        """The spec parameters' values in this config."""
        return {name: getattr(self, name) for name in self.SPEC_PARAMS}

    def rules(self) -> Resolved:
        """The spec with this config's parameter values substituted; ValueError naming the spec path if invalid."""
        return _resolved(self.spec, tuple(sorted(self.param_values().items())))


@functools.lru_cache(maxsize=512)
def _resolved(spec_text: str, values: tuple[tuple[str, Any], ...]) -> Resolved:
    try:
        return resolve(json.loads(spec_text), dict(values))
    except SpecError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError("spec", f"not a valid Studio spec ({exc})") from None


@functools.lru_cache(maxsize=256)
def config_class_for(spec_text: str) -> type[StudioConfig]:
    """The frozen config class of one canonical spec: its parameters as fields, its sizing and rules as defaults."""
    spec = json.loads(spec_text)
    annotations: dict[str, Any] = {"spec": str, "allow_short": bool}
    namespace: dict[str, Any] = {"spec": spec_text, "allow_short": spec["direction"] == "short"}
    docs = []
    for name, default in spec["params"].items():
        kind = int if isinstance(default, int) else float
        annotations[name] = kind
        namespace[name] = default
        docs.append(f"    {name} : {kind.__name__}, default {default}\n        Spec parameter, used as ${name}.")
    ((sizing, amount),) = spec["sizing"].items()
    if sizing == "notional":
        annotations["notional"], namespace["notional"] = float, float(amount)
    elif sizing == "quantity":
        annotations["quantity"], namespace["quantity"] = int | None, int(amount)
    else:
        annotations["percent_equity"], namespace["percent_equity"] = float | None, float(amount)
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    namespace["__doc__"] = (
        f"Config of the Studio spec {spec_hash(spec)[:12]}.\n\n    Parameters\n    ----------\n"
        + "\n".join(docs)
        + "\n"
    )
    namespace["SPEC_PARAMS"] = tuple(spec["params"])
    name = f"StudioConfig_{spec_hash(spec)[:12]}"
    return types.new_class(name, (StudioConfig,), {"kw_only": True, "frozen": True}, lambda ns: ns.update(namespace))


class StudioStrategy(SleeveStrategy):
    """
    Runs a Studio spec on one instrument's bars.

    On each bar close, once warmed up and with no order of its own in flight: in a position, exit (MARKET,
    reduce-only) on the first of stop-loss, take-profit, trailing stop, max bars held or the exit condition;
    flat, enter (MARKET: buy for a long spec, sell short for a short one) when the entry condition holds.
    """

    # It holds at most one position and every exit names it (SleeveStrategy.exit): backtests may run it HEDGING
    # (trading.backtests.engine.backtest_oms), where the fills are the same and a round trip costs less.
    POSITIONS_CLOSED_BY_ID: ClassVar[bool] = True

    def __init__(self, config: StudioConfig) -> None:
        super().__init__(config)
        self.rules = config.rules()
        self.evaluator = Evaluator(self.rules)
        self._stops = self.rules.spec["stops"]
        self._short = self.rules.spec["direction"] == "short"
        self._bars_held = 0
        self._best_close: float | None = None
        self.last_exit_reason = ""

    def on_bar(self, bar: Bar) -> None:
        """Update the indicators, then apply the exits or the entry to the bar that just closed."""
        self.evaluator.update(bar)
        close = bar.close.as_double()
        in_position = self.is_long()  # any open position of this sleeve (short ones too)
        if in_position:
            self._bars_held += 1
            if self._best_close is None:
                self._best_close = close
            else:
                self._best_close = min(self._best_close, close) if self._short else max(self._best_close, close)
        else:
            self._bars_held, self._best_close = 0, None
        if not self.evaluator.ready or self.has_working_orders():
            return
        if in_position:
            reason = self.exit_reason(close)
            if reason:
                self.last_exit_reason = reason
                self.exit()
        elif self.evaluator.entry():
            self.enter(bar)

    def exit_reason(self, close: float) -> str:
        """Why the open position should close on this close, or '' to hold it."""
        stops = self._stops
        from_entry = self._move_pct(close, self._entry_price())
        from_best = self._move_pct(close, self._best_close)
        if from_entry is not None and stops["stop_loss_pct"] is not None and from_entry <= -stops["stop_loss_pct"]:
            return "stop_loss"
        if from_entry is not None and stops["take_profit_pct"] is not None and from_entry >= stops["take_profit_pct"]:
            return "take_profit"
        if (
            from_best is not None
            and stops["trailing_stop_pct"] is not None
            and from_best <= -stops["trailing_stop_pct"]
        ):
            return "trailing_stop"
        if stops["max_bars_held"] is not None and self._bars_held >= stops["max_bars_held"]:
            return "max_bars_held"
        if self.evaluator.exit is not None and self.evaluator.exit():
            return "exit_condition"
        return ""

    def _move_pct(self, close: float, reference: float | None) -> float | None:
        """The close's move from a reference price in percent, positive in the position's favour."""
        if not reference:
            return None
        return (reference - close if self._short else close - reference) / reference * 100

    def _entry_price(self) -> float | None:
        positions = self.cache.positions_open(instrument_id=self.config.instrument_id, strategy_id=self.id)
        return positions[0].avg_px_open if positions else None

    def enter(self, bar: Bar) -> None:
        """Open a position in the spec's direction with a MARKET order sized for this bar."""
        quantity = self.entry_quantity(bar)
        if quantity is None:
            verb = "sells" if self._short else "buys"
            self.log.warning(f"sizing {verb} less than one share at {bar.close}; no entry")
            return
        side = OrderSide.SELL if self._short else OrderSide.BUY
        order = self.order_factory.market(instrument_id=self.config.instrument_id, order_side=side, quantity=quantity)
        self.send(order)

    def entry_quantity(self, bar: Bar) -> Quantity | None:
        """Shares for an entry: the fixed quantity, percent of the account's balance, or notional, at the close."""
        config = self.config
        if config.quantity is None and config.percent_equity is not None:
            account = self.portfolio.account(self.config.instrument_id.venue)
            close = bar.close.as_double()
            if account is None or close <= 0 or self.instrument is None:
                return None
            balance = account.balance_total(self.instrument.quote_currency)
            equity = balance.as_double() if balance is not None else 0.0
            shares = math.floor(equity * config.percent_equity / 100 / close)
            return self.instrument.make_qty(shares) if shares >= 1 else None
        return super().entry_quantity(bar)

    def on_reset(self) -> None:
        """Start the rules afresh."""
        super().on_reset()
        self.evaluator = Evaluator(self.rules)
        self._bars_held, self._best_close = 0, None
        self.last_exit_reason = ""
