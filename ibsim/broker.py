"""The simulated broker: accounts, positions, orders, executions and commissions.

It knows nothing about sockets. Connections come and go; this state stays (and is saved to
``--state FILE``), which is what reconciliation after a disconnect or restart relies on.
Every change is announced to listeners as ``(kind, order, info)`` events; the server turns
them into TWS messages.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .contracts import CONTRACTS, StockContract
from .margin import MarginFigures, MarginModel

if TYPE_CHECKING:
    from .market import Market

WORKING = ("PreSubmitted", "Submitted")
HELD = "PendingSubmit"  # placed with transmit=False: kept by the gateway, never matched, until transmitted
DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")
ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")
TIFS = ("DAY", "GTC", "IOC", "FOK", "GTD")
# Stop trigger methods ibsim models (IB's triggerMethod): 0 default (last for US stocks), 2 last, 4 bid/ask, 8 midpoint.
TRIGGER_METHODS = (0, 2, 4, 8)


@dataclass
class Order:
    perm_id: int
    order_id: int
    client_id: int
    account: str
    symbol: str
    action: str  # BUY / SELL
    total_quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    order_ref: str = ""
    exchange: str = "SMART"
    outside_rth: bool = False
    parent_id: int = 0
    good_till_date: str = ""
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    commission_charged: float = 0.0
    triggered: bool = False
    created: float = 0.0
    completed_time: str = ""
    reject_reason: str = ""
    placed_elsewhere: bool = False
    oca_group: str = ""
    oca_type: int = 0
    transmit: bool = True
    all_or_none: bool = False
    trigger_method: int = 0
    expires: float = 0.0  # GTD: simulated epoch seconds after which the order is cancelled

    @property
    def remaining(self) -> float:
        return max(self.total_quantity - self.filled, 0.0)

    @property
    def is_working(self) -> bool:
        return self.status in WORKING

    @property
    def is_open(self) -> bool:
        """Working or held: the gateway may still fill it once transmitted."""
        return self.status in WORKING or self.status == HELD


@dataclass(frozen=True)
class WhatIf:
    """The margin and commission impact of an order, as a what-if answer reports it."""

    before: MarginFigures
    after: MarginFigures
    commission: float
    warning: str


@dataclass
class Execution:
    exec_id: str
    perm_id: int
    order_id: int
    client_id: int
    account: str
    symbol: str
    side: str  # BOT / SLD
    shares: float
    price: float
    time: str  # YYYYMMDD HH:MM:SS UTC
    epoch: float
    cum_qty: float
    avg_price: float
    order_ref: str
    exchange: str
    order_exchange: str
    commission: float
    realized: float | None
    last_liquidity: int = 2  # removed liquidity


@dataclass
class Position:
    qty: float = 0.0
    avg_cost: float = 0.0  # per share, commissions of opening trades included (as IB reports)
    realized: float = 0.0


@dataclass
class Account:
    account_id: str
    cash: float
    positions: dict[str, Position] = field(default_factory=dict)
    realized: float = 0.0
    commissions: float = 0.0


@dataclass
class Commission:
    """IB US stock commission schedules (per share, per order minimum, 1% of value cap)."""

    schedule: str = "fixed"  # "fixed": $0.005/sh, min $1.00; "tiered": $0.0035/sh + fees, min $0.35

    def total(self, shares: float, value: float) -> float:
        """Commission owed for an order after ``shares`` filled worth ``value``."""
        if shares <= 0:
            return 0.0
        # Tiered: the lowest-volume tier plus exchange (0.003) and clearing (0.0002) fees per share.
        tiered = max(0.0035 * shares, 0.35) + 0.0032 * shares
        raw = tiered if self.schedule == "tiered" else max(0.005 * shares, 1.0)
        return round(min(raw, 0.01 * value) if value > 0 else raw, 4)


class BrokerError(Exception):
    """An order the broker refuses, with the TWS error code to report."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


Listener = Callable[[str, "Order | None", dict[str, Any]], None]


