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

if TYPE_CHECKING:
    from .market import Market

WORKING = ("PreSubmitted", "Submitted")
DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")
ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")


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

    @property
    def remaining(self) -> float:
        return max(self.total_quantity - self.filled, 0.0)

    @property
    def is_working(self) -> bool:
        return self.status in WORKING


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
    ):
        self.accounts: dict[str, Account] = {a: Account(a, cash) for a in accounts}
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
        found = None
        for o in self.orders.values():
            if o.client_id == client_id and o.order_id == order_id:
                found = o
        return found

    # ---------------------------------------------------------------- orders

    def new_order(self, client_id: int, order_id: int, args: dict[str, Any], contract: StockContract) -> Order:
        """Validate a placeOrder request and create the order (not yet acknowledged)."""
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
            raise BrokerError(387, f"Unsupported order type for this exchange and security type: {order_type}")
        lmt = _num(args.get("lmtPrice"))
        aux = _num(args.get("auxPrice"))
        if order_type in ("LMT", "STP LMT") and (lmt is None or lmt <= 0):
            raise BrokerError(321, "Error validating request.-'bQ' : cause - Limit price is missing")
        if order_type in ("STP", "STP LMT") and (aux is None or aux <= 0):
            raise BrokerError(321, "Error validating request.-'bR' : cause - Stop price is missing")
        tif = (args.get("tif") or "DAY").upper()
        if tif not in ("DAY", "GTC", "IOC"):
            raise BrokerError(321, f"Error validating request.-'bS' : cause - Unsupported time in force {tif}")
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
            exchange=(args.get("exchange") or "SMART"),
            outside_rth=args.get("outsideRth") == "1",
            parent_id=int(_num(args.get("parentId")) or 0),
            created=time.time(),
        )
        self.next_perm_id += 1
        return order

    def accept(self, order: Order, market: Market) -> None:
        """Acknowledge an order (PreSubmitted, then Submitted) and fill it if it is marketable."""
        if self.reject_next > 0:
            self.reject_next -= 1
            order.status = "Inactive"
            order.reject_reason = "Simulated rejection"
            self.orders[order.perm_id] = order
            self.emit(
                "reject", order, code=201, text="Order rejected - reason:Simulated rejection (ibsim fault injection)"
            )
            return
        self.orders[order.perm_id] = order
        order.status = "PreSubmitted"
        self.emit("open", order)
        order.status = "Submitted"
        self.emit("open", order)
        self.try_fill(order, market)

    def modify(self, order: Order, args: dict[str, Any], market: Market) -> None:
        """Apply a placeOrder for an existing working order id (price or quantity change)."""
        qty = _num(args.get("totalQuantity"))
        if qty and qty > 0:
            if qty < order.filled:
                raise BrokerError(321, "Error validating request.-'bT' : cause - Quantity below filled")
            order.total_quantity = qty
        if order.order_type in ("LMT", "STP LMT") and _num(args.get("lmtPrice")):
            order.lmt_price = _num(args.get("lmtPrice"))
        if order.order_type in ("STP", "STP LMT") and _num(args.get("auxPrice")):
            order.aux_price = _num(args.get("auxPrice"))
        if args.get("orderRef"):
            order.order_ref = args["orderRef"]
        self.emit("open", order)
        self.try_fill(order, market)

    def cancel(self, order: Order, reason: str = "") -> None:
        """Cancel a working order."""
        if not order.is_working:
            raise BrokerError(
                10148,
                f"OrderId {order.order_id} that needs to be cancelled cannot be cancelled, state: {order.status}.",
            )
        order.status = "Cancelled"
        order.completed_time = _now_str()
        self.emit("cancelled", order, reason=reason)

    def cancel_all(self) -> list[Order]:
        """Global cancel: every working order of every client."""
        done = []
        for o in list(self.orders.values()):
            if o.is_working:
                self.cancel(o)
                done.append(o)
        return done

    def working(self) -> list[Order]:
        return [o for o in self.orders.values() if o.is_working]

    # ---------------------------------------------------------------- matching

    def on_market(self, market: Market, day: str) -> None:
        """Re-check working orders against the current quote; expire DAY orders at day change."""
        if self.last_day and day != self.last_day:
            for o in self.working():
                if o.tif == "DAY":
                    o.status = "Cancelled"
                    o.completed_time = _now_str()
                    self.emit("cancelled", o, reason="expired at end of day")
        self.last_day = day
        for o in self.working():
            self.try_fill(o, market)

    def try_fill(self, order: Order, market: Market) -> None:
        """Fill (part of) a working order if the market allows it."""
        if not order.is_working or order.remaining <= 0:
            return
        c = CONTRACTS[order.symbol]
        bid, ask, last, *_ = market.quote(order.symbol)
        buy = order.action == "BUY"
        slip = self.slippage_ticks * c.min_tick * (1 if buy else -1)
        price = None
        if order.order_type in ("STP", "STP LMT") and not order.triggered:
            stop = order.aux_price
            if stop is None:  # only a seeded order can lack it; comparing with None raised TypeError here before
                raise TypeError(f"{order.order_type} order {order.perm_id} has no stop price")
            if (buy and last >= stop) or (not buy and last <= stop):
                order.triggered = True
            else:
                return
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
            if order.tif == "IOC":
                self.cancel(order, reason="IOC not marketable")
            return
        qty = order.remaining
        if self.partial_fill_qty:
            qty = min(qty, self.partial_fill_qty)
        self.fill(order, round(price, 6), qty)

    def fill(self, order: Order, price: float, qty: float) -> Execution:
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
        if order.remaining <= 1e-9:
            order.status = "Filled"
            order.completed_time = _now_str()
        self.exec_seq += 1
        now = time.time()
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
        self.orders[o.perm_id] = o
        self.emit("open", o)
        return o

    # ---------------------------------------------------------------- account values

    def account_values(self, account: str, market: Market) -> dict[str, float]:
        """Cash, P&L and margin figures of an account at current prices."""
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
        init = 0.25 * gross
        maint = 0.25 * gross
        return {
            "NetLiquidation": net_liq,
            "TotalCashValue": acc.cash,
            "SettledCash": acc.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(net_liq - init, 0.0) * 4,
            "EquityWithLoanValue": net_liq,
            "PreviousDayEquityWithLoanValue": net_liq,
            "GrossPositionValue": gross,
            "RegTEquity": net_liq,
            "RegTMargin": 0.5 * gross,
            "SMA": max(net_liq - 0.5 * gross, 0.0),
            "InitMarginReq": init,
            "MaintMarginReq": maint,
            "AvailableFunds": net_liq - init,
            "ExcessLiquidity": net_liq - maint,
            "Cushion": (net_liq - maint) / net_liq if net_liq else 0.0,
            "FullInitMarginReq": init,
            "FullMaintMarginReq": maint,
            "FullAvailableFunds": net_liq - init,
            "FullExcessLiquidity": net_liq - maint,
            "LookAheadInitMarginReq": init,
            "LookAheadMaintMarginReq": maint,
            "LookAheadAvailableFunds": net_liq - init,
            "LookAheadExcessLiquidity": net_liq - maint,
            "Leverage": gross / net_liq if net_liq else 0.0,
            "CashBalance": acc.cash,
            "StockMarketValue": stock_value,
            "UnrealizedPnL": unrealized,
            "RealizedPnL": acc.realized,
        }


def _num(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out >= 1.7e308 else out


def _now_str(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, UTC).strftime("%Y%m%d %H:%M:%S UTC")
