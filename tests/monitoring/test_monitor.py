"""The monitor against a real ibsim: transitions raise exactly one alert each way, with the right reasons."""

from __future__ import annotations

import time

import pytest

from audit.models import Action, AuditEntry
from ibsim import run_in_thread
from tests.monitoring.conftest import (
    ACCOUNT,
    LIVE_ACCOUNT,
    check_once,
    monitor_running,
    point_settings,
    wait_until,
)
from trading.monitoring.models import GatewayHealth

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def health(environment="paper"):
    return GatewayHealth.objects.filter(environment=environment).first()


def gateway_audits(action, environment="paper"):
    return list(AuditEntry.objects.filter(action=action, target=f"gateway:{environment}").order_by("seq"))


def wait_healthy(value: bool, timeout: float = 5.0):
    return wait_until(lambda: (h := health()) is not None and h.healthy is value and h, timeout)


def assert_one_outage_reported(webhook, reason_words: str):
    """Exactly one down and one up, each audited and posted once, the down naming its reason."""
    (down,) = gateway_audits(Action.GATEWAY_DOWN)
    (up,) = gateway_audits(Action.GATEWAY_UP)
    assert down.seq < up.seq
    assert reason_words in down.payload["message"]
    assert down.actor == "system:gateway-monitor" and down.payload["healthy"] is False
    assert up.payload == {**up.payload, "healthy": True, "previous": False}
    (posted_down,) = webhook.bodies("gateway_down")
    (posted_up,) = webhook.bodies("gateway_up")
    assert posted_down["environment"] == "paper" and reason_words in posted_down["message"]
    assert posted_down["details"]["message"] == down.payload["message"]
    assert posted_up["environment"] == "paper" and "healthy again" in posted_up["message"]


def test_drop_raises_one_alert_and_recovery_is_reported_once(ats, sim, webhook):
    with monitor_running(reap_sessions=False):
        first = wait_healthy(True)
        assert first and first.managed_accounts == [ACCOUNT] and first.message == ""
        assert not gateway_audits(Action.GATEWAY_UP), "the first healthy check is no recovery"
        assert sim.drop_connections() == 1
        down = webhook.wait_for("gateway_down")
        assert down and "dropped the API connection" in down[0]["message"]
        broken = health()
        assert broken.healthy is False and broken.needs_ack and broken.down_at == broken.changed_at
        assert webhook.wait_for("gateway_up")  # nothing refuses: the next check reconnects
        time.sleep(1.0)  # several more cycles: no repeated alerts
    assert_one_outage_reported(webhook, "dropped the API connection")
    assert webhook.paths[0].startswith("/hooks/") and webhook.posts[0]["content_type"] == "application/json"
    assert health().healthy is True and health().needs_ack  # recovered, but the outage still awaits an operator


def test_refused_gateway_is_broken_until_it_listens_again(ats, sim, webhook):
    with monitor_running(reap_sessions=False):
        assert wait_healthy(True)
        sim.refuse_connections(2.0)
        sim.drop_connections()
        assert webhook.wait_for("gateway_down")
        refused = wait_until(lambda: "connection refused" in health().message and health())
        assert refused and refused.healthy is False
        assert webhook.wait_for("gateway_up", timeout=6)
        time.sleep(0.8)
    assert_one_outage_reported(webhook, "dropped")  # the drop is seen first, at once
    assert len(webhook.bodies()) == 2


def test_silent_gateway_is_broken_and_recovers(ats, sim, webhook):
    with monitor_running(reap_sessions=False):
        assert wait_healthy(True)
        sim.go_silent(True)
        down = webhook.wait_for("gateway_down")
        assert down and "did not answer within 0.6s" in down[0]["message"]
        time.sleep(1.0)  # still silent over a few reconnects: still one alert
        assert len(webhook.bodies("gateway_down")) == 1
        assert health().healthy is False
        sim.go_silent(False)
        assert webhook.wait_for("gateway_up")
        time.sleep(0.5)
    assert_one_outage_reported(webhook, "did not answer")


