"""A small local HTTP control port to inspect ibsim and inject faults at run time.

``GET`` or ``POST`` with query parameters; every answer is JSON. Endpoints:

==========================  ==================================================================
``/state``                  orders, positions, executions, connected client ids
``/log?name=PLACE_ORDER``   the order log (every inbound message), optionally filtered
``/drop``                   close every client connection
``/refuse?seconds=N``       refuse connections for N seconds
``/silent?on=1``            accept but never answer (``on=0`` to answer again)
``/connectivity?code=1100`` broadcast 1100 / 1101 / 1102
``/reject?n=N``             reject the next N orders (error 201)
``/ack-delay?seconds=S``    delay order acknowledgements
``/speed?x=X``              change the clock speed
``/advance?seconds=S``      move simulated time forward
``/move?symbol=QQQ&fraction=-0.2`` gap a price (here down 20%) from the next step on
``/seed-position?account=&symbol=&qty=&avg_cost=``
``/seed-order?account=&symbol=&action=&qty=&order_type=&lmt_price=&client_id=``
==========================  ==================================================================
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from .sim import IBSim


class ControlServer:
    """HTTP/1.0 control endpoint bound to the simulator's host."""

    def __init__(self, sim: IBSim, host: str, port: int):
        self.sim = sim
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), 5)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.split()
            url = urlsplit(parts[1] if len(parts) > 1 else "/")
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            status, body = 200, await self.route(url.path, q)
        except KeyError as exc:
            status, body = 400, {"error": f"missing or unknown parameter {exc}"}
        except (ValueError, TypeError) as exc:
            status, body = 400, {"error": str(exc)}
        except Exception as exc:  # the control port must not take the simulator down
            status, body = 500, {"error": repr(exc)}
        data = json.dumps(body, default=str).encode()
        writer.write(
            b"HTTP/1.0 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (status, len(data))
            + data
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    async def route(self, path: str, q: dict[str, str]) -> dict[str, Any]:
        sim = self.sim
        if path == "/state":
            return {
                "orders": sim.orders(),
                "positions": {a: sim.positions(a) for a in sim.accounts},
                "executions": sim.executions(),
                "client_ids": sim.client_ids(),
            }
        if path == "/log":
            return {"log": sim.received(q.get("name"))}
        if path == "/drop":
            return {"dropped": sim.drop_connections()}
        if path == "/refuse":
            await sim.refuse_connections(float(q["seconds"]))
            return {"refusing": float(q["seconds"])}
        if path == "/silent":
            sim.go_silent(q.get("on", "1") not in ("0", "false"))
            return {"silent": sim.server.silent}
        if path == "/connectivity":
            sim.send_connectivity(int(q["code"]))
            return {"sent": int(q["code"])}
        if path == "/reject":
            sim.reject_next_orders(int(q["n"]))
            return {"reject_next": int(q["n"])}
        if path == "/ack-delay":
            sim.set_ack_delay(float(q["seconds"]))
            return {"ack_delay": float(q["seconds"])}
        if path == "/speed":
            sim.set_speed(float(q["x"]))
            return {"speed": float(q["x"])}
        if path == "/advance":
            sim.advance(float(q["seconds"]))
            return {"now": sim.clock.now()}
        if path == "/move":
            return {"last": sim.move_price(q["symbol"], float(q["fraction"]))}
        if path == "/seed-position":
            sim.seed_position(q["account"], q["symbol"], float(q["qty"]), float(q["avg_cost"]))
            return {"positions": sim.positions(q["account"])}
        if path == "/seed-order":
            order = sim.seed_working_order(
                q["account"],
                q["symbol"],
                q["action"],
                float(q["qty"]),
                q.get("order_type", "LMT"),
                float(q["lmt_price"]) if q.get("lmt_price") else None,
                client_id=int(q.get("client_id", 0)),
                tif=q.get("tif", "GTC"),
            )
            return {"order": order}
        raise ValueError(f"unknown endpoint {path}")
