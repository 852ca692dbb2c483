"""A Nautilus TradingNode (IB data + execution clients) against ibsim, one node per subprocess."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ibsim import run_in_thread
from tests.ibsim.conftest import ACCOUNT

SCRIPT = Path(__file__).with_name("node_script.py")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
EXEC_CLIENT_ID = 12  # node_script.py's exec client id
DATA_CLIENT_ID = 11


def node_env():
    env = dict(os.environ, IB_MAX_CONNECTION_ATTEMPTS="3", PYTHONPATH=str(ROOT))
    return env


def run_node(port, mode, seconds, stop_file=None, wait=True):
    """Start node_script.py in a fresh interpreter (never forked from one holding a node)."""
    args = [sys.executable, str(SCRIPT), str(port), ACCOUNT, mode, str(seconds)]
    if stop_file:
        args.append(str(stop_file))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=node_env(), cwd=ROOT)
    return result_of(proc, seconds + 60) if wait else proc


def result_of(proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, f"node produced no result (rc={proc.returncode}):\n{err[-4000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.timeout(150)
def test_node_runs_trades_and_reconciles_after_gateway_restart(tmp_path):
    state = tmp_path / "ibsim.json"
    with run_in_thread(accounts=[ACCOUNT], state_file=str(state), speed=5) as first:
        result = run_node(first.port, "trade", 45)
        assert result["state"] == "RUNNING" and result["started"]
        assert result["quotes"] > 0 and result["bars"] >= 1
        assert len(result["fills"]) == 1 and result["fills"][0]["commission"] == "1.00 USD"
        placed = first.received("PLACE_ORDER", client_id=EXEC_CLIENT_ID)
        assert len(placed) == 1
        ref = placed[0]["args"]["orderRef"]
        assert ref.startswith(result["fills"][0]["client_order_id"] + ":")
        assert first.orders()[0]["order_ref"] == ref and first.orders()[0]["status"] == "Filled"

    # The gateway restarts from its state file; the account now also holds things this node never
    # saw: a larger position and a working order placed by an earlier session of its client id.
    # That order carries a Nautilus-style orderRef: Nautilus 1.231 cannot reconcile a working
    # order with an empty orderRef (ClientOrderId("") raises), e.g. one typed into TWS.
    with run_in_thread(accounts=[ACCOUNT], state_file=str(state), speed=5) as second:
        assert second.positions(ACCOUNT)["QQQ"]["qty"] == 10
        second.seed_position(ACCOUNT, "QQQ", 30, 150.0)
        seeded = second.seed_working_order(
            ACCOUNT,
            "QQQ",
            "BUY",
            5,
            "LMT",
            1.0,
            client_id=EXEC_CLIENT_ID,
            order_ref="O-20261125-150000-001-000-9:77",
            order_id=77,
        )
        result = run_node(second.port, "reconcile", 40)
        assert result["state"] == "RUNNING" and result["started"]
        assert result["positions"] == [{"instrument": "QQQ.NASDAQ", "qty": "30.0"}]
        assert len(result["open_orders"]) == 1
        reconciled = result["open_orders"][0]
        assert (reconciled["instrument"], reconciled["qty"]) == ("QQQ.NASDAQ", "5")
        assert (
            reconciled["venue_order_id"] == f"PERM-{seeded['perm_id']}"
        )  # the adapter keys reconciled orders by permId
        assert second.received("PLACE_ORDER") == []  # reconciliation placed nothing


@pytest.mark.timeout(150)
def test_node_reconnects_and_resubscribes_after_connections_drop(tmp_path):
    stop = tmp_path / "stop"
    with run_in_thread(accounts=[ACCOUNT], speed=5) as sim:
        proc = run_node(sim.port, "reconnect", 90, stop_file=stop, wait=False)
        try:
            deadline = time.time() + 60
            while not sim.received("REQ_REAL_TIME_BARS", client_id=DATA_CLIENT_ID) and time.time() < deadline:
                time.sleep(0.2)
            assert sim.received("REQ_REAL_TIME_BARS", client_id=DATA_CLIENT_ID), "node never subscribed"
            time.sleep(1)
            seq = len(sim.received())
            assert sim.drop_connections() >= 2
            sim.refuse_connections(2)
            dropped_at = time.time()
            deadline = time.time() + 60
            resubscribed = []
            while time.time() < deadline and not resubscribed:
                time.sleep(0.2)
                resubscribed = [
                    e for e in sim.received("REQ_REAL_TIME_BARS", client_id=DATA_CLIENT_ID) if e["seq"] > seq
                ]
            assert resubscribed, "node did not resubscribe after the drop"
            assert [e for e in sim.received("START_API") if e["seq"] > seq]
            time.sleep(3)
        finally:
            stop.touch()
        result = result_of(proc, 60)
        assert result["state"] == "RUNNING"
        assert result["last_bar_time"] > dropped_at and result["last_quote_time"] > dropped_at
        assert sorted(sim.client_ids()) == [] or set(sim.client_ids()) <= {DATA_CLIENT_ID, EXEC_CLIENT_ID}


@pytest.mark.timeout(150)
def test_node_brackets_wait_for_their_parent_and_cancel_each_other():
    """Findings 3 and 4 through the Nautilus IB adapter (transmit=False parent, parentId children, one list)."""
    with run_in_thread(accounts=[ACCOUNT], speed=5) as sim:
        proc = run_node(sim.port, "bracket", 60, wait=False)
        try:
            deadline = time.time() + 60
            # B's entry fills at once and its children go live; A's entry rests and its children wait.
            while time.time() < deadline:
                statuses = [o["status"] for o in sim.orders()]
                if len(statuses) == 6 and statuses.count("Filled") == 1 and statuses.count("Submitted") == 3:
                    break
                time.sleep(0.2)
            orders = sim.orders()
            assert [o["status"] for o in orders].count("PreSubmitted") == 2, orders
            time.sleep(2)  # a few market steps: A's marketable take-profit must still wait for its parent
            assert len(sim.executions()) == 1
            sim.move_price("QQQ", -0.1)  # through B's stop-loss
        finally:
            result = result_of(proc, 90)
        executions = sim.executions()
        by_ref = {o["order_ref"].rsplit(":", 1)[0]: o for o in sim.orders()}
        cancels = sim.received("CANCEL_ORDER")
    assert result["state"] == "RUNNING" and not result["errors"], result
    a_entry, a_tp, a_sl = result["bracket_a"]
    b_entry, b_tp, b_sl = result["bracket_b"]
    assert sorted(f["client_order_id"] for f in result["fills"]) == sorted([b_entry, b_sl])
    assert b_tp in result.get("canceled", [])
    assert sorted(o["client_order_id"] for o in result["open_orders"]) == sorted([a_entry, a_tp, a_sl])
    assert result["positions"] == []
    assert [(e["side"], e["shares"]) for e in executions] == [("BOT", 10), ("SLD", 10)]
    assert by_ref[b_tp]["status"] == "Cancelled" and by_ref[a_tp]["status"] == "PreSubmitted"
    assert cancels == []  # the gateway cancelled B's take-profit, not the node
