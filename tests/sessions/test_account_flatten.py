"""The account-level flatten, end to end against ibsim: every session on the account killed, every working order
cancelled and every position closed at the broker, whatever owns it; from the CLI and the page, audited."""

import subprocess
import sys

import pytest

from audit.models import Action, AuditEntry
from tests.pages.conftest import make_user
from tests.sessions.conftest import PAPER_ACCOUNT, ROOT, finish, wait_until
from trading.sessions.models import SessionStatus, TradingSession
from trading.sessions.services import do_create_session

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

BUY_QQQ = [
    {
        "strategy": "order_probe",
        "instrument_id": "QQQ.NASDAQ",
        "bar_spec": "5-SECOND-LAST",
        "params": {"action": "market", "count": 10},
    }
]


def test_the_page_flattens_everything_on_the_account_whatever_owns_it(paper_stack, client):
    sim = paper_stack.sim
    session = do_create_session(environment="paper", sleeves=BUY_QQQ, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: sim.positions(PAPER_ACCOUNT).get("QQQ", {}).get("qty") == 10, 60, message="the buy")
        sim.seed_position(PAPER_ACCOUNT, "SPY", -7, 250.0)  # opened elsewhere, owned by no session
        sim.seed_working_order(PAPER_ACCOUNT, "IWM", "BUY", 3, "LMT", lmt_price=1.0)  # placed elsewhere
        client.force_login(make_user("paperop", "view_console", "operate_paper"))
        refused = client.post("/paper/flatten-account", {"reason": " "}, follow=True).content.decode()
        assert "account flatten refused: a reason is required" in refused
        page = client.post("/paper/flatten-account", {"reason": "end of day"}, follow=True).content.decode()
        assert f"account {PAPER_ACCOUNT} is flat at the broker" in page, page[-3000:]
        assert sim.positions(PAPER_ACCOUNT) == {}
        assert not [o for o in sim.orders() if o["status"] in ("Submitted", "PreSubmitted")]
        assert finish(host) == 0
        assert TradingSession.objects.get(pk=session.pk).status == SessionStatus.KILLED
        outcome = AuditEntry.objects.filter(action=Action.ACCOUNT_FLATTEN, payload__ok=True).get()
        assert outcome.actor == "user:paperop" and outcome.target == f"account:{PAPER_ACCOUNT}"
        assert sorted(c["symbol"] for c in outcome.payload["closes"]) == ["QQQ", "SPY"]
    finally:
        finish(host)


def test_the_cli_says_in_one_line_what_is_left_when_the_broker_refuses(paper_stack):
    sim = paper_stack.sim
    sim.seed_position(PAPER_ACCOUNT, "SPY", 12, 250.0)
    sim.reject_next_orders(100)
    result = subprocess.run(
        [sys.executable, "manage.py", "flatten_account", "--env", "paper", "--reason", "test"],
        cwd=ROOT,
        env=paper_stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"account {PAPER_ACCOUNT} flatten incomplete: SPY +12"), result.stderr
    assert sim.positions(PAPER_ACCOUNT)["SPY"]["qty"] == 12
