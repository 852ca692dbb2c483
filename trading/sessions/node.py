"""Building a Nautilus TradingNode for a session: IB data and execution clients, reconciliation, risk engine."""

from __future__ import annotations

import asyncio
from decimal import Decimal

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
from nautilus_trader.config import LiveExecEngineConfig, LiveRiskEngineConfig, LoggingConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from ats_site.config import GatewayConfig
from trading.sessions.client_ids import client_ids as client_ids  # re-exported: callers import it from here


def node_config(
    session_id: int, gateway: GatewayConfig, instrument_ids: list[str], submit_rate: str, log_level: str = "INFO"
) -> TradingNodeConfig:
    """The node configuration for one session."""
    data_id, exec_id, _ = client_ids(session_id)
    provider = InteractiveBrokersInstrumentProviderConfig(
        symbology_method=SymbologyMethod.IB_SIMPLIFIED, load_ids=frozenset(instrument_ids)
    )
    return TradingNodeConfig(
        trader_id=f"ATS-{session_id:03d}",
        logging=LoggingConfig(log_level=log_level, log_colors=False),
        # Reconcile on connect, and keep checking open orders and positions: Nautilus does not reconcile again
        # after a reconnect unless these intervals are set.
        exec_engine=LiveExecEngineConfig(
            reconciliation=True,
            open_check_interval_secs=5.0,
            position_check_interval_secs=30.0,
        ),
        risk_engine=LiveRiskEngineConfig(max_order_submit_rate=submit_rate),
        data_clients={
            IB: InteractiveBrokersDataClientConfig(
                ibg_host=gateway.host,
                ibg_port=gateway.port,
                ibg_client_id=data_id,
                dockerized_gateway=None,
                instrument_provider=provider,
            )
        },
        exec_clients={
            IB: InteractiveBrokersExecClientConfig(
                ibg_host=gateway.host,
                ibg_port=gateway.port,
                ibg_client_id=exec_id,
                account_id=gateway.account_id,
                # Reconcile every working order of the account, not only this client id's: orders placed from TWS or
                # by an earlier node must be seen (and can be cancelled by the kill switch).
                fetch_all_open_orders=True,
                dockerized_gateway=None,
                instrument_provider=provider,
            )
        },
        timeout_connection=30.0,
        timeout_reconciliation=15.0,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=2.0,
    )


def build_node(config: TradingNodeConfig) -> TradingNode:
    """A built TradingNode on its own event loop (a second node in one process must not share a closed loop)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(config=config, loop=loop)
    node.add_data_client_factory(IB, InteractiveBrokersLiveDataClientFactory)
    node.add_exec_client_factory(IB, InteractiveBrokersLiveExecClientFactory)
    node.build()
    return node


# -- the IB clients inside a running node (Nautilus internals, kept in this one place) ---------------------------


def ib_clients(node: TradingNode) -> list:
    """The InteractiveBrokersClient behind each execution client of the node."""
    clients = []
    for exec_client in node.kernel.exec_engine._clients.values():
        ib_client = getattr(exec_client, "_client", None)
        if ib_client is not None and getattr(ib_client, "_eclient", None) is not None:
            clients.append(ib_client)
    return clients


def global_cancel(node: TradingNode) -> None:
    """IB's global cancel: every working order of the account at the broker, whoever placed it."""
    from ibapi.order_cancel import OrderCancel

    for ib_client in ib_clients(node):
        ib_client._eclient.reqGlobalCancel(OrderCancel())


async def broker_positions(node: TradingNode, account_id: str) -> dict[str, Decimal] | None:
    """The account's positions as the broker reports them now (symbol -> signed quantity, flat ones left out), or
    None when the gateway did not answer."""
    for ib_client in ib_clients(node):
        positions = await ib_client.get_positions(account_id)
        if positions is None:
            return None
        return {p.contract.symbol: Decimal(p.quantity) for p in positions if Decimal(p.quantity) != 0}
    return None