class Broker:
    """Accounts, orders and executions of the simulated gateway."""

    def __init__(
        self,
        accounts: list[str],
        cash: float = 1_000_000.0,
        commission: str = "fixed",
        partial_fill_qty: float | None = None,
        slippage_ticks: int = 0,
        state_file: str | Path | None = None,
        perm_id_base: int = 1_400_000_000,
        account_kind: str = "margin",
        session_open: Callable[[Order], bool] | None = None,
    ):
        self.accounts: dict[str, Account] = {a: Account(a, cash) for a in accounts}
        self.margin = MarginModel(account_kind)
        # Whether an order may trade now (its session, regular hours or outside them); the default never closes.
        self.session_open: Callable[[Order], bool] = session_open or (lambda order: True)
        self.commission = Commission(commission)
        self.partial_fill_qty = partial_fill_qty
        self.slippage_ticks = slippage_ticks
        self.orders: dict[int, Order] = {}  # by permId
        self.executions: list[Execution] = []
        self.next_perm_id = perm_id_base
        self.next_ids: dict[int, int] = {}  # client id -> next valid order id
        self.exec_seq = 0
        self.listeners: list[Listener] = []
        self.state_file = Path(state_file) if state_file else None
        self.reject_next = 0
        self.last_day: str = ""
        self._by_id: dict[tuple[int, int], Order] = {}
        self._children: dict[tuple[int, int], list[Order]] = {}
        self._oca: dict[tuple[str, str], list[Order]] = {}
        # Unrealized and realized P&L of each position at the start of the trading day (daily P&L's baseline).
        self.day_start: dict[str, dict[str, tuple[float, float]]] = {}
        if self.state_file and self.state_file.exists():
            self.load(self.state_file, accounts)

    # ---------------------------------------------------------------- events and persistence

    def emit(self, kind: str, order: Order | None, **info: Any) -> None:
        for fn in list(self.listeners):
            fn(kind, order, info)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": {a: asdict(acc) for a, acc in self.accounts.items()},
            "orders": [asdict(o) for o in self.orders.values()],
            "executions": [asdict(e) for e in self.executions],
            "next_perm_id": self.next_perm_id,
            "next_ids": {str(k): v for k, v in self.next_ids.items()},
            "exec_seq": self.exec_seq,
        }

    def save(self, path: str | Path | None = None) -> None:
        """Write the state atomically to ``path`` (default: the configured state file)."""
        path = Path(path) if path else self.state_file
        if not path:
            return
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)

    def load(self, path: Path, accounts: list[str]) -> None:
        """Restore a saved state; accounts given on the command line are added if missing."""
        data = json.loads(path.read_text())
        self.accounts = {}
        for a, acc in data["accounts"].items():
            positions = {s: Position(**p) for s, p in acc.pop("positions").items()}
            self.accounts[a] = Account(positions=positions, **acc)
        for a in accounts:
            self.accounts.setdefault(a, Account(a, 1_000_000.0))
        self.orders = {o["perm_id"]: Order(**o) for o in data["orders"]}
        self._reindex()
        self.executions = [Execution(**e) for e in data["executions"]]
        self.next_perm_id = data["next_perm_id"]
        self.next_ids = {int(k): v for k, v in data["next_ids"].items()}
        self.exec_seq = data["exec_seq"]

    # ---------------------------------------------------------------- ids

    def next_valid_id(self, client_id: int) -> int:
        return self.next_ids.get(client_id, 1)

    def _use_id(self, client_id: int, order_id: int) -> None:
        self.next_ids[client_id] = max(self.next_ids.get(client_id, 1), order_id + 1)

    def find(self, client_id: int, order_id: int) -> Order | None:
        """The order a client knows by ``order_id`` (the newest if ids were reused)."""
        return self._by_id.get((client_id, order_id))

    def _store(self, order: Order) -> None:
        """Keep an order, and index it by (client id, order id), by parent and by OCA group."""
        known = order.perm_id in self.orders
        self.orders[order.perm_id] = order
        self._by_id[(order.client_id, order.order_id)] = order
        if known:
            return
        if order.parent_id:
            self._children.setdefault((order.client_id, order.parent_id), []).append(order)
        if order.oca_group:
            self._oca.setdefault((order.account, order.oca_group), []).append(order)

    def _reindex(self) -> None:
        orders, self.orders = self.orders, {}
        self._by_id, self._children, self._oca = {}, {}, {}
        for o in orders.values():
            self._store(o)

    # ---------------------------------------------------------------- orders

    def new_order(self, client_id: int, order_id: int, args: dict[str, Any], contract: StockContract) -> Order:
        """Validate a placeOrder request and create the order (not yet acknowledged).

        Raises BrokerError: 321 for a malformed order, 201 for one that uses a feature ibsim does not model
        (the order is then not placed at all: never placed with the feature silently dropped).
        """
        account = args.get("account") or ""
        if not account:
            account = next(iter(self.accounts))
        if account not in self.accounts:
            raise BrokerError(
                321,
                f"Error validating request.-'bN' : cause - The account code {account} is not managed by this session",
            )
        action = (args.get("action") or "").upper()
        if action not in ("BUY", "SELL"):
            raise BrokerError(321, f"Error validating request.-'bK' : cause - Invalid side {action}")
        qty = _num(args.get("totalQuantity"))
        if not qty or qty <= 0 or not math.isfinite(qty):
            raise BrokerError(321, "Error validating request.-'bP' : cause - Order quantity must be positive")
        order_type = (args.get("orderType") or "").upper()
        if order_type not in ORDER_TYPES:
            # 201, not 387: both clients take 201 as a rejection (Nautilus leaves a 387 order pending).
            raise BrokerError(
                201,
                f"Order rejected - reason:ibsim does not model the order type {order_type} (it models {ORDER_TYPES})",
            )
        lmt = _num(args.get("lmtPrice"))
        aux = _num(args.get("auxPrice"))
        if order_type in ("LMT", "STP LMT") and (lmt is None or lmt <= 0 or not math.isfinite(lmt)):
            raise BrokerError(321, "Error validating request.-'bQ' : cause - Limit price is missing")
        if order_type in ("STP", "STP LMT") and (aux is None or aux <= 0 or not math.isfinite(aux)):
            raise BrokerError(321, "Error validating request.-'bR' : cause - Stop price is missing")
        tif = (args.get("tif") or "DAY").upper()
        if tif not in TIFS:
            raise BrokerError(
                201, f"Order rejected - reason:ibsim does not model the time in force {tif} (it models {TIFS})"
            )
        expires = 0.0
        if tif == "GTD":
            expires = _gtd_epoch(args.get("goodTillDate") or "")
        unsupported = unmodelled_features(args)
        if unsupported:
            raise BrokerError(201, f"Order rejected - reason:ibsim does not model {unsupported}; order not placed")
        trigger_method = int(_num(args.get("triggerMethod")) or 0)
        if trigger_method not in TRIGGER_METHODS:
            raise BrokerError(
                201, f"Order rejected - reason:ibsim does not model trigger method {trigger_method}; order not placed"
            )
        oca_type = int(_num(args.get("ocaType")) or 0)
        if oca_type not in (0, 1, 2, 3):
            raise BrokerError(321, f"Error validating request.-'bU' : cause - Invalid OCA type {oca_type}")
        self._use_id(client_id, order_id)
        order = Order(
            perm_id=self.next_perm_id,
            order_id=order_id,
            client_id=client_id,
            account=account,
            symbol=contract.symbol,
            action=action,
            total_quantity=qty,
            order_type=order_type,
            lmt_price=lmt if order_type in ("LMT", "STP LMT") else None,
            aux_price=aux if order_type in ("STP", "STP LMT") else None,
            tif=tif,
            order_ref=args.get("orderRef") or "",
            exchange=(args.get("contract", {}).get("exchange") or args.get("exchange") or "SMART"),
            outside_rth=args.get("outsideRth") == "1",
            parent_id=int(_num(args.get("parentId")) or 0),
            good_till_date=(args.get("goodTillDate") or "") if tif == "GTD" else "",
            created=time.time(),
            oca_group=args.get("ocaGroup") or "",
            oca_type=oca_type or (1 if args.get("ocaGroup") else 0),
            transmit=args.get("transmit") != "0",
            all_or_none=args.get("allOrNone") == "1",
            trigger_method=trigger_method,
            expires=expires,
        )
        self.next_perm_id += 1
        return order

    def submit(self, order: Order, market: Market) -> None:
        """Take a new order: hold it (transmit=False), or transmit it with any held parent and siblings."""
        self._store(order)
        if order.parent_id:
            parent = self.find(order.client_id, order.parent_id)
            if parent is None or parent.perm_id == order.perm_id:
                self._reject(order, 135, f"Can't find order with id = {order.parent_id}")
                return
            if parent.status in DONE and parent.status != "Filled":
                self._reject(order, 201, f"Order rejected - reason:Parent order {parent.order_id} is {parent.status}")
                return
        order.status = HELD
        if order.transmit:
            self._transmit(order, market)

    def accept(self, order: Order, market: Market) -> None:
        """Acknowledge a transmitted order (kept for callers of the old API: same as submit)."""
        self.submit(order, market)

    def _transmit(self, order: Order, market: Market) -> None:
        # Transmitting an order transmits its held ancestors and every held order attached to them (a bracket's
        # parent and children go together when the last child arrives with transmit=True).
        root = order
        while root.parent_id:
            parent = self.find(root.client_id, root.parent_id)
            if parent is None or parent.status != HELD:
                break
            root = parent
        chain = [root] + self._descendants(root)
        for o in chain:
            if o.status == HELD:
                self._accept(o, market)

    def _descendants(self, order: Order) -> list[Order]:
        out: list[Order] = []
        for child in self.children(order):
            out.append(child)
            out += self._descendants(child)
        return out

    def children(self, order: Order) -> list[Order]:
        """Orders attached to ``order`` (parentId), oldest first."""
        kids = self._children.get((order.client_id, order.order_id), ())
        return [o for o in kids if o.perm_id != order.perm_id and o.perm_id > order.perm_id]

    def parent_of(self, order: Order) -> Order | None:
        return self.find(order.client_id, order.parent_id) if order.parent_id else None

    def _accept(self, order: Order, market: Market) -> None:
        if self.reject_next > 0:
            self.reject_next -= 1
            self._reject(order, 201, "Order rejected - reason:Simulated rejection (ibsim fault injection)")
            return
        parent = self.parent_of(order)
        if parent is not None and parent.status in DONE and parent.status != "Filled":
            self._reject(order, 201, f"Order rejected - reason:Parent order {parent.order_id} is {parent.status}")
            return
        refusal = self.margin_refusal(order, market, order.remaining)
        if refusal:
            self._reject(order, 201, f"Order rejected - reason:{refusal}")
            return
        order.transmit = True
        order.status = "PreSubmitted"
        self.emit("open", order)
        self._activate(order, market)

    def _reject(self, order: Order, code: int, text: str) -> None:
        order.status = "Inactive"
        order.reject_reason = text
        order.completed_time = _now_str()
        self._store(order)
        self.emit("reject", order, code=code, text=text)
        for child in self.children(order):
            if child.is_open:
                self._reject(child, 201, f"Order rejected - reason:Parent order {order.order_id} was rejected")

    def _activate(self, order: Order, market: Market) -> None:
        """PreSubmitted -> Submitted once its parent has filled and its session is open; then match it."""
        if order.status != "PreSubmitted":
            return
        parent = self.parent_of(order)
        if parent is not None and parent.status != "Filled":
            return
        if not self.session_open(order):
            return
        order.status = "Submitted"
        self.emit("open", order)
        self.try_fill(order, market)

    def modify(self, order: Order, args: dict[str, Any], market: Market) -> None:
        """Apply a placeOrder for an existing open order id (price or quantity change; transmit a held one)."""
        qty = _num(args.get("totalQuantity"))
        if qty and qty > 0:
            if qty < order.filled:
                raise BrokerError(321, "Error validating request.-'bT' : cause - Quantity below filled")
            if qty > order.total_quantity and order.status != HELD:
                refusal = self.margin_refusal(order, market, qty - order.total_quantity)
                if refusal:
                    raise BrokerError(201, f"Order rejected - reason:{refusal}")
            order.total_quantity = qty
        if order.order_type in ("LMT", "STP LMT") and _num(args.get("lmtPrice")):
            order.lmt_price = _num(args.get("lmtPrice"))
        if order.order_type in ("STP", "STP LMT") and _num(args.get("auxPrice")):
            order.aux_price = _num(args.get("auxPrice"))
        if args.get("orderRef"):
            order.order_ref = args["orderRef"]
        if order.status == HELD:
            if args.get("transmit") != "0":
                self._transmit(order, market)
            return
        self.emit("open", order)
        if order.status == "Submitted":
            self.try_fill(order, market)

    def cancel(self, order: Order, reason: str = "") -> None:
        """Cancel an open order, and the orders attached to it."""
        if not order.is_open:
            raise BrokerError(
                10148,
                f"OrderId {order.order_id} that needs to be cancelled cannot be cancelled, state: {order.status}.",
            )
        order.status = "Cancelled"
        order.completed_time = _now_str()
        self.emit("cancelled", order, reason=reason)
        for child in self.children(order):
            if child.is_open:
                self.cancel(child, reason=f"parent order {order.order_id} cancelled")

    def cancel_all(self) -> list[Order]:
        """Global cancel: every open order of every client."""
        done = []
        for o in list(self.orders.values()):
            if o.is_open:
                self.cancel(o)
                done.append(o)
        return done

    def working(self) -> list[Order]:
        return [o for o in self.orders.values() if o.is_working]

    # ---------------------------------------------------------------- margin

    def margin_figures(self, account: str, market: Market, symbol: str = "", delta: float = 0.0) -> MarginFigures:
        """Margin figures of an account now, or with ``delta`` shares of ``symbol`` bought (negative: sold)."""
        acc = self.accounts[account]
        values = {s: p.qty * market.last(s) for s, p in acc.positions.items() if p.qty}
        cash = acc.cash
        if symbol and delta:
            price = market.last(symbol)
            values[symbol] = values.get(symbol, 0.0) + delta * price
            cash -= delta * price
        return self.margin.figures(cash, values)

    def margin_refusal(self, order: Order, market: Market, qty: float) -> str | None:
        """Why ``qty`` more shares of ``order`` would break the account's margin rules, or None."""
        sign = 1 if order.action == "BUY" else -1
        pending = 0.0
        parent = self.parent_of(order)
        if parent is not None and parent.status != "Filled" and parent.symbol == order.symbol:
            # An attached order is judged as if its parent had filled (a bracket's closing children).
            pending = parent.remaining * (1 if parent.action == "BUY" else -1)
        held = self.accounts[order.account].positions.get(order.symbol)
        start = (held.qty if held else 0.0) + pending
        end = start + sign * qty
        if abs(end) <= abs(start) and end * start >= 0:
            return None  # it only reduces a position: it can only lower the margin
        before = self.margin_figures(order.account, market, order.symbol, pending)
        after = self.margin_figures(order.account, market, order.symbol, pending + sign * qty)
        return self.margin.refusal(before, after, opens_short=end < 0 and end < start)

    def what_if(self, order: Order, market: Market) -> WhatIf:
        """The margin and commission impact of an order, without placing it."""
        sign = 1 if order.action == "BUY" else -1
        before = self.margin_figures(order.account, market)
        after = self.margin_figures(order.account, market, order.symbol, sign * order.total_quantity)
        price = market.last(order.symbol)
        commission = self.commission.total(order.total_quantity, order.total_quantity * price)
        return WhatIf(before, after, commission, self.margin_refusal(order, market, order.total_quantity) or "")

    # ---------------------------------------------------------------- matching

    def on_market(self, market: Market, day: str) -> None:
        """Expire DAY orders at day change and GTD orders at their time; activate and match the rest."""
        if self.last_day and day != self.last_day:
            for o in list(self.orders.values()):
                if o.is_open and o.tif == "DAY":
                    self.cancel(o, reason="expired at end of day")
        if day != self.last_day:
            self.day_start = {
                a: {s: (self._unrealized(p, s, market), p.realized) for s, p in acc.positions.items()}
                for a, acc in self.accounts.items()
            }
        self.last_day = day
        now = market.clock.now()
        for o in list(self.orders.values()):
            if o.expires and o.is_open and now >= o.expires:
                self.cancel(o, reason="good-till-date reached")
            elif o.status == "PreSubmitted":
                self._activate(o, market)
            elif o.status == "Submitted":
                self.try_fill(o, market)

    def _stop_touched(self, order: Order, market: Market) -> bool:
        bid, ask, last, *_ = market.quote(order.symbol)
        stop = order.aux_price
        if stop is None:  # only a seeded order can lack it
            raise TypeError(f"{order.order_type} order {order.perm_id} has no stop price")
        buy = order.action == "BUY"
        if order.trigger_method == 4:  # bid/ask: a buy stop on the ask, a sell stop on the bid
            ref = ask if buy else bid
        elif order.trigger_method == 8:
            ref = (bid + ask) / 2
        else:
            ref = last
        return (buy and ref >= stop) or (not buy and ref <= stop)

    def try_fill(self, order: Order, market: Market) -> None:
        """Fill (part of) a live order if the market allows it."""
        if order.status != "Submitted" or order.remaining <= 0:
            return
        if not self.session_open(order):
            return
        c = CONTRACTS[order.symbol]
        bid, ask, last, *_ = market.quote(order.symbol)
        buy = order.action == "BUY"
        slip = self.slippage_ticks * c.min_tick * (1 if buy else -1)
        price = None
        if order.order_type in ("STP", "STP LMT") and not order.triggered:
            if not self._stop_touched(order, market):
                if order.tif in ("IOC", "FOK"):
                    self.cancel(order, reason=f"{order.tif} not marketable")
                return
            order.triggered = True
        if order.order_type in ("MKT", "STP"):
            price = (ask if buy else bid) + slip
        else:  # LMT, or a triggered STP LMT
            limit = order.lmt_price
            if limit is None:  # only a seeded order can lack it; comparing with None raised TypeError here before
                raise TypeError(f"{order.order_type} order {order.perm_id} has no limit price")
            if buy and ask <= limit:
                price = ask
            elif not buy and bid >= limit:
                price = bid
        if price is None:
            if order.tif in ("IOC", "FOK"):
                self.cancel(order, reason=f"{order.tif} not marketable")
            return
        qty = order.remaining
        if self.partial_fill_qty and not order.all_or_none:
            qty = min(qty, self.partial_fill_qty)
        if order.tif == "FOK" and qty < order.remaining:
            self.cancel(order, reason="FOK could not fill in full")
            return
        self.fill(order, round(price, 6), qty, market)
        if order.tif == "IOC" and order.is_open:
            self.cancel(order, reason="IOC remainder")

    def _after_fill(self, order: Order, qty: float, market: Market | None) -> None:
        # One-cancels-all: an explicit OCA group, and the orders attached to one parent (a bracket's take-profit
        # and stop-loss), which IB links the same way (reduce with block).
        siblings: list[tuple[Order, int]] = []
        if order.oca_group:
            group = self._oca.get((order.account, order.oca_group), [])
            siblings += [(o, order.oca_type or 1) for o in group if o is not order and o.is_open]
        if order.parent_id:
            attached = self._children.get((order.client_id, order.parent_id), [])
            siblings += [
                (o, 2) for o in attached if o is not order and o.is_open and not any(o is s for s, _ in siblings)
            ]
        for sib, oca_type in siblings:
            if not sib.is_open:
                continue
            if oca_type == 1:
                self.cancel(sib, reason=f"OCA: order {order.order_id} filled")
                continue
            sib.total_quantity = round(max(sib.total_quantity - qty, sib.filled), 8)
            if sib.remaining <= 1e-9:
                self.cancel(sib, reason=f"OCA: order {order.order_id} filled")
            else:
                self.emit("open", sib)
        if order.status == "Filled" and market is not None:
            for child in self.children(order):
                self._activate(child, market)

    def fill(self, order: Order, price: float, qty: float, market: Market | None = None) -> Execution:
        """Book an execution: position, cash, realized P&L, commission; then announce it."""
        acc = self.accounts[order.account]
        c = CONTRACTS[order.symbol]
        prev_value = order.avg_fill_price * order.filled
        order.filled += qty
        order.avg_fill_price = round((prev_value + price * qty) / order.filled, 6)
        order.last_fill_price = price
        owed = self.commission.total(order.filled, order.avg_fill_price * order.filled)
        commission = round(max(owed - order.commission_charged, 0.0), 4)
        order.commission_charged += commission
        sign = 1 if order.action == "BUY" else -1
        pos = acc.positions.setdefault(order.symbol, Position())
        realized = None
        if pos.qty == 0 or (pos.qty > 0) == (sign > 0):
            new_qty = pos.qty + sign * qty
            pos.avg_cost = (abs(pos.qty) * pos.avg_cost + qty * price + commission) / abs(new_qty)
            pos.qty = new_qty
        else:
            closing = min(qty, abs(pos.qty))
            realized = (price - pos.avg_cost) * closing * (1 if pos.qty > 0 else -1) - commission
            pos.realized += realized
            acc.realized += realized
            pos.qty += sign * qty
            opening = qty - closing
            if opening > 0:
                pos.avg_cost = price
            elif pos.qty == 0:
                pos.avg_cost = 0.0
        pos.qty = round(pos.qty, 8)
        acc.cash -= sign * qty * price + commission
        acc.commissions += commission
        # Executions carry the market's (simulated) time, as its bars and ticks do: a client lines them up.
        now = market.clock.now() if market is not None else time.time()
        if order.remaining <= 1e-9:
            order.status = "Filled"
            order.completed_time = _now_str(now)
        self.exec_seq += 1
        ex = Execution(
            exec_id=f"0000{order.perm_id:x}.{int(now):08x}.{self.exec_seq:02d}.01",
            perm_id=order.perm_id,
            order_id=order.order_id,
            client_id=order.client_id,
            account=order.account,
            symbol=order.symbol,
            side="BOT" if sign > 0 else "SLD",
            shares=qty,
            price=price,
            time=_now_str(now),
            epoch=now,
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
            order_ref=order.order_ref,
            exchange=c.venue,
            order_exchange=order.exchange,
            commission=commission,
            realized=None if realized is None else round(realized, 4),
        )
        self.executions.append(ex)
        self.emit("fill", order, execution=ex)
        self._after_fill(order, qty, market)
        return ex

    # ---------------------------------------------------------------- seeding

    def seed_position(self, account: str, symbol: str, qty: float, avg_cost: float) -> None:
        """Set a position as if it had been opened elsewhere (cash untouched)."""
        if symbol not in CONTRACTS:
            raise KeyError(symbol)
        self.accounts[account].positions[symbol] = Position(float(qty), float(avg_cost))
        self.emit("position", None, account=account, symbol=symbol)

    def seed_working_order(
        self,
        account: str,
        symbol: str,
        action: str,
        qty: float,
        order_type: str = "LMT",
        lmt_price: float | None = None,
        aux_price: float | None = None,
        tif: str = "GTC",
        client_id: int = 0,
        order_id: int | None = None,
        order_ref: str = "",
    ) -> Order:
        """Create a working order "placed elsewhere" (e.g. in TWS or by a previous session)."""
        if account not in self.accounts:
            raise KeyError(account)
        if order_id is None:
            order_id = self.next_valid_id(client_id)
        self._use_id(client_id, order_id)
        o = Order(
            perm_id=self.next_perm_id,
            order_id=order_id,
            client_id=client_id,
            account=account,
            symbol=symbol,
            action=action.upper(),
            total_quantity=float(qty),
            order_type=order_type.upper(),
            lmt_price=lmt_price,
            aux_price=aux_price,
            tif=tif.upper(),
            order_ref=order_ref,
            status="Submitted",
            created=time.time(),
            placed_elsewhere=True,
        )
        self.next_perm_id += 1
        self._store(o)
        self.emit("open", o)
        return o

    # ---------------------------------------------------------------- account values

    @staticmethod
    def _unrealized(p: Position, symbol: str, market: Market) -> float:
        return (market.last(symbol) - p.avg_cost) * p.qty if p.qty else 0.0

    def pnl_single(self, account: str, symbol: str, market: Market) -> tuple[float, float, float, float, float]:
        """(position, daily P&L, unrealized, realized, market value) of one position."""
        p = self.accounts[account].positions.get(symbol) or Position()
        unrealized = self._unrealized(p, symbol, market)
        u0, r0 = self.day_start.get(account, {}).get(symbol, (0.0, 0.0))
        daily = (unrealized - u0) + (p.realized - r0)
        return p.qty, daily, unrealized, p.realized, p.qty * market.last(symbol) if p.qty else 0.0

    def pnl(self, account: str, market: Market) -> tuple[float, float, float]:
        """(daily P&L, unrealized, realized) of an account: daily since the start of the trading day."""
        daily = unrealized = 0.0
        for symbol in self.accounts[account].positions:
            _, d, u, _r, _v = self.pnl_single(account, symbol, market)
            daily += d
            unrealized += u
        return daily, unrealized, self.accounts[account].realized

    def account_values(self, account: str, market: Market) -> dict[str, float]:
        """Cash, P&L and margin figures of an account at current prices (see ibsim.margin)."""
        acc = self.accounts[account]
        gross = 0.0
        stock_value = 0.0
        unrealized = 0.0
        for sym, p in acc.positions.items():
            if p.qty == 0:
                continue
            mark = market.last(sym)
            stock_value += p.qty * mark
            gross += abs(p.qty * mark)
            unrealized += (mark - p.avg_cost) * p.qty
        net_liq = acc.cash + stock_value
        m = self.margin_figures(account, market)
        init, maint = m.init, m.maint
        available = net_liq - init
        return {
            "NetLiquidation": net_liq,
            "TotalCashValue": acc.cash,
            "SettledCash": acc.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(available, 0.0) / self.margin.init_long,
            "EquityWithLoanValue": net_liq,
            "PreviousDayEquityWithLoanValue": net_liq,
            "GrossPositionValue": gross,
            "RegTEquity": net_liq,
            "RegTMargin": init,
            "SMA": max(available, 0.0),
            "InitMarginReq": init,
            "MaintMarginReq": maint,
            "AvailableFunds": available,
            "ExcessLiquidity": net_liq - maint,
            "Cushion": (net_liq - maint) / net_liq if net_liq else 0.0,
            "FullInitMarginReq": init,
            "FullMaintMarginReq": maint,
            "FullAvailableFunds": available,
            "FullExcessLiquidity": net_liq - maint,
            "LookAheadInitMarginReq": init,
            "LookAheadMaintMarginReq": maint,
            "LookAheadAvailableFunds": available,
            "LookAheadExcessLiquidity": net_liq - maint,
            "Leverage": gross / net_liq if net_liq else 0.0,
            "CashBalance": acc.cash,
            "StockMarketValue": stock_value,
            "UnrealizedPnL": unrealized,
            "RealizedPnL": acc.realized,
        }


