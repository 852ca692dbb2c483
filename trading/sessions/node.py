"""Building a Nautilus TradingNode for a session: IB data and execution clients, reconciliation, risk engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


# -- Nautilus internals the host relies on, kept in this one place ----------------------------------------------
# Verified against this version; tests/sessions/test_nautilus_internals.py fails on any other, so an upgrade is
# checked on purpose: kernel start stages, exec/data engine `_clients`, the IB client's `_eclient`, `_client_id`,
# `process_error`, `_handle_disconnection`, `get_positions`, and the RiskEngine's `_reject_modify_order`.
NAUTILUS_VERSION_VERIFIED = "1.231.0"

# Kernel start stages (each returns False on failure) and what their failure means for the operator.
START_STAGES = {
    "_await_engines_connected": "the IB data or execution client did not connect in time",
    "_await_execution_reconciliation": "execution state could not be reconciled with the broker",
    "_await_portfolio_initialization": "the portfolio did not initialize in time",
}


def watch_start_stages(node: TradingNode, failed: Callable[[str], None]) -> None:
    """Call `failed(reason)` as soon as a kernel start stage fails (Nautilus then silently never starts trading)."""
    kernel = node.kernel
    for stage, reason in START_STAGES.items():
        original = getattr(kernel, stage)

        async def checked(_original=original, _reason=reason):
            ok = await _original()
            if not ok:
                failed(_reason)
            return ok

        setattr(kernel, stage, checked)


def watch_connectivity(
    node: TradingNode, on_code: Callable[[int, int, str], None], on_disconnect: Callable[[int], None]
) -> None:
    """Call `on_code(client_id, code, message)` for every error code an IB client of the node receives, and
    `on_disconnect(client_id)` when its socket drops; the client's own handling runs unchanged after."""
    kernel = node.kernel
    clients = {
        id(c): c
        for engine in (kernel.exec_engine, kernel.data_engine)
        for adapter in engine._clients.values()
        if (c := getattr(adapter, "_client", None)) is not None
    }
    for client in clients.values():
        original_error = client.process_error
        original_disconnection = client._handle_disconnection

        async def process_error(*, _original=original_error, _client_id=client._client_id, **kwargs):
            on_code(_client_id, kwargs.get("error_code"), str(kwargs.get("error_string", "")))
            await _original(**kwargs)

        async def handle_disconnection(*, _original=original_disconnection, _client_id=client._client_id):
            on_disconnect(_client_id)
            await _original()

        # The IB client looks both up on the instance each time, so these wrappers see every call.
        client.process_error = process_error
        client._handle_disconnection = handle_disconnection


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
