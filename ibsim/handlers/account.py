"""Accounts: managed accounts, account values and summaries, positions, P&L subscriptions, family codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from .. import protocol as P
from ..broker import Position
from ..connection import Connection
from ..contracts import BY_CON_ID, CONTRACTS, StockContract
from .base import Area, Handler

# How long after a fill the account values that changed are pushed; fills within it share one push.
ACCOUNT_VALUES_INTERVAL = 0.1

LEDGER_TAGS = (
    "CashBalance",
    "TotalCashBalance",
    "NetLiquidationByCurrency",
    "StockMarketValue",
    "UnrealizedPnL",
    "RealizedPnL",
)
ACCOUNT_UPDATE_KEYS = (
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "GrossPositionValue",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "Leverage",
    "CashBalance",
    "StockMarketValue",
    "UnrealizedPnL",
    "RealizedPnL",
)
# AccountSummaryTags.AllTags as the clients define it; the tags ibsim has no figure for are answered with 0.
ALL_TAGS = (
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "PreviousDayEquityWithLoanValue",
    "GrossPositionValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "HighestSeverity",
    "DayTradesRemaining",
    "Leverage",
)
BASE_CURRENCY = "USD"


class AccountHandlers(Area):
    def handlers(self) -> dict[str, Handler]:
        return {
            "REQ_MANAGED_ACCTS": self.req_managed_accts,
            "REQ_ACCT_DATA": self.req_account_updates,
            "REQ_POSITIONS": self.req_positions,
            "CANCEL_POSITIONS": self.cancel_positions,
            "REQ_POSITIONS_MULTI": self.req_positions_multi,
            "CANCEL_POSITIONS_MULTI": lambda c, r: None,
            "REQ_ACCOUNT_SUMMARY": self.req_account_summary,
            "CANCEL_ACCOUNT_SUMMARY": self.cancel_account_summary,
            "REQ_ACCOUNT_UPDATES_MULTI": self.req_account_updates_multi,
            "CANCEL_ACCOUNT_UPDATES_MULTI": self.cancel_account_updates_multi,
            "REQ_PNL": self.req_pnl,
            "CANCEL_PNL": self.cancel_pnl,
            "REQ_PNL_SINGLE": self.req_pnl_single,
            "CANCEL_PNL_SINGLE": self.cancel_pnl_single,
            "REQ_FAMILY_CODES": self.req_family_codes,
            "REQ_USER_INFO": self.req_user_info,
        }

    def req_managed_accts(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.managed_accounts(list(self.broker.accounts)))

    def req_family_codes(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.family_codes(list(self.broker.accounts)))

    def req_user_info(self, conn: Connection, req: P.Request) -> None:
        conn.send(P.user_info(P.to_int(req.args.get("reqId"))))

    def _account_or_error(self, conn: Connection, req_id: int, account: str) -> bool:
        if account not in self.broker.accounts:
            conn.error(req_id, 321, f"Error validating request: account {account} is not managed")
            return False
        return True

    # ---------------------------------------------------------------- positions

    def positions(self, account: str | None = None) -> Iterator[tuple[str, StockContract, Position]]:
        for acc in self.broker.accounts.values():
            if account and acc.account_id != account:
                continue
            for sym, p in acc.positions.items():
                if p.qty != 0:
                    yield acc.account_id, CONTRACTS[sym], p

    def req_positions(self, conn: Connection, req: P.Request) -> None:
        for account, c, p in self.positions():
            conn.send(P.position(account, c, p.qty, round(p.avg_cost, 6)))
        conn.send(P.position_end())
        conn.positions_sub = True

    def cancel_positions(self, conn: Connection, req: P.Request) -> None:
        conn.positions_sub = False

    def req_positions_multi(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or ""
        for acc_id, c, p in self.positions(account if account not in ("", "All") else None):
            conn.send(P.position_multi(req_id, acc_id, c, p.qty, round(p.avg_cost, 6)))
        conn.send(P.position_multi_end(req_id))

    # ---------------------------------------------------------------- account values

    def summary_rows(self, account: str, tags: str) -> list[tuple[str, str, str]]:
        values = self.broker.account_values(account, self.market)
        rows: list[tuple[str, str, str]] = []
        wanted = [t.strip() for t in (tags or "").split(",") if t.strip()]
        for tag in wanted:
            if tag == "AccountType":
                rows.append(("AccountType", "INDIVIDUAL", ""))
            elif tag.startswith("$LEDGER"):
                # $LEDGER: the base currency; $LEDGER:ALL: every currency and BASE; $LEDGER:CCY: that currency.
                # The accounts hold only USD, so another currency has no ledger rows at all.
                _, _, currency = tag.partition(":")
                currency = currency.upper()
                if currency not in ("", "ALL", BASE_CURRENCY):
                    continue
                for t in LEDGER_TAGS:
                    v = values.get(t, values["NetLiquidation"] if t.startswith("NetLiq") else values["TotalCashValue"])
                    rows.append((t, _money(v), BASE_CURRENCY))
                    if currency in ("", "ALL"):
                        rows.append((t, _money(v), "BASE"))
            elif tag in values:
                rows.append((tag, _money(values[tag]), BASE_CURRENCY))
            elif tag.lower() == "all" or tag == "AllTags":
                rows += self.summary_rows(account, ",".join(ALL_TAGS))
            elif tag in ALL_TAGS:
                rows.append((tag, "0", "" if tag in ("HighestSeverity", "DayTradesRemaining") else BASE_CURRENCY))
        return rows

    def send_summary(self, conn: Connection, req_id: int, group: str, tags: str) -> None:
        for account in self.broker.accounts:
            for tag, value, cur in self.summary_rows(account, tags):
                conn.send(P.account_summary(req_id, account, tag, value, cur))
        conn.send(P.account_summary_end(req_id))

    def req_account_summary(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        group, tags = req.args.get("groupName") or "All", req.args.get("tags") or ""
        conn.acct_summary[req_id] = (group, tags)
        self.send_summary(conn, req_id, group, tags)

    def cancel_account_summary(self, conn: Connection, req: P.Request) -> None:
        conn.acct_summary.pop(P.to_int(req.args["reqId"]), None)

    def send_account_updates(self, conn: Connection, account: str) -> None:
        """The account-updates subscription's download: every account value and portfolio line, then the time."""
        conn.acct_sent.clear()
        self.send_changed_values(conn, account)
        for _, c, p in self.positions(account):
            self.send_portfolio_line(conn, account, c, p)

    def send_changed_values(self, conn: Connection, account: str) -> None:
        """Account values (and the account time) this subscriber has not heard yet, or heard with another value."""
        values = self.broker.account_values(account, self.market)
        rows = [
            ("AccountCode", account, ""),
            ("AccountType", "INDIVIDUAL", ""),
            ("Currency", BASE_CURRENCY, BASE_CURRENCY),
        ]
        rows += [(key, _money(values[key]), BASE_CURRENCY) for key in ACCOUNT_UPDATE_KEYS]
        rows.append(("CashBalance", _money(values["CashBalance"]), "BASE"))
        rows.append(("NetLiquidationByCurrency", _money(values["NetLiquidation"]), "BASE"))
        for tag, value, currency in rows:
            if conn.acct_sent.get((tag, currency)) != value:
                conn.acct_sent[(tag, currency)] = value
                conn.send(P.account_value(tag, value, currency, account))
        now = datetime.fromtimestamp(self.market.clock.now(), ZoneInfo("America/New_York")).strftime("%H:%M")
        if conn.acct_sent.get(("__time__", "")) != now:
            conn.acct_sent[("__time__", "")] = now
            conn.send(P.account_update_time(now))

    def send_portfolio_line(self, conn: Connection, account: str, c: StockContract, p: Position) -> None:
        """One position's portfolio line, marked at the last price (a closed position is sent with position 0)."""
        mark = self.market.last(c.symbol)
        conn.send(
            P.portfolio_value(
                c,
                p.qty,
                mark,
                round(p.qty * mark, 2),
                round(p.avg_cost, 6),
                round((mark - p.avg_cost) * p.qty, 2),
                round(p.realized, 2),
                account,
            )
        )

    def req_account_updates(self, conn: Connection, req: P.Request) -> None:
        if req.args.get("subscribe") != "1":
            conn.acct_updates = None
            return
        account = req.args.get("acctCode") or next(iter(self.broker.accounts))
        if not self._account_or_error(conn, -1, account):
            return
        conn.acct_updates = account
        self.send_account_updates(conn, account)
        conn.send(P.account_download_end(account))

    def send_multi(self, conn: Connection, req_id: int, account: str, changes_only: bool = False) -> None:
        """Account values to a multi-updates subscriber: all of them, or (after a fill) only those that changed."""
        accounts = list(self.broker.accounts) if account in ("", "All") else [account]
        sent = conn.multi_sent.setdefault(req_id, {})
        if not changes_only:
            sent.clear()
        for acc in accounts:
            values = self.broker.account_values(acc, self.market)
            rows = [("AccountType", "INDIVIDUAL", "")]
            rows += [(key, _money(values[key]), BASE_CURRENCY) for key in ACCOUNT_UPDATE_KEYS]
            for tag, value, currency in rows:
                if sent.get((acc, tag)) != value:
                    sent[(acc, tag)] = value
                    conn.send(P.account_update_multi(req_id, acc, tag, value, currency))
        if not changes_only:
            conn.send(P.account_update_multi_end(req_id))

    def req_account_updates_multi(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or ""
        if account not in ("", "All") and not self._account_or_error(conn, req_id, account):
            return
        conn.acct_multi[req_id] = account
        self.send_multi(conn, req_id, account)

    def cancel_account_updates_multi(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        conn.acct_multi.pop(req_id, None)
        conn.multi_sent.pop(req_id, None)

    # ---------------------------------------------------------------- P&L subscriptions

    def req_pnl(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or next(iter(self.broker.accounts))
        if not self._account_or_error(conn, req_id, account):
            return
        conn.pnl[req_id] = account
        self.send_pnl(conn, req_id, account)

    def cancel_pnl(self, conn: Connection, req: P.Request) -> None:
        conn.pnl.pop(P.to_int(req.args["reqId"]), None)

    def send_pnl(self, conn: Connection, req_id: int, account: str) -> None:
        daily, unrealized, realized = self.broker.pnl(account, self.market)
        conn.send(P.pnl(req_id, round(daily, 2), round(unrealized, 2), round(realized, 2)))

    def req_pnl_single(self, conn: Connection, req: P.Request) -> None:
        req_id = P.to_int(req.args["reqId"])
        account = req.args.get("account") or next(iter(self.broker.accounts))
        if not self._account_or_error(conn, req_id, account):
            return
        con_id = P.to_int(req.args.get("conId"))
        if con_id not in BY_CON_ID:
            conn.error(req_id, 200, "No security definition has been found for the request")
            return
        conn.pnl_single[req_id] = (account, con_id)
        self.send_pnl_single(conn, req_id, account, con_id)

    def cancel_pnl_single(self, conn: Connection, req: P.Request) -> None:
        conn.pnl_single.pop(P.to_int(req.args["reqId"]), None)

    def send_pnl_single(self, conn: Connection, req_id: int, account: str, con_id: int) -> None:
        symbol = BY_CON_ID[con_id].symbol
        qty, daily, unrealized, realized, value = self.broker.pnl_single(account, symbol, self.market)
        conn.send(P.pnl_single(req_id, qty, round(daily, 2), round(unrealized, 2), round(realized, 2), round(value, 2)))

    # ---------------------------------------------------------------- pushes

    def push_account(self, account: str, symbol: str) -> None:
        """After a fill or a seeded position: the position and its portfolio line at once; the account values that
        changed follow within ACCOUNT_VALUES_INTERVAL, batched (TWS updates its account window on a position change,
        not once per execution)."""
        acc = self.broker.accounts[account]
        p = acc.positions.get(symbol)
        c = CONTRACTS[symbol]
        for conn in self.gw.ready():
            if conn.positions_sub and p is not None:
                conn.send(P.position(account, c, p.qty, round(p.avg_cost, 6)))
            if conn.acct_updates == account and p is not None:
                self.send_portfolio_line(conn, account, c, p)
            if not conn.values_due and (conn.acct_updates == account or conn.acct_multi):
                conn.values_due = True
                asyncio.get_running_loop().call_later(ACCOUNT_VALUES_INTERVAL, self._push_values, conn)

    def _push_values(self, conn: Connection) -> None:
        conn.values_due = False
        if conn.closed:
            return
        if conn.acct_updates is not None:
            self.send_changed_values(conn, conn.acct_updates)
        for req_id, acct in list(conn.acct_multi.items()):
            self.send_multi(conn, req_id, acct, changes_only=True)

    def stream(self, conn: Connection) -> None:
        """P&L subscriptions are pushed on every market step (IB pushes them about once a second)."""
        for req_id, account in list(conn.pnl.items()):
            self.send_pnl(conn, req_id, account)
        for req_id, (account, con_id) in list(conn.pnl_single.items()):
            self.send_pnl_single(conn, req_id, account, con_id)


def _money(v: float) -> str:
    return f"{v:.2f}"