# placeOrder fields that change what an order does and that ibsim does not model: an order setting one is
# rejected (error 201), never placed with the field ignored. Fields that only change how an order is displayed
# or reported (hidden, displaySize, randomize*, rule80A, mifid2*, clearing*, manualOrderTime...) pass.
UNMODELLED_TEXT = (
    "goodAfterTime",
    "activeStartTime",
    "activeStopTime",
    "algoStrategy",
    "hedgeType",
    "deltaNeutralOrderType",
    "faGroup",
    "faMethod",
    "faPercentage",
    "faProfile",
    "modelCode",
    "adjustedOrderType",
    "scaleTable",
)
UNMODELLED_NUMBERS = (
    "discretionaryAmt",
    "minQty",
    "percentOffset",
    "trailStopPrice",
    "trailingPercent",
    "scaleInitLevelSize",
    "scaleSubsLevelSize",
    "scalePriceIncrement",
    "volatility",
    "startingPrice",
    "stockRefPrice",
    "delta",
    "stockRangeLower",
    "stockRangeUpper",
    "cashQty",
    "triggerPrice",
    "lmtPriceOffset",
    "adjustedStopPrice",
    "adjustedStopLimitPrice",
    "duration",
    "postToAts",
)
UNMODELLED_FLAGS = (
    "notHeld",
    "isOmsContainer",
    "discretionaryUpToLimitPrice",
    "autoCancelParent",
    "optOutSmartRouting",
    "sweepToFill",
    "blockOrder",
)


