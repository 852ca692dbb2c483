"""The border of the fast tier: a test not marked e2e cannot start ibsim, a TradingNode or an e2e process."""

import subprocess
import sys

import pytest

from tests.support import e2e_command

NOT_E2E = "but is not marked e2e"


def test_starting_ibsim_outside_e2e_fails_the_test():
    from ibsim.sim import IBSim

    with pytest.raises(pytest.fail.Exception, match=f"starts ibsim {NOT_E2E}"):
        IBSim(accounts=["DU1234567"])


def test_starting_a_trading_node_outside_e2e_fails_the_test():
    from nautilus_trader.live.node import TradingNode

    with pytest.raises(pytest.fail.Exception, match=f"starts a TradingNode {NOT_E2E}"):
        TradingNode()


@pytest.mark.parametrize(
    "argv, command",
    [
        ([sys.executable, "-m", "ibsim", "--port", "0"], "-m ibsim"),
        ([sys.executable, "-m", "daphne", "ats_site.asgi:application"], "-m daphne"),
        ([sys.executable, "/repo/manage.py", "qcluster"], "manage.py qcluster"),
        ([sys.executable, "manage.py", "host_session", "7"], "manage.py host_session"),
    ],
)
def test_spawning_an_e2e_process_outside_e2e_fails_before_it_starts(argv, command):
    assert e2e_command(argv) == command
    with pytest.raises(pytest.fail.Exception, match=f"starts {command} {NOT_E2E}"):
        subprocess.Popen(argv)


def test_other_processes_and_help_texts_are_allowed():
    assert e2e_command([sys.executable, "-m", "ibsim", "--help"]) is None
    assert e2e_command([sys.executable, "manage.py", "check"]) is None
    assert e2e_command("ls -l") is None
    assert e2e_command("python -m ibsim --port 0") == "-m ibsim"
    assert subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, text=True).stdout == "1\n"


@pytest.mark.e2e
def test_an_e2e_test_may_start_them():
    from ibsim import run_in_thread

    with run_in_thread(accounts=["DU1234567"], port=0, speed=0) as sim:
        assert sim.port > 0
