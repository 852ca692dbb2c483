"""The command line (help, listening line, SIGTERM saving state) and the HTTP control port."""

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from ib_async import IB, MarketOrder, Stock

from ibsim import run_in_thread
from ibsim.__main__ import build_parser
from tests.ibsim.conftest import ACCOUNT, run

ROOT = Path(__file__).resolve().parents[2]


def test_help_documents_every_option():
    out = subprocess.run(
        [sys.executable, "-m", "ibsim", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=30
    ).stdout
    for action in build_parser()._actions:
        for opt in action.option_strings:
            assert opt in out
        assert action.help and action.help != "==SUPPRESS=="
    assert "SYNTHETIC" in out and "REAL" in out


@pytest.mark.timeout(60)
@pytest.mark.e2e
def test_subprocess_listens_serves_and_saves_state_on_sigterm(tmp_path):
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ibsim",
            "--port",
            "0",
            "--account",
            ACCOUNT,
            "--account",
            "U7654321",
            "--state",
            str(state),
            "--speed",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("ibsim listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])

        async def trade():
            ib = IB()
            await ib.connectAsync("127.0.0.1", port, clientId=1, timeout=3, account=ACCOUNT)
            assert sorted(ib.managedAccounts()) == [ACCOUNT, "U7654321"]
            order = MarketOrder("BUY", 7)
            order.account = "U7654321"
            trade = ib.placeOrder(Stock("SPY", "SMART", "USD"), order)
            for _ in range(300):
                if trade.isDone():
                    break
                await __import__("asyncio").sleep(0.01)
            assert trade.orderStatus.status == "Filled"
            ib.disconnect()

        run(trade())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    saved = json.loads(state.read_text())
    assert saved["accounts"]["U7654321"]["positions"]["SPY"]["qty"] == 7
    assert len(saved["executions"]) == 1


@pytest.mark.timeout(30)
@pytest.mark.e2e
def test_control_port_inspects_and_injects_faults():
    with run_in_thread(accounts=[ACCOUNT], speed=0, control_port=0) as sim:
        base = f"http://127.0.0.1:{sim.control_port}"

        def get(path):
            with urllib.request.urlopen(base + path, timeout=5) as resp:
                return json.loads(resp.read())

        assert get("/reject?n=2") == {"reject_next": 2}
        assert sim.sim.broker.reject_next == 2
        get(f"/seed-position?account={ACCOUNT}&symbol=MSFT&qty=15&avg_cost=400")
        get(f"/seed-order?account={ACCOUNT}&symbol=AAPL&action=SELL&qty=3&lmt_price=999&client_id=4")
        state = get("/state")
        assert state["positions"][ACCOUNT]["MSFT"]["qty"] == 15
        assert state["orders"][0]["symbol"] == "AAPL" and state["orders"][0]["status"] == "Submitted"
        assert get("/silent?on=1")["silent"] is True and get("/silent?on=0")["silent"] is False
        assert get("/log")["log"] == []
        with pytest.raises(urllib.error.HTTPError):
            get("/nope")


@pytest.mark.timeout(30)
@pytest.mark.e2e
def test_a_price_gap_moves_the_market_from_the_next_step_and_bad_moves_are_refused():
    with run_in_thread(accounts=[ACCOUNT], speed=0, control_port=0) as sim:
        before = sim.sim.market.last("QQQ")
        with urllib.request.urlopen(f"http://127.0.0.1:{sim.control_port}/move?symbol=QQQ&fraction=-0.2") as resp:
            gapped = json.loads(resp.read())["last"]
        assert sim.sim.market.last("QQQ") == before  # the current step keeps its price
        sim.advance(5)
        assert sim.sim.market.last("QQQ") == pytest.approx(gapped) == pytest.approx(before * 0.8, rel=0.01)
        bid, ask, *_ = sim.sim.market.quote("QQQ")
        assert bid < before * 0.85 and ask < before * 0.85
        with pytest.raises(ValueError, match="above -100%"):
            sim.move_price("QQQ", -1.5)
