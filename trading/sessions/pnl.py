"""A session's P&L from its own fills: cumulative over every round trip, per sleeve and instrument.

Nautilus's per-position P&L starts again when a netted position closes and reopens, so the session keeps its own
ledger: average-cost accounting of each fill, realized P&L accumulated for the life of the session, commissions
summed, and unrealized P&L marked at the market. Amounts are in the instrument's quote currency; the caller converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass
class Book:
    """One sleeve's trading in one instrument."""

    multiplier: Decimal = Decimal(1)
    quantity: Decimal = ZERO  # signed: long > 0, short < 0
    average_price: Decimal = ZERO  # of the open quantity
    realized: Decimal = ZERO  # before commissions, over every round trip
    commissions: Decimal = ZERO

    def fill(self, signed_quantity: Decimal, price: Decimal, commission: Decimal) -> None:
        """Book one fill: a buy is a positive quantity, a sell a negative one."""
        self.commissions += commission
        if self.quantity == 0 or (self.quantity > 0) == (signed_quantity > 0):
            opened = abs(self.quantity) + abs(signed_quantity)
            self.average_price = (abs(self.quantity) * self.average_price + abs(signed_quantity) * price) / opened
            self.quantity += signed_quantity
            return
        closing = min(abs(signed_quantity), abs(self.quantity))
        direction = 1 if self.quantity > 0 else -1
        self.realized += closing * (price - self.average_price) * direction * self.multiplier
        self.quantity += signed_quantity
        if self.quantity == 0:
            self.average_price = ZERO
        elif (self.quantity > 0) != (direction > 0):  # went through flat: the rest opened at this price
            self.average_price = price

    def unrealized(self, mark: Decimal | None) -> Decimal | None:
        """The open quantity marked at the market; None when it is open and there is no mark."""
        if self.quantity == 0:
            return ZERO
        if mark is None:
            return None
        return self.quantity * (mark - self.average_price) * self.multiplier


@dataclass(frozen=True)
class Pnl:
    """P&L at one moment: realized and commissions over the session's life, unrealized now."""

    realized: Decimal
    unrealized: Decimal
    commissions: Decimal

    @property
    def total(self) -> Decimal:
        """Realized + unrealized - commissions."""
        return self.realized + self.unrealized - self.commissions

    def as_dict(self) -> dict[str, str]:
        """Cents, as strings, for telemetry."""
        cents = Decimal("0.01")
        return {
            "realized": str(self.realized.quantize(cents)),
            "unrealized": str(self.unrealized.quantize(cents)),
            "commissions": str(self.commissions.quantize(cents)),
            "total": str(self.total.quantize(cents)),
        }


def _sum(parts: list[Pnl]) -> Pnl:
    return Pnl(
        sum((p.realized for p in parts), ZERO),
        sum((p.unrealized for p in parts), ZERO),
        sum((p.commissions for p in parts), ZERO),
    )


@dataclass
class PnlLedger:
    """Every book of a session, keyed by (sleeve, instrument)."""

    books: dict[tuple[str, str], Book] = field(default_factory=dict)

    def fill(
        self,
        sleeve: str,
        instrument: str,
        signed_quantity: Decimal,
        price: Decimal,
        commission: Decimal,
        multiplier: Decimal = Decimal(1),
    ) -> None:
        """Book one fill of a sleeve."""
        book = self.books.setdefault((sleeve, instrument), Book(multiplier=multiplier))
        book.fill(signed_quantity, price, commission)

    def instruments(self) -> set[str]:
        """The instruments the session has traded."""
        return {instrument for _, instrument in self.books}

    def pnl(self, marks: dict[str, Decimal | None], rates: dict[str, Decimal | None]) -> dict[str, Pnl] | None:
        """P&L per sleeve in the account currency, or None while an open position has no mark or no rate."""
        per_sleeve: dict[str, list[Pnl]] = {}
        for (sleeve, instrument), book in self.books.items():
            unrealized = book.unrealized(marks.get(instrument))
            rate = rates.get(instrument)
            if unrealized is None or rate is None:
                return None
            per_sleeve.setdefault(sleeve, []).append(
                Pnl(book.realized * rate, unrealized * rate, book.commissions * rate)
            )
        return {sleeve: _sum(parts) for sleeve, parts in per_sleeve.items()}

    @staticmethod
    def total(per_sleeve: dict[str, Pnl]) -> Pnl:
        """The session's P&L: its sleeves together."""
        return _sum(list(per_sleeve.values()))
