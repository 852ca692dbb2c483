"""The Nautilus internals the session host relies on (all used through trading/sessions/node.py) exist in the
installed version, and that version is the one they were verified against: an upgrade fails here, loudly."""

import nautilus_trader
from nautilus_trader.adapters.interactive_brokers.client.client import InteractiveBrokersClient
from nautilus_trader.live.risk_engine import LiveRiskEngine
from nautilus_trader.system.kernel import NautilusKernel

from trading.sessions.node import NAUTILUS_VERSION_VERIFIED, START_STAGES


def test_the_installed_nautilus_is_the_version_the_internals_were_verified_against():
    assert nautilus_trader.__version__ == NAUTILUS_VERSION_VERIFIED, (
        f"nautilus_trader {nautilus_trader.__version__} is installed; the host's use of its internals was verified "
        f"on {NAUTILUS_VERSION_VERIFIED}: re-check each (see node.py) and move the pin"
    )


def test_every_internal_the_host_uses_is_there():
    for stage in START_STAGES:
        assert callable(getattr(NautilusKernel, stage, None)), stage
    for name in ("process_error", "_handle_disconnection", "get_positions"):
        assert callable(getattr(InteractiveBrokersClient, name, None)), name
    assert callable(getattr(LiveRiskEngine, "_reject_modify_order", None))


def test_no_two_kinds_of_connection_share_an_ib_client_id():
    """Sessions, instrument checks, the monitor, kills without a host and the account flatten each connect with
    client ids of their own: two connections with one id at one gateway knock each other off (error 326)."""
    from trading.gateway import CHECK_CLIENT_IDS
    from trading.monitoring.monitor import MONITOR_CLIENT_IDS, ONCE_CLIENT_IDS
    from trading.sessions.client_ids import ACCOUNT_FLATTEN_CLIENT_ID, client_ids, kill_client_id

    sessions = {i for session_id in range(1, 3001) for i in client_ids(session_id)}
    kills = {kill_client_id(session_id) for session_id in range(1, 3001)}
    monitor = set(MONITOR_CLIENT_IDS.values()) | set(ONCE_CLIENT_IDS.values())
    groups = [sessions, set(CHECK_CLIENT_IDS), monitor, kills, {ACCOUNT_FLATTEN_CLIENT_ID}, {17}]
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            assert not groups[a] & groups[b], (a, b, sorted(groups[a] & groups[b])[:5])