def unmodelled_features(args: dict[str, Any]) -> str:
    """The fields of a placeOrder request that set something ibsim does not model, named; empty if none."""
    found: list[str] = []
    if args.get("conditions"):
        found.append("order conditions")
    for key in UNMODELLED_TEXT:
        if (args.get(key) or "").strip() not in ("", "None"):
            found.append(f"{key}={args[key]}")
    for key in UNMODELLED_NUMBERS:
        value = _num(args.get(key))
        if value is not None and value != 0:
            found.append(f"{key}={args[key]}")
    for key in UNMODELLED_FLAGS:
        if args.get(key) == "1":
            found.append(key)
    if args.get("deltaNeutralContract") == "1":
        found.append("a delta-neutral contract")
    return ", ".join(found)


def _gtd_epoch(text: str) -> float:
    from .market import parse_end_time

    if not text.strip():
        raise BrokerError(321, "Error validating request.-'bV' : cause - GTD order without a goodTillDate")
    try:
        return parse_end_time(text.strip(), 0.0)
    except (ValueError, IndexError) as exc:
        raise BrokerError(321, f"Error validating request.-'bV' : cause - Invalid goodTillDate {text!r}") from exc


# How clients write "nothing" in a numeric field.
_UNSET_TEXT = frozenset({"", "0", "2147483647", "1.7976931348623157E308", "1.7976931348623157e+308"})


def _num(value: Any) -> float | None:
    if value is None or value in _UNSET_TEXT:
        return None if value != "0" else 0.0
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    # IB's "unset" markers: the largest double, and the largest int for integer fields.
    return None if out >= 1.7e308 or out == 2147483647 or math.isnan(out) else out


def _now_str(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, UTC).strftime("%Y%m%d %H:%M:%S UTC")
