"""Run one Nautilus TradingNode with the IB adapter against ibsim; print a JSON result line.

Usage: python node_script.py PORT ACCOUNT MODE SECONDS [STOP_FILE]
MODE "trade": subscribe quotes and 5-second bars, buy 10 QQQ at market once a quote arrives.
MODE "reconcile": place nothing; report what the node reconciled from the gateway.
MODE "bracket": on the first quote, submit two brackets (BUY 10, take-profit LIMIT, stop-loss STOP_MARKET):
A with an entry far below the market and a take-profit below it (marketable only if it were live before its
parent fills), B with a market entry, a take-profit far above and a stop-loss 3% below; the test then gaps the
price down through B's stop. Reports fills, open orders and positions once B's stop has filled.
MODE "reconnect": like "trade" without ordering; runs until the deadline and reports
the times of the last bar and quote; it stops when STOP_FILE appears (the test drops the
gateway connections meanwhile).
Run in a fresh process: one TradingNode per process (see nautilus-facts.md).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from nautilus_trader.adapters.interactive_brokers.common import IB
from nautilus_trader.adapters.interactive_brokers.config import (
    InteractiveBrokersDataClientConfig,
    InteractiveBrokersExecClientConfig,
    InteractiveBrokersInstrumentProviderConfig,
    SymbologyMethod,
)
from nautilus_trader.adapters.interactive_brokers.factories import (
    InteractiveBrokersLiveDataClientFactory,
    InteractiveBrokersLiveExecClientFactory,
)
from nautilus_trader.common.enums import ComponentState
from nautilus_trader.config import LiveExecEngineConfig, LoggingConfig, StrategyConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import Bar, BarType, QuoteTick
from nautilus_trader.model.enums import OrderSide, OrderType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.trading.strategy import Strategy

RESULT: dict = {"quotes": 0, "bars": 0, "fills": [], "started": False, "errors": []}


class ProbeConfig(StrategyConfig, frozen=True):
    instrument_id: str = "QQQ.NASDAQ"
    trade: bool = True
    bracket: bool = False


class Probe(Strategy):
    """Subscribes quotes and 5-second bars; optionally buys once."""

    def __init__(self, config: ProbeConfig):
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.bar_type = BarType.from_str(f"{config.instrument_id}-5-SECOND-LAST-EXTERNAL")
        self.ordered = False

    def on_start(self) -> None:
        RESULT["started"] = True
        self.subscribe_quote_ticks(self.instrument_id)
        self.subscribe_bars(self.bar_type)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        RESULT["quotes"] += 1
        RESULT["last_quote_time"] = time.time()
        if self.config.bracket and not self.ordered:
            self.ordered = True
            self._brackets(float(tick.ask_price))
        if self.config.trade and not self.ordered:
            self.ordered = True
            order = self.order_factory.market(self.instrument_id, OrderSide.BUY, Quantity.from_int(10))
            self.submit_order(order)

    def _brackets(self, ask: float) -> None:
        def px(x: float) -> Price:
            return Price(round(x, 2), 2)

        qty = Quantity.from_int(10)
        a = self.order_factory.bracket(
            self.instrument_id,
            OrderSide.BUY,
            qty,
            entry_order_type=OrderType.LIMIT,
            entry_price=px(ask * 0.5),
            tp_price=px(ask * 0.9),
            tp_post_only=False,
            sl_trigger_price=px(ask * 0.4),
        )
        b = self.order_factory.bracket(
            self.instrument_id,
            OrderSide.BUY,
            qty,
            tp_price=px(ask * 1.5),
            tp_post_only=False,
            sl_trigger_price=px(ask * 0.97),
        )

        def ids(bracket) -> list[str]:  # entry, take-profit, stop-loss
            kinds = {OrderType.STOP_MARKET: 2}
            ordered = sorted(bracket.orders[1:], key=lambda o: kinds.get(o.order_type, 1))
            return [str(o.client_order_id) for o in [bracket.orders[0], *ordered]]

        RESULT["bracket_a"] = ids(a)
        RESULT["bracket_b"] = ids(b)
        self.submit_order_list(a)
        self.submit_order_list(b)

    def on_order_canceled(self, event) -> None:
        RESULT.setdefault("canceled", []).append(str(event.client_order_id))

    def on_order_rejected(self, event) -> None:
        RESULT["errors"].append(f"{event.client_order_id}: {event.reason}")

    def on_bar(self, bar: Bar) -> None:
        RESULT["bars"] += 1
        RESULT["last_bar_time"] = time.time()

    def on_order_filled(self, event) -> None:
        RESULT["fills"].append(
            {
                "qty": str(event.last_qty),
                "px": str(event.last_px),
                "commission": str(event.commission),
                "client_order_id": str(event.client_order_id),
            }
        )


def main() -> None:
    port, account, mode, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
    stop_file = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    provider = InteractiveBrokersInstrumentProviderConfig(
        symbology_method=SymbologyMethod.IB_SIMPLIFIED, load_ids=frozenset({"QQQ.NASDAQ"})
    )
    config = TradingNodeConfig(
        trader_id="IBSIM-001",
        logging=LoggingConfig(log_level="WARNING"),
        exec_engine=LiveExecEngineConfig(reconciliation=True),
        data_clients={
            IB: InteractiveBrokersDataClientConfig(
                ibg_host="127.0.0.1",
                ibg_port=port,
                ibg_client_id=11,
                dockerized_gateway=None,
                instrument_provider=provider,
            )
        },
        exec_clients={
            IB: InteractiveBrokersExecClientConfig(
                ibg_host="127.0.0.1",
                ibg_port=port,
                ibg_client_id=12,
                account_id=account,
                dockerized_gateway=None,
                instrument_provider=provider,
            )
        },
        timeout_connection=20.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=1.0,
    )
    node = TradingNode(config=config)
    node.trader.add_strategy(Probe(ProbeConfig(trade=(mode == "trade"), bracket=(mode == "bracket"))))
    node.add_data_client_factory(IB, InteractiveBrokersLiveDataClientFactory)
    node.add_exec_client_factory(IB, InteractiveBrokersLiveExecClientFactory)
    node.build()

    def watch():
        deadline = time.time() + seconds
        while time.time() < deadline:
            time.sleep(0.2)
            if mode == "trade" and RESULT["fills"] and RESULT["bars"] >= 1:
                break
            if mode == "bracket" and len(RESULT["fills"]) >= 2:
                time.sleep(2.0)  # the take-profit's cancel arrives after the stop's fill
                break
            if stop_file is not None and stop_file.exists():
                break
            if mode == "reconcile" and RESULT["started"]:
                time.sleep(1.0)
                break
        node.kernel.loop.call_soon_threadsafe(finish)

    def finish():
        # Runs on the node's loop: the cache is only read from there.
        cache = node.kernel.cache
        RESULT["state"] = ComponentState(node.kernel.trader.state).name
        RESULT["positions"] = [
            {"instrument": str(p.instrument_id), "qty": str(p.signed_qty)} for p in cache.positions_open()
        ]
        RESULT["open_orders"] = [
            {
                "instrument": str(o.instrument_id),
                "side": str(o.side),
                "qty": str(o.quantity),
                "type": str(o.order_type),
                "venue_order_id": str(o.venue_order_id),
                "client_order_id": str(o.client_order_id),
                "status": str(o.status),
            }
            for o in cache.orders_open()
        ]
        node.stop()

    threading.Thread(target=watch, daemon=True).start()
    try:
        node.run()
    finally:
        node.dispose()
    print("RESULT " + json.dumps(RESULT), flush=True)


if __name__ == "__main__":
    main()
