"""The attribution check: the broker's position against the session's own fills, and positions no session owns."""

from decimal import Decimal

import pytest

from audit.models import Action, AuditEntry
from tests.monitoring.conftest import WebhookReceiver
from tests.sessions.conftest import PAPER_ACCOUNT, finish, wait_until
from trading.sessions.host_attribution import attribution_problems
from trading.sessions.services import do_create_session, do_request_kill

D = Decimal


def test_differences_and_unattributed_positions_are_named_with_both_numbers():
    problems = attribution_problems({"QQQ": D(15), "SPY": D(-7)}, {"QQQ": D(10), "IWM": D(0)}, owned_by_others=set())
    assert problems == {
        "QQQ": "attribution: QQQ is +15 at the broker but +10 by this session's fills",
        "SPY": "attribution: SPY -7 at the broker is unattributed (no active session on the account trades it)",
    }
    assert attribution_problems({"QQQ": D(10), "SPY": D(-7)}, {"QQQ": D(10)}, owned_by_others={"SPY"}) == {}
    assert attribution_problems({}, {"QQQ": D(3)}, set())["QQQ"].endswith(
        "+0 at the broker but +3 by this session's fills"
    )


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_position_changed_behind_the_sessions_back_is_audited_and_alerted(paper_stack):
    webhook = WebhookReceiver()
    paper_stack.env["ATS_ALERT_WEBHOOK_URL"] = webhook.url
    sim = paper_stack.sim
    sleeves = [
        {
            "strategy": "order_probe",
            "instrument_id": "QQQ.NASDAQ",
            "bar_spec": "5-SECOND-LAST",
            "params": {"action": "market", "count": 10},
        }
    ]
    session = do_create_session(environment="paper", sleeves=sleeves, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        wait_until(lambda: sim.positions(PAPER_ACCOUNT).get("QQQ", {}).get("qty") == 10, 60, message="the buy")
        sim.seed_position(PAPER_ACCOUNT, "QQQ", 15, 160.0)  # traded elsewhere (TWS, another client)
        sim.seed_position(PAPER_ACCOUNT, "SPY", -7, 250.0)  # no session owns SPY
        wait_until(
            lambda: AuditEntry.objects.filter(action=Action.ATTRIBUTION_MISMATCH).count() >= 2, 40, message="both"
        )
        reasons = sorted(
            AuditEntry.objects.filter(action=Action.ATTRIBUTION_MISMATCH).values_list("payload__reason", flat=True)
        )
        assert reasons == [
            "attribution: QQQ is +15 at the broker but +10 by this session's fills",
            "attribution: SPY -7 at the broker is unattributed (no active session on the account trades it)",
        ]
        alert = webhook.wait_for("risk.attribution_mismatch", timeout=10)
        assert alert and "attribution:" in alert[0]["message"]
    finally:
        webhook.close()
        do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
        finish(host)
