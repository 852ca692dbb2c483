"""The session host's risk side: the order gate beneath the strategies, and the session's and account's loss breakers.

Both act on the node's event loop; their audit and database writes go to threads, because Django refuses database
calls from a thread that runs an event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection

from ats_site.config import RiskCaps
from audit.models import Action
from audit.services import record
from trading.sessions import breaker_services
from trading.sessions.breaker import LossBreaker, Trip, trading_day
from trading.sessions.models import AccountBreaker, SessionStatus
from trading.sessions.pnl import Pnl, PnlLedger
from trading.sessions.risk import OrderGate
from trading.sessions.risk_rules import SleeveScope
from trading.sessions.write_turn import urgent_write, write_turn

if TYPE_CHECKING:
    from trading.sessions.host import SessionHost

log = logging.getLogger(__name__)

GATE_DENIED_MEMORY = 10_000  # denials remembered to keep their OrderDenied events out of the audit log
INTENT_AUDIT_TIMEOUT_SECONDS = 5.0  # an intent not recorded by then is treated as a failed write: no order


class SessionRisk:
    """The order gate and the loss breaker of one hosted session."""

    def __init__(self, host: SessionHost, caps: RiskCaps) -> None:
        self.host = host
        self.caps = caps
        self.breaker = LossBreaker(
            caps.max_daily_loss,
            caps.max_drawdown,
            currency=settings.ATS.account_currency,
            tripped=bool(host.session.breaker_tripped_at),
        )
        self.account_tripped = AccountBreaker.objects.filter(
            account_id=host.session.account_id, tripped_at__isnull=False
        ).exists()
        self.last_mark: tuple[dt.date, Decimal] | None = None  # (trading day, session P&L) of the latest check
        self._account_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"account-mark-{host.session_id}")
        self._account_mark: Future | None = None
        self.gate: Any = None  # the OrderGate, once installed
        self.ledger = PnlLedger()  # the session's own fills, for P&L over every round trip
        self.instruments = {s["instrument_id"] for s in host.session.sleeves}
        self._last_pnl_payload: dict | None = None
        # Client order ids whose denial the gate audited itself (the latest GATE_DENIED_MEMORY): kept, not consumed,
        # so an OrderDenied event seen twice is still telemetry only.
        self._gate_denied: OrderedDict[str, None] = OrderedDict()

    def audited(self, client_order_id: Any) -> bool:
        """Whether the gate audited this order's denial itself (the event that follows is telemetry only)."""
        return str(client_order_id) in self._gate_denied

    def _mark_gate_denied(self, client_order_id: Any) -> None:
        self._gate_denied[str(client_order_id)] = None
        if len(self._gate_denied) > GATE_DENIED_MEMORY:
            self._gate_denied.popitem(last=False)

    def install_gate(self) -> None:
        """Put the order gate beneath every strategy: each intent audited before it may leave, denials reported."""
        # The intent must be durable before the order may leave, so the event loop waits for this write. It runs on
        # a dedicated thread because Django refuses database calls from a thread that runs an event loop.
        writer = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix=f"intent-audit-{self.host.session_id}",
        )

        def audit_intent(order, notional):
            with urgent_write():
                writer.submit(write_intent, order, notional).result(timeout=INTENT_AUDIT_TIMEOUT_SECONDS)

        def write_intent(order, notional):
            try:
                with write_turn(urgent=True):
                    _record_intent(order, notional)
            except Exception:
                connection.close()  # a broken connection (the database went away) is replaced on the next intent
                raise

        def _record_intent(order, notional):
            record(
                Action.ORDER_INTENT,
                actor=self.host.actor,
                target=f"session:{self.host.session_id}",
                payload={
                    "session": self.host.session_id,
                    "sleeve": self.host.sleeve_of.get(order.strategy_id),
                    "client_order_id": order.client_order_id,
                    "instrument_id": order.instrument_id,
                    "side": order.side_name,
                    "quantity": str(order.quantity),
                    "order_type": order.order_type,
                    "price": str(order.limit_price) if order.limit_price is not None else None,
                    "trigger_price": str(order.trigger_price) if order.trigger_price is not None else None,
                    "reduce_only": order.reduce_only,
                    "modify": order.is_modify,
                    "notional": str(notional) if notional is not None else None,
                },
            )

        def on_denied(order, denial):
            # Audited here with the rule and numbers; the OrderDenied event that follows is telemetry only.
            self._mark_gate_denied(order.client_order_id)
            self.host.sink.emit(
                "order",
                {
                    "event": "OrderModifyRejected" if order.is_modify else "OrderDenied",
                    "client_order_id": order.client_order_id,
                    "instrument_id": order.instrument_id,
                    "reason": denial.reason,
                    "rule": denial.rule,
                    **denial.numbers,
                    "modify": order.is_modify,
                    "sleeve": self.host.sleeve_of.get(order.strategy_id),
                },
                audit_action=Action.ORDER_DENIED,
            )

        sleeves = {
            str(strategy.id): SleeveScope(str(strategy.config.instrument_id), bool(strategy.config.allow_short))
            for strategy in self.host.strategies
        }
        self.gate = OrderGate(
            self.host.node.kernel, self.caps, sleeves, settings.ATS.account_currency, audit_intent, on_denied
        )
        self.gate.reducing = self.breaker.tripped or self.account_tripped
        self.gate.install()

    # -- loss breaker (runs on the node's loop, where the portfolio is) ----------------------------------------

    def book_fill(self, fill: Any) -> None:
        """Book one of the session's fills (an OrderFilled event) in its P&L ledger; a fill in an instrument no
        sleeve trades (reconciliation reports the whole account) is not the session's."""
        if str(fill.instrument_id) not in self.instruments:
            return
        instrument = self.host.node.kernel.cache.instrument(fill.instrument_id)
        quantity = Decimal(fill.last_qty.as_decimal())
        self.ledger.fill(
            str(fill.strategy_id),
            str(fill.instrument_id),
            quantity if fill.is_buy else -quantity,
            Decimal(fill.last_px.as_decimal()),
            Decimal(fill.commission.as_decimal()),
            Decimal(instrument.multiplier.as_decimal()) if instrument is not None else Decimal(1),
        )

    def session_pnl_by_sleeve(self) -> dict[str, Pnl] | None:
        """Each sleeve's P&L over the session's life, in the account currency; None while a position cannot be
        marked (no market price) or converted (no rate)."""
        from nautilus_trader.model.identifiers import InstrumentId

        marks: dict[str, Decimal | None] = {}
        rates: dict[str, Decimal | None] = {}
        for iid in self.ledger.instruments():
            instrument_id = InstrumentId.from_str(iid)
            marks[iid] = self.gate.reference_price(instrument_id, 0)
            instrument = self.host.node.kernel.cache.instrument(instrument_id)
            rates[iid] = self.gate.rate(instrument) if instrument is not None else None
        return self.ledger.pnl(marks, rates)

    def session_pnl(self) -> Decimal | None:
        """The session's P&L (realized over every round trip + unrealized - commissions), or None (see above)."""
        per_sleeve = self.session_pnl_by_sleeve()
        return PnlLedger.total(per_sleeve).total if per_sleeve is not None else None

    def check_breaker(self) -> None:
        """Feed the breaker the session's P&L now; trip it on a breach; keep the P&L for the account's breaker."""
        try:
            per_sleeve = self.session_pnl_by_sleeve()
            if per_sleeve is None:
                return
            total = PnlLedger.total(per_sleeve)
            self._publish_pnl(total, per_sleeve)
            pnl = total.total
            day = trading_day(self.host.node.kernel.clock.utc_now())
            self.last_mark = (day, pnl)
            trip = self.breaker.observe(pnl, day)
            if trip is not None:
                self._trip_breaker(trip)
        except Exception:
            log.exception("session %s: loss breaker check failed", self.host.session_id)

    def _publish_pnl(self, total: Pnl, per_sleeve: dict[str, Pnl]) -> None:
        """A telemetry event when the P&L moved by a cent (the pages and the P&L chart read these)."""
        payload = {**total.as_dict(), "sleeves": {sleeve: p.as_dict() for sleeve, p in per_sleeve.items()}}
        if payload != self._last_pnl_payload:
            self._last_pnl_payload = payload
            self.host.sink.emit("pnl", payload)

    def _trip_breaker(self, trip: Trip) -> None:
        """Only risk-reducing orders from now on; record, audit and alert off the loop."""
        self._apply_reducing(trip.reason)
        self.host.sink.emit("risk", {"breaker": "tripped", "rule": trip.rule, "reason": trip.reason, **trip.numbers})
        numbers = {"rule": trip.rule, **trip.numbers}
        self.host.node.get_event_loop().create_task(
            asyncio.to_thread(
                breaker_services.do_trip_breaker, self.host.session_id, trip.reason, numbers, self.host.actor
            )
        )

    def reset_breaker(self) -> None:
        """The operator reset it (the reset audited itself): trade again, re-armed from the P&L of now."""
        if not self.breaker.tripped:
            return
        pnl = self.session_pnl()
        self.breaker.reset(pnl if pnl is not None else self.breaker.day_start + self.breaker.daily)
        self.host.sink.emit("risk", {"breaker": "reset"})
        self._apply_reducing("loss breaker reset by an operator")

    def _apply_reducing(self, why: str) -> None:
        """Only risk-reducing orders while the session's or the account's breaker is tripped; say which changed."""
        from nautilus_trader.model.enums import TradingState

        reducing = self.breaker.tripped or self.account_tripped
        if reducing == self.gate.reducing:
            return
        self.gate.reducing = reducing
        if not self.host.kill_started:
            self.host.node.kernel.risk_engine.set_trading_state(
                TradingState.REDUCING if reducing else TradingState.ACTIVE
            )
        if reducing:
            self.host.sink.emit("status", {"status": "reducing", "reason": why})
        else:
            self.host.sink.emit("status", {"status": SessionStatus.RUNNING, "message": why})

    # -- the account's breaker (marks written off the loop; the verdict applied on it) ---------------------------

    def mark_account(self) -> None:
        """Send the latest P&L to the account's breaker unless a mark is still on its way (called by the supervisor)."""
        if self.last_mark is None or (self._account_mark is not None and not self._account_mark.done()):
            return
        self._account_mark = self._account_writer.submit(self._send_mark, self.last_mark)
        self._account_mark.add_done_callback(self._on_account_mark)

    def _send_mark(self, mark: tuple[dt.date, Decimal]) -> breaker_services.AccountBreakerState:
        day, pnl = mark
        try:
            with write_turn():
                return breaker_services.do_mark_account_pnl(
                    session_id=self.host.session_id,
                    day=day,
                    pnl=pnl,
                    max_daily_loss=self.caps.max_account_daily_loss,
                    max_drawdown=self.caps.max_account_drawdown,
                    actor=self.host.actor,
                )
        except Exception:
            connection.close()  # a broken connection (the database went away) is replaced on the next mark
            raise

    def _on_account_mark(self, future: Future) -> None:
        try:
            state = future.result()
        except Exception:
            log.exception("session %s: account loss breaker mark failed", self.host.session_id)
            return
        if state.tripped != self.account_tripped:
            self.host.node.get_event_loop().call_soon_threadsafe(self._apply_account_state, state)

    def _apply_account_state(self, state: breaker_services.AccountBreakerState) -> None:
        self.account_tripped = state.tripped
        self.host.sink.emit(
            "risk",
            {
                "account_breaker": "tripped" if state.tripped else "reset",
                "reason": state.reason,
                "daily": str(state.daily),
            },
        )
        self._apply_reducing(state.reason if state.tripped else "account loss breaker reset by an operator")

    def close(self) -> None:
        """Send the last P&L to the account's breaker (a loss taken just before the end still counts); stop the
        writer. Runs off the node's loop, once it has stopped."""
        try:
            if self._account_mark is not None:
                self._account_mark.result(timeout=INTENT_AUDIT_TIMEOUT_SECONDS)
            if self.last_mark is not None:
                self._send_mark(self.last_mark)
        except Exception:
            log.exception("session %s: last account loss breaker mark failed", self.host.session_id)
        finally:
            self._account_writer.shutdown(wait=False)
