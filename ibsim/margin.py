"""The margin model: Reg T for the two account kinds ibsim offers (``margin`` and ``cash``).

Documented, deliberately simple, and the same numbers everywhere (account values, what-if answers and the
pre-trade check that rejects with error 201):

``margin`` (Reg T)
    initial margin 50% of the market value of every long and every short stock position; maintenance margin
    25% of longs and 30% of shorts; equity with loan value = net liquidation (cash + stock at market).
``cash``
    initial and maintenance margin 100% of longs; short positions are not allowed (an order that would open or
    grow one is rejected).

An order is accepted when, with it filled at the current price, the initial margin does not exceed the equity
with loan value, or when it does not increase the initial margin (a closing order always passes).
Positions are marked at the last trade price.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNT_KINDS = ("margin", "cash")


@dataclass(frozen=True)
class MarginFigures:
    """Initial and maintenance margin and equity with loan value of one account state."""

    init: float
    maint: float
    equity: float


@dataclass(frozen=True)
class MarginModel:
    kind: str = "margin"

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise ValueError(f"account kind must be one of {ACCOUNT_KINDS}, got {self.kind!r}")

    @property
    def init_long(self) -> float:
        return 1.0 if self.kind == "cash" else 0.5

    @property
    def maint_long(self) -> float:
        return 1.0 if self.kind == "cash" else 0.25

    def figures(self, cash: float, values: dict[str, float]) -> MarginFigures:
        """Margin of positions given as signed market values by symbol."""
        longs = sum(v for v in values.values() if v > 0)
        shorts = -sum(v for v in values.values() if v < 0)
        init = self.init_long * longs + 0.5 * shorts
        maint = self.maint_long * longs + 0.3 * shorts
        return MarginFigures(round(init, 2), round(maint, 2), round(cash + longs - shorts, 2))

    def refusal(self, before: MarginFigures, after: MarginFigures, opens_short: bool) -> str | None:
        """Why an order that moves the account from ``before`` to ``after`` is refused, or None."""
        if opens_short and self.kind == "cash":
            return "Short sales are not permitted in a cash account"
        if after.init > after.equity and after.init > before.init:
            return (
                f"YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE "
                f"[{after.equity:.2f} USD] MUST EXCEED THE INITIAL MARGIN [{after.init:.2f} USD]"
            )
        return None
