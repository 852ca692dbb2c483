"""The attribution check: the broker's position in each of the session's instruments must equal what the session's
own fills add up to, and a broker position that no active session on the account trades is unattributed.

One session owns an instrument on an account (the start refuses a second), so for the owner the broker's quantity
and its ledger's must agree. A difference seen twice in a row (a fill on its way explains one look) is audited,
alerted and shown; it is reported again only when it changes.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from audit.models import Action
from trading.sessions.models import ACTIVE_STATUSES, TradingSession
from trading.sessions.node import broker_positions

if TYPE_CHECKING:
    from trading.sessions.host import SessionHost

log = logging.getLogger(__name__)


def symbol_of(instrument_id: str) -> str:
    """QQQ of QQQ.NASDAQ."""
    return instrument_id.rsplit(".", 1)[0]


def attribution_problems(
    broker: dict[str, Decimal], ours: dict[str, Decimal], owned_by_others: set[str]
) -> dict[str, str]:
    """symbol -> one line, for each of our symbols whose broker quantity differs from ours, and each broker position
    that no active session on the account owns."""
    problems = {}
    for symbol, quantity in sorted(ours.items()):
        at_broker = broker.get(symbol, Decimal(0))
        if at_broker != quantity:
            problems[symbol] = (
                f"attribution: {symbol} is {at_broker.normalize():+f} at the broker but "
                f"{quantity.normalize():+f} by this session's fills"
            )
    for symbol, quantity in sorted(broker.items()):
        if symbol not in ours and symbol not in owned_by_others:
            problems[symbol] = (
                f"attribution: {symbol} {quantity.normalize():+f} at the broker is unattributed "
                "(no active session on the account trades it)"
            )
    return problems


class AttributionCheck:
    """Runs on the node's loop every few seconds."""

    def __init__(self, host: SessionHost) -> None:
        self.host = host
        self._suspect: dict[str, str] = {}  # seen once
        self._reported: dict[str, str] = {}  # audited and alerted

    async def run(self) -> None:
        """One look: compare, and report what stayed wrong since the last look."""
        try:
            broker = await broker_positions(self.host.node, self.host.session.account_id)
            if broker is None or self.host.risk is None:
                return
            ours: dict[str, Decimal] = {}
            for s in self.host.session.sleeves:
                ours.setdefault(symbol_of(s["instrument_id"]), Decimal(0))
            for (_, instrument), book in self.host.risk.ledger.books.items():
                ours[symbol_of(instrument)] = ours.get(symbol_of(instrument), Decimal(0)) + book.quantity
            others = await asyncio.to_thread(self._owned_by_others)
            problems = attribution_problems(broker, ours, others)
            confirmed = {k: v for k, v in problems.items() if self._suspect.get(k) == v}
            self._suspect = problems
            for symbol, line in confirmed.items():
                if self._reported.get(symbol) != line:
                    self._report(line, symbol)
            for symbol in list(self._reported):
                if symbol not in problems:
                    del self._reported[symbol]
                    self.host.sink.emit("risk", {"attribution": "ok", "symbol": symbol})
            self._reported.update(confirmed)
        except Exception:
            log.exception("session %s: attribution check failed", self.host.session_id)

    def _owned_by_others(self) -> set[str]:
        sessions = TradingSession.objects.filter(
            account_id=self.host.session.account_id, status__in=ACTIVE_STATUSES
        ).exclude(pk=self.host.session_id)
        return {
            symbol_of(s["instrument_id"]) for sleeves in sessions.values_list("sleeves", flat=True) for s in sleeves
        }

    def _report(self, line: str, symbol: str) -> None:
        payload = {"attribution": "mismatch", "symbol": symbol, "reason": line}
        self.host.sink.emit("risk", payload, audit_action=Action.ATTRIBUTION_MISMATCH)
        self.host.events.alert_off_loop(
            "risk.attribution_mismatch", f"session #{self.host.session_id}: {line}", payload
        )
