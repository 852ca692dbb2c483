"""What every handler area shares: the gateway it serves and the contract-lookup preamble."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .. import protocol as P
from ..connection import Connection
from ..contracts import StockContract, lookup

if TYPE_CHECKING:
    from ..broker import Broker
    from ..market import Market
    from ..server import GatewayServer

# A request handler; ``START_API`` is the one coroutine among them.
Handler = Callable[[Connection, P.Request], Coroutine[Any, Any, None] | None]
NO_SECDEF = "No security definition has been found for the request"


class Area:
    """A group of request handlers, keyed by protocol message name."""

    def __init__(self, gw: GatewayServer):
        self.gw = gw

    @property
    def broker(self) -> Broker:
        return self.gw.broker

    @property
    def market(self) -> Market:
        return self.gw.market

    def handlers(self) -> dict[str, Handler]:
        raise NotImplementedError

    def contract(self, conn: Connection, req: P.Request, id_key: str = "reqId") -> tuple[int, StockContract] | None:
        """The request's id and the stock its contract names; error 200 with that id (and None) if none matches."""
        req_id = P.to_int(req.args[id_key])
        c = lookup(req.args["contract"])
        if c is None:
            conn.error(req_id, 200, NO_SECDEF)
            return None
        return req_id, c
