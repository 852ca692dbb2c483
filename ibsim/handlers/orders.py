"""Orders: place (new, modify, what-if), cancel, global cancel, open / completed orders, executions, order ids;
and the broker's order events turned into messages for the clients that own the orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import protocol as P
from ..broker import BrokerError, Order
from ..connection import Connection
from ..contracts import CONTRACTS, StockContract
from ..market import parse_end_time
from .base import Area, Handler


class OrderHandlers(Area):
    def handlers(self) -> dict[str, Handler]:
        return {
            "PLACE_ORDER": self.place_order,
            "CANCEL_ORDER": self.cancel_order,
            "REQ_GLOBAL_CANCEL": self.req_global_cancel,
            "REQ_OPEN_ORDERS": self.req_open_orders,
            "REQ_ALL_OPEN_ORDERS": self.req_all_open_orders,
            "REQ_AUTO_OPEN_ORDERS": lambda c, r: None,
            "REQ_COMPLETED_ORDERS": self.req_completed_orders,
            "REQ_EXECUTIONS": self.req_executions,
            "REQ_IDS": self.req_ids,
        }

    def targets(self, order: Order) -> list[Connection]:
        # Order messages go to the owning client id; client 0 (the TWS/master session) sees all.
        return [c for c in self.gw.ready() if c.client_id == order.client_id or c.client_id == 0]

    @staticmethod
    def contract_of(order: Order) -> StockContract:
        return CONTRACTS[order.symbol]

    def req_ids(self, conn: Connection, req: P.Request) -> None:
        assert conn.client_id is not None  # only startApi runs before the session is ready (see dispatch)
        conn.send(P.next_valid_id(self.broker.next_valid_id(conn.client_id)))

    def place_order(self, conn: Connection, req: P.Request) -> None:
        found = self.contract(conn, req, "orderId")
        if found is None:
            return
        order_id, c = found
        assert conn.client_id is not None  # only startApi runs before the session is ready (see dispatch)
        what_if = req.args.get("whatIf") == "1"
        existing = self.broker.find(conn.client_id, order_id)
        if existing is not None and existing.is_open and not what_if:
            self.gw.after_ack(lambda: self._guard(conn, order_id, self.broker.modify, existing, req.args, self.market))
            return
        if existing is not None and not what_if:
            conn.error(order_id, 103, "Duplicate order id")
            return
        try:
            order = self.broker.new_order(conn.client_id, order_id, req.args, c)
        except BrokerError as exc:
            conn.error(order_id, exc.code, exc.text)
            return
        if what_if:
            # A what-if order is answered with its margin and commission impact, to the asking client only, and
            # never becomes an order.
            conn.send(P.open_order(order, c, what_if=self.broker.what_if(order, self.market)))
            return
        self.gw.after_ack(lambda: self.broker.submit(order, self.market))

    @staticmethod
    def _guard(conn: Connection, req_id: int, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except BrokerError as exc:
            conn.error(req_id, exc.code, exc.text)

    def cancel_order(self, conn: Connection, req: P.Request) -> None:
        order_id = P.to_int(req.args["orderId"])

        def do() -> None:
            assert conn.client_id is not None  # only startApi runs before the session is ready (see dispatch)
            order = self.broker.find(conn.client_id, order_id)
            if order is None:
                conn.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found.")
                return
            self._guard(conn, order_id, self.broker.cancel, order)

        self.gw.after_ack(do)

    def req_global_cancel(self, conn: Connection, req: P.Request) -> None:
        self.gw.after_ack(self.broker.cancel_all)

    def send_open(self, conn: Connection, o: Order) -> None:
        conn.send(P.open_order(o, self.contract_of(o)))
        conn.send(P.order_status(o))

    def req_open_orders(self, conn: Connection, req: P.Request) -> None:
        for o in self.broker.working():
            if o.client_id == conn.client_id or conn.client_id == 0:
                self.send_open(conn, o)
        conn.send(P.open_order_end())

    def req_all_open_orders(self, conn: Connection, req: P.Request) -> None:
        for o in self.broker.working():
            self.send_open(conn, o)
        conn.send(P.open_order_end())

    def req_completed_orders(self, conn: Connection, req: P.Request) -> None:
        api_only = req.args.get("apiOnly") == "1"
        for o in self.broker.orders.values():
            if o.status in ("Filled", "Cancelled", "Inactive") and not (api_only and o.placed_elsewhere):
                conn.send(P.completed_order(o, self.contract_of(o), o.completed_time))
        conn.send(P.completed_orders_end())

    def req_executions(self, conn: Connection, req: P.Request) -> None:
        a = req.args
        req_id = P.to_int(a.get("reqId"))
        client = P.to_int(a.get("clientId"))
        acct = a.get("acctCode") or ""
        since = (a.get("time") or "").strip()
        symbol = (a.get("symbol") or "").upper()
        side = (a.get("side") or "").upper()
        since_epoch = None
        if since:
            try:
                since_epoch = parse_end_time(since.replace("  ", " "), 0)
            except (ValueError, IndexError, OverflowError):
                conn.error(req_id, 321, f"Error validating request.-'bX' : cause - Invalid time filter {since!r}")
                return
        for e in self.broker.executions:
            if client and e.client_id != client:
                continue
            if acct and e.account != acct:
                continue
            if symbol and e.symbol != symbol:
                continue
            if side and e.side != {"BUY": "BOT", "SELL": "SLD"}.get(side, side):
                continue
            if since_epoch is not None and e.epoch < since_epoch:
                continue
            conn.send(P.execution_data(req_id, e, CONTRACTS[e.symbol]))
            conn.send(P.commission_report(e.exec_id, e.commission, "USD", e.realized))
        conn.send(P.execution_data_end(req_id))

    # ---------------------------------------------------------------- broker events -> clients

    def on_order_event(self, kind: str, order: Order, info: dict[str, Any]) -> None:
        targets = self.targets(order)
        c = self.contract_of(order)
        if kind == "open":
            for conn in targets:
                self.send_open(conn, order)
        elif kind == "fill":
            ex = info["execution"]
            for conn in targets:
                conn.send(P.execution_data(-1, ex, c))
                conn.send(P.order_status(order))
                if order.status == "Filled":
                    conn.send(P.open_order(order, c))
                conn.send(P.commission_report(ex.exec_id, ex.commission, "USD", ex.realized))
        elif kind == "cancelled":
            for conn in targets:
                conn.send(P.order_status(order))
                conn.error(order.order_id, 202, "Order Canceled - reason:" + info.get("reason", ""))
        elif kind == "reject":
            for conn in targets:
                conn.error(order.order_id, info["code"], info["text"])
                conn.send(P.order_status(order))
