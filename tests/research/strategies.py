"""Test-only strategies for the gauntlet: one that reads the future from the catalog, one that flips coins."""

from __future__ import annotations

import hashlib

from nautilus_trader.model.data import Bar

from trading.strategies.base import SleeveConfig, SleeveStrategy


class PeekConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Configuration for Peek.

    Parameters
    ----------
    margin : float, default 0.0
        Hold long while the next close exceeds this close by more than this fraction.
    """

    margin: float = 0.0


class Peek(SleeveStrategy):
    """Lookahead bug on purpose: reads the whole stored history at start and trades on the next bar's close."""

    def on_start(self) -> None:
        """Load every stored bar of the instrument (the bug: the future included)."""
        super().on_start()
        from trading.marketdata.catalog import load_bars, open_catalog

        bars = load_bars(open_catalog(), self.config.bar_type)
        self._next_close = {b.ts_init: n.close.as_double() for b, n in zip(bars, bars[1:], strict=False)}

    def on_bar(self, bar: Bar) -> None:
        """Be long exactly when the next close is higher."""
        following = self._next_close.get(bar.ts_init)
        if following is None or self.has_working_orders():
            return
        want_long = following > bar.close.as_double() * (1 + self.config.margin)
        if want_long and not self.is_long():
            self.buy(bar)
        elif not want_long and self.is_long():
            self.exit()


class CoinFlipConfig(SleeveConfig, kw_only=True, frozen=True):
    """
    Configuration for CoinFlip.

    Parameters
    ----------
    seed : int, default 0
        Which coin: each seed is another random strategy.
    """

    seed: int = 0


class CoinFlip(SleeveStrategy):
    """No edge on purpose: enters and exits on a hash of the bar's time and the seed (causal, and pure luck)."""

    def on_bar(self, bar: Bar) -> None:
        """Flip: buy when flat on heads, exit when long on tails."""
        if self.has_working_orders():
            return
        heads = hashlib.sha256(f"{self.config.seed}:{bar.ts_init}".encode()).digest()[0] < 128
        if heads and not self.is_long():
            self.buy(bar)
        elif not heads and self.is_long():
            self.exit()


def specs() -> list:
    """The registry entries of these strategies."""
    from trading.strategies.registry import StrategySpec

    return [
        StrategySpec("peek", __name__, "Peek", "PeekConfig", "Test: trades on the next bar's close (lookahead)."),
        StrategySpec("coin_flip", __name__, "CoinFlip", "CoinFlipConfig", "Test: trades on coin flips."),
    ]
