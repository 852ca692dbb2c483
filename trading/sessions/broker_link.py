"""A short-lived, synchronous connection to an IB gateway for the acts that must not need a session's host: global
cancel, the account's working orders and positions, and market orders that close a position.

Built on the official client (nautilus-ibapi's EClient/EWrapper) with its reader and message loop on plain threads,
not on ib_async: ib_async binds itself to one asyncio loop per process (util.getLoop is cached process-wide), and
this link is opened from places that cannot own that loop (a web request's thread, the gateway monitor's process,
whose own ib_async connections are bound to its loop). Every wait has a timeout; no call blocks forever.

Django-free.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.wrapper import EWrapper

log = logging.getLogger(__name__)

# Order statuses after which an order can no longer trade.
DONE_STATUSES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
# Errors that end an order (rejected or cancelled by the broker), as the Nautilus adapter reads them.
ORDER_ENDING_ERRORS = frozenset({201, 202, 203, 321})
CLIENT_ID_IN_USE = 326
CONNECT_FAIL = 502  # the client's own code for a socket it could not connect
INFO_CODES = range(2100, 2200)  # "market data farm connection is OK" and the like: not problems


class BrokerLinkError(Exception):
    """The gateway could not be reached or did not answer; the message is one line saying which and why."""


@dataclass(frozen=True)
class BrokerPosition:
    """One position of an account at the broker."""

    account: str
    symbol: str
    con_id: int
    quantity: Decimal


@dataclass(frozen=True)
class WorkingOrder:
    """One working order of an account at the broker."""

    account: str
    symbol: str
    perm_id: int
    status: str


@dataclass
class OrderOutcome:
    """What became of an order this link placed."""

    order_id: int
    status: str = "PendingSubmit"
    filled: Decimal = Decimal(0)
    error: str = ""

    @property
    def done(self) -> bool:
        """The order can no longer trade."""
        return self.status in DONE_STATUSES


class BrokerLink(EWrapper, EClient):  # type: ignore[misc]  # the IB client ships no type information
    """One API connection under its own client id; use as a context manager (opens and closes it)."""

    def __init__(self, host: str, port: int, client_id: int, timeout: float = 5.0) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.where = f"{host}:{port}"
        self.gateway_host, self.gateway_port, self.client_id, self.timeout = host, port, client_id, timeout
        self._changed = threading.Condition()
        self._next_order_id: int | None = None
        self._accounts: list[str] | None = None
        self._errors: list[tuple[int, int, str]] = []  # (req id, code, text)
        self._positions: list[BrokerPosition] | None = None
        self._positions_done = False
        self._working: list[WorkingOrder] | None = None
        self._working_done = False
        self._orders: dict[int, OrderOutcome] = {}
        self._loop: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def __enter__(self) -> BrokerLink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> list[str]:
        """Connect, start the message loop, and return the accounts the gateway manages."""
        # EClient.connect blocks in a socket connect and a handshake loop that waits as long as a silent gateway
        # stays silent: run it aside, and give up (closing the socket ends that loop) when the time is up.
        handshake = threading.Thread(
            target=self.connect,
            args=(self.gateway_host, self.gateway_port, self.client_id),
            name=f"ib-link-connect-{self.client_id}",
            daemon=True,
        )
        handshake.start()
        handshake.join(self.timeout)
        if handshake.is_alive() or not self.isConnected():
            self.close()
            raise BrokerLinkError(self._connect_failure())
        self._loop = threading.Thread(target=self.run, name=f"ib-link-{self.client_id}", daemon=True)
        self._loop.start()
        if not self._wait(lambda: self._next_order_id is not None and self._accounts is not None, self.timeout):
            self.close()
            raise BrokerLinkError(self._connect_failure())
        return list(self._accounts or [])

    def _connect_failure(self) -> str:
        codes = {code for _, code, _ in self._errors}
        if CLIENT_ID_IN_USE in codes:
            return f"client id {self.client_id} is already in use at the gateway at {self.where}"
        if CONNECT_FAIL in codes:
            return f"cannot connect to the gateway at {self.where}: connection refused or unreachable"
        if self._errors:
            _, code, text = self._errors[-1]
            return f"cannot connect to the gateway at {self.where}: {code} {' '.join(text.split())[:200]}"
        return f"no API handshake from the gateway at {self.where} within {self.timeout:g}s"

    def close(self) -> None:
        """Disconnect (orders already sent stay sent) and let the message loop end."""
        try:
            self.disconnect()
        except Exception:  # closing a half-open socket must not hide what went wrong before it
            log.debug("ib link %s: disconnect failed", self.client_id, exc_info=True)
        if self._loop is not None and self._loop is not threading.current_thread():
            self._loop.join(2.0)

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.2))
            return True

    def _require_connected(self) -> None:
        if not self.isConnected():
            raise BrokerLinkError(f"the gateway at {self.where} closed the API connection")

    # -- requests -------------------------------------------------------------------------------------------------

    def global_cancel(self) -> None:
        """IB's global cancel: every working order of every account of this gateway session, whoever placed it."""
        self._require_connected()
        self.reqGlobalCancel(OrderCancel())

    def working_orders(self, account: str) -> list[WorkingOrder]:
        """The account's working orders as the broker reports them now (every client id's)."""
        self._require_connected()
        with self._changed:
            self._working, self._working_done = [], False
        self.reqAllOpenOrders()
        if not self._wait(lambda: self._working_done, self.timeout):
            raise BrokerLinkError(f"the gateway at {self.where} did not list its open orders within {self.timeout:g}s")
        return [o for o in self._working or [] if o.account == account and o.status not in DONE_STATUSES]

    def positions(self, account: str) -> list[BrokerPosition]:
        """The account's open positions as the broker reports them now (flat ones left out)."""
        self._require_connected()
        with self._changed:
            self._positions, self._positions_done = [], False
        self.reqPositions()
        try:
            if not self._wait(lambda: self._positions_done, self.timeout):
                raise BrokerLinkError(f"the gateway at {self.where} did not report positions within {self.timeout:g}s")
        finally:
            if self.isConnected():
                self.cancelPositions()
        return [p for p in self._positions or [] if p.account == account and p.quantity != 0]

    def close_position(self, position: BrokerPosition, order_ref: str) -> int:
        """Send a market order for the opposite of the position; return its order id."""
        self._require_connected()
        contract = Contract()
        contract.conId = position.con_id
        contract.symbol = position.symbol
        contract.secType = "STK"
        contract.exchange = "SMART"  # a position's contract names no exchange; orders need one
        order = Order()
        order.action = "SELL" if position.quantity > 0 else "BUY"
        order.orderType = "MKT"
        order.totalQuantity = abs(position.quantity)
        order.tif = "DAY"
        order.account = position.account
        order.transmit = True
        with self._changed:
            assert self._next_order_id is not None  # set before open() returns
            order_id = self._next_order_id
            self._next_order_id += 1
            self._orders[order_id] = OrderOutcome(order_id)
        # Nautilus reads "<client order id>:<order id>" from orderRef when it reconciles an order it finds.
        order.orderRef = f"{order_ref}:{order_id}"
        self.placeOrder(order_id, contract, order)
        return order_id

    def wait_done(self, order_id: int, timeout: float) -> OrderOutcome:
        """Wait until the order can no longer trade (or the time is up); return what became of it."""
        self._wait(lambda: self._orders[order_id].done or not self.isConnected(), timeout)
        with self._changed:
            outcome = self._orders[order_id]
            return OrderOutcome(outcome.order_id, outcome.status, outcome.filled, outcome.error)

    def errors(self) -> list[tuple[int, int, str]]:
        """The gateway's error messages so far (request id, code, text), informational ones left out."""
        with self._changed:
            return list(self._errors)

    # -- callbacks (the message loop's thread) -------------------------------------------------------------------

    def _notify(self, change: Callable[[], None]) -> None:
        with self._changed:
            change()
            self._changed.notify_all()

    def nextValidId(self, orderId: int) -> None:
        def change() -> None:
            self._next_order_id = max(orderId, self._next_order_id or 0)

        self._notify(change)

    def managedAccounts(self, accountsList: str) -> None:
        def change() -> None:
            self._accounts = [a for a in accountsList.split(",") if a]

        self._notify(change)

    def error(
        self, reqId: int, errorTime: int, errorCode: int, errorString: str, advancedOrderRejectJson: str = ""
    ) -> None:
        if errorCode in INFO_CODES:
            return

        def change() -> None:
            self._errors.append((reqId, errorCode, errorString))
            order = self._orders.get(reqId)
            if order is not None and errorCode in ORDER_ENDING_ERRORS:
                order.error = f"{errorCode} {errorString}".strip()
                order.status = "Cancelled" if errorCode == 202 else "Inactive"

        self._notify(change)

    def orderStatus(
        self,
        orderId: int,
        status: str,
        filled: Decimal,
        remaining: Decimal,
        avgFillPrice: float,
        permId: int,
        parentId: int,
        lastFillPrice: float,
        clientId: int,
        whyHeld: str,
        mktCapPrice: float,
    ) -> None:
        def change() -> None:
            order = self._orders.get(orderId)
            if order is not None and not order.done:
                order.status, order.filled = status, Decimal(str(filled))

        self._notify(change)

    def openOrder(self, orderId: int, contract: Contract, order: Order, orderState: object) -> None:
        def change() -> None:
            if self._working is not None and not self._working_done:
                status = str(getattr(orderState, "status", ""))
                self._working.append(WorkingOrder(order.account, contract.symbol, order.permId, status))

        self._notify(change)

    def openOrderEnd(self) -> None:
        def change() -> None:
            self._working_done = True

        self._notify(change)

    def position(self, account: str, contract: Contract, position: Decimal, avgCost: float) -> None:
        def change() -> None:
            if self._positions is not None and not self._positions_done:
                self._positions.append(BrokerPosition(account, contract.symbol, contract.conId, Decimal(str(position))))

        self._notify(change)

    def positionEnd(self) -> None:
        def change() -> None:
            self._positions_done = True

        self._notify(change)

    def connectionClosed(self) -> None:
        self._notify(lambda: None)  # wake every waiter: it checks isConnected