def test_connectivity_codes_1100_breaks_and_1101_1102_restore(ats, sim, webhook):
    with monitor_running(reap_sessions=False):
        assert wait_healthy(True)
        sim.send_connectivity(1100)
        assert webhook.wait_for("gateway_down")
        time.sleep(0.8)  # the socket still answers, yet the gateway stays broken until it reports recovery
        assert health().healthy is False and "(1100)" in health().message
        sim.send_connectivity(1101)
        assert webhook.wait_for("gateway_up")
        sim.send_connectivity(1100)
        assert webhook.wait_for("gateway_down", 2)
        sim.send_connectivity(1102)
        assert webhook.wait_for("gateway_up", 2)
        time.sleep(0.5)
    downs, ups = gateway_audits(Action.GATEWAY_DOWN), gateway_audits(Action.GATEWAY_UP)
    assert len(downs) == 2 and len(ups) == 2
    assert all(d.payload["code"] == 1100 and "lost its connection to IB (1100)" in d.payload["message"] for d in downs)
    assert downs[0].seq < ups[0].seq < downs[1].seq < ups[1].seq
    assert len(webhook.bodies()) == 4


def test_account_not_managed_is_broken_with_a_clear_message(settings, webhook, transactional_db):
    with run_in_thread(accounts=["DU7654321"], port=0, speed=0) as other:
        point_settings(settings, paper_port=other.port, webhook_url=webhook.url)
        (result,), lost = check_once()
    assert not result.healthy and lost == []
    assert result.message == (
        f"account {ACCOUNT} is not managed by the gateway at 127.0.0.1:{other.port} (it manages DU7654321)"
    )
    stored = health()
    assert stored.healthy is False and stored.message == result.message and stored.managed_accounts == ["DU7654321"]
    (down,) = gateway_audits(Action.GATEWAY_DOWN)
    assert down.payload["reason"] == "accounts"
    assert webhook.wait_for("gateway_down")[0]["message"] == f"paper gateway is broken: {result.message}"


def test_wrong_kind_of_gateway_on_each_port(settings, webhook, transactional_db):
    with (
        run_in_thread(accounts=[LIVE_ACCOUNT], port=0, speed=0) as live_gw,
        run_in_thread(accounts=[ACCOUNT], port=0, speed=0) as paper_gw,
    ):
        # Swapped: the live gateway listens on the paper port and the paper gateway on the live port.
        point_settings(settings, paper_port=live_gw.port, live_port=paper_gw.port, webhook_url=webhook.url)
        results, _ = check_once()
    by_env = {r.environment: r for r in results}
    assert set(by_env) == {"paper", "live"} and not any(r.healthy for r in results)
    assert by_env["paper"].message == (
        f"a live gateway is on the paper port 127.0.0.1:{live_gw.port}: it manages live account {LIVE_ACCOUNT}"
    )
    assert by_env["live"].message == (
        f"a paper gateway is on the live port 127.0.0.1:{paper_gw.port}: it manages paper account {ACCOUNT}"
    )
    assert {h.environment: h.healthy for h in GatewayHealth.objects.all()} == {"paper": False, "live": False}
    assert {b["environment"] for b in webhook.wait_for("gateway_down", 2)} == {"paper", "live"}


def test_live_gateway_is_checked_only_when_live_trading_is_enabled(settings, sim, transactional_db):
    point_settings(settings, paper_port=sim.port)
    results, _ = check_once()
    assert [(r.environment, r.healthy) for r in results] == [("paper", True)]
    assert list(GatewayHealth.objects.values_list("environment", flat=True)) == ["paper"]


def test_client_id_in_use_is_reported_as_such(ats, sim, webhook):
    with monitor_running(reap_sessions=False, client_ids={"paper": 900}):
        assert wait_healthy(True)
        (result,), _ = check_once(client_ids={"paper": 900})
    assert not result.healthy
    assert result.message == f"client id 900 is already in use at 127.0.0.1:{sim.port} (another monitor?)"
