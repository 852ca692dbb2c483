"""A bare Nautilus TradingNode (same IB config as a session, none of ATS's layer) running the paced order probe.

Run by bench/order_path.py: python bench/_bare_probe_node.py PORT COUNT INTERVAL_MS
"""

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ats_site.config import GatewayConfig  # noqa: E402
from tests.sessions.probe_strategy import OrderProbe, OrderProbeConfig  # noqa: E402
from trading.sessions.node import build_node, node_config  # noqa: E402


def main() -> None:
    port, count, interval_ms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    gateway = GatewayConfig("paper", "127.0.0.1", port, "DU1234567")
    node = build_node(node_config(9000, gateway, ["QQQ.NASDAQ"], "100/00:00:01", log_level="WARNING"))
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.identifiers import InstrumentId

    config = OrderProbeConfig(
        instrument_id=InstrumentId.from_str("QQQ.NASDAQ"),
        bar_type=BarType.from_str("QQQ.NASDAQ-5-SECOND-LAST-EXTERNAL"),
        action="paced",
        count=count,
        interval_ms=interval_ms,
        order_id_tag="001",
    )
    node.trader.add_strategy(OrderProbe(config))

    def stop_later():
        time.sleep(8 + count * interval_ms / 1000)
        node.get_event_loop().call_soon_threadsafe(node.stop)

    threading.Thread(target=stop_later, daemon=True).start()
    try:
        node.run()
    finally:
        node.dispose()


if __name__ == "__main__":
    main()
