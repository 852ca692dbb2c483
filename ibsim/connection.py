"""One client connection: its socket, negotiated version, client id, subscriptions and outgoing queue.

Nothing account-related lives here: accounts, orders and executions belong to the broker and outlive
connections. A connection only remembers what its client asked to be streamed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from . import protocol as P
from .market import Bar


@dataclass
class HistSub:
    """A historical-data request kept up to date (keepUpToDate=1)."""

    symbol: str
    size: int
    daily: bool
    format_date: int
    last_start: float = -1.0
    last_sent: Bar | None = None


@dataclass
class MktSub:
    """A market-data line (reqMktData): the symbol and the market data type it was opened with."""

    symbol: str
    md_type: int = 1


@dataclass
class Connection:
    """One client socket and the subscriptions it holds."""

    conn_id: int
    writer: asyncio.StreamWriter
    peer: str
    version: int = 0
    client_id: int | None = None
    ready: bool = False
    closed: bool = False
    md_type: int = 1
    mkt: dict[int, MktSub] = field(default_factory=dict)
    tbt: dict[int, tuple[str, str]] = field(default_factory=dict)
    rtbars: dict[int, list[Any]] = field(default_factory=dict)  # reqId -> [symbol, next step index]
    hist: dict[int, HistSub] = field(default_factory=dict)
    depth: dict[int, tuple[str, int]] = field(default_factory=dict)  # reqId -> (symbol, rows)
    pnl: dict[int, str] = field(default_factory=dict)  # reqId -> account
    pnl_single: dict[int, tuple[str, int]] = field(default_factory=dict)  # reqId -> (account, conId)
    positions_sub: bool = False
    acct_updates: str | None = None
    acct_summary: dict[int, tuple[str, str]] = field(default_factory=dict)
    acct_multi: dict[int, str] = field(default_factory=dict)
    # What the account-updates subscription last told this client, (tag, currency) -> value: after a fill only the
    # values that changed go out, as a gateway pushes changes, not the whole account each time.
    acct_sent: dict[tuple[str, str], str] = field(default_factory=dict)
    multi_sent: dict[int, dict[tuple[str, str], str]] = field(default_factory=dict)  # the same per multi reqId
    values_due: bool = False  # a push of changed account values is scheduled
    silenced: bool = False  # accepted while the gateway was silent: never answered
    outbox: list[bytes] = field(default_factory=list)

    def send(self, fields: list[Any]) -> None:
        if self.closed or self.silenced:
            return
        # Frames queued in one loop iteration go out in one write: a fill produces dozens of messages (order status,
        # execution, commission, account values), and a syscall each was most of a round-trip's cost.
        if not self.outbox:
            asyncio.get_running_loop().call_soon(self.flush)
        self.outbox.append(P.frame(fields))

    def flush(self) -> None:
        """Write every queued frame, in order."""
        if self.outbox and not self.closed:
            self.writer.write(b"".join(self.outbox))
        self.outbox.clear()

    def error(self, req_id: int, code: int, text: str) -> None:
        self.send(P.error(req_id, code, text))

    def clear_market_data(self) -> None:
        """Forget every market-data subscription (after 1101: the client must resubscribe)."""
        self.mkt.clear()
        self.tbt.clear()
        self.rtbars.clear()
        self.hist.clear()
        self.depth.clear()

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True
            self.writer.close()
