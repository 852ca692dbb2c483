"""Operator pages through the Django test client: navigation, live gating, start panel, kill switch, security."""

from __future__ import annotations

import dataclasses
import json

import pytest

from audit.models import Action, AuditEntry
from tests.conftest import TEST_OVERRIDE
from tests.pages.conftest import LIVE_ACCOUNT, add_event, make_session
from trading.sessions.models import TradingSession

pytestmark = pytest.mark.django_db

GOOD = {
    "mode": "sleeve",
    "strategy": "ibs_reversion",
    "instrument_id": "QQQ.NASDAQ",
    "bar_spec": "5-SECOND-LAST",
    "params": '{"buy_threshold": 0.9, "quantity": 10}',
}


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr("trading.sessions.tasks.enqueue_session", lambda pk: calls.append(pk))
    return calls


def test_pages_need_login(client):
    for url in ["/", "/paper/", "/research/", "/audit/", "/approvals/", "/gateways/", "/paper/sessions.json"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_navigation_and_main_pages_render(client, viewer):
    client.force_login(viewer)
    for url in ["/", "/paper/", "/research/", "/audit/", "/approvals/", "/gateways/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for tab in ("Research", "Paper", "Approvals", "Audit", "Gateways"):
            assert f">{tab}</a>" in html
    assert b"verify_audit: OK" in client.get("/audit/").content
    assert b"/admin/approvals/goliveapproval/" in client.get("/approvals/").content


def test_no_console_permission_is_403(client, nobody):
    client.force_login(nobody)
    assert client.get("/paper/").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_live_is_absent_and_404_while_disabled(client, live_off, live_operator):
    client.force_login(live_operator)
    assert b'id="nav-live"' not in client.get("/paper/").content
    for url in ["/live/", "/live/sessions.json", "/live/sessions/1/"]:
        assert client.get(url).status_code == 404, url
    for url in ["/live/start", "/live/start/confirm", "/live/kill-all", "/live/sessions/1/kill"]:
        assert client.post(url, {"reason": "x"}).status_code == 404, url


def test_live_tab_only_with_operate_live(client, live_on, paper_operator, live_operator):
    client.force_login(paper_operator)
    assert b'id="nav-live"' not in client.get("/paper/").content
    assert client.get("/live/").status_code == 403
    client.force_login(live_operator)
    assert b'id="nav-live"' in client.get("/paper/").content
    html = client.get("/live/").content.decode()
    assert "<title>REAL MONEY" in html and 'id="real-money-badge"' in html
    paper = client.get("/paper/").content.decode()
    assert "REAL MONEY" not in paper


def test_sessions_list_json(client, viewer):
    session = make_session("paper")
    add_event(session, "pnl", realized="-1.00", unrealized="0.00", commissions="0.00", total="-1.00")
    add_event(session, "pnl", realized="-1.00", unrealized="10.00", commissions="0.50", total="8.50")  # the latest
    client.force_login(viewer)
    data = client.get("/paper/sessions.json").json()
    row = data["active"][0]
    assert row["id"] == session.pk and row["status"] == "running" and row["account_id"] == "DU1234567"
    assert row["pnl"] == {"realized": -1.5, "unrealized": 10.0, "commissions": 0.5, "total": 8.5}
    assert row["sleeves"] == ["ibs_reversion QQQ.NASDAQ 5-SECOND-LAST"]
    assert client.get(f"/paper/sessions/{session.pk}/").status_code == 200


def test_start_panel_field_level_errors(client, paper_operator, enqueued):
    client.force_login(paper_operator)
    response = client.post("/paper/start", {**GOOD, "params": '{"buy_threshold": 1.5}'})
    assert response.status_code == 400
    assert response.context["form"].errors["params"] == ["buy_threshold: must be between 0 and 1, got 1.5"]
    response = client.post("/paper/start", {**GOOD, "instrument_id": "QQQ"})
    assert "instrument_id" in response.context["form"].errors
    response = client.post("/paper/start", {**GOOD, "bar_spec": "5-SECONDS"})
    assert "bar_spec" in response.context["form"].errors
    response = client.post("/paper/start", {**GOOD, "params": "{bad"})
    assert response.context["form"].errors["params"][0].startswith("not valid JSON")
    response = client.post("/paper/start", {**GOOD, "params": '{"nope": 1}'})
    assert "unknown parameter 'nope'" in response.context["form"].errors["params"][0]
    response = client.post("/paper/start", {"mode": "book", "sleeves": '[{"strategy": "ibs_reversion"}]'})
    assert response.status_code == 400 and "instrument_id is required" in response.content.decode()
    assert not TradingSession.objects.exists() and enqueued == []


def test_paper_start_creates_audits_and_enqueues(
    client, paper_operator, enqueued, django_capture_on_commit_callbacks, known_instruments
):
    client.force_login(paper_operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/paper/start", GOOD)
    session = TradingSession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/paper/sessions/{session.pk}/"
    assert session.started_by == "user:paperop" and session.environment == "paper"
    assert enqueued == [session.pk]
    assert AuditEntry.objects.filter(action=Action.SESSION_START, target=f"session:{session.pk}").exists()


def test_state_changes_need_post_permission_and_csrf(client, viewer, paper_operator):
    session = make_session("paper")
    client.force_login(viewer)
    assert client.post("/paper/start", GOOD).status_code == 403
    assert client.post(f"/paper/sessions/{session.pk}/kill", {"reason": "x", "flatten": "0"}).status_code == 403
    client.force_login(paper_operator)
    assert client.get("/paper/start").status_code == 405
    assert client.get(f"/paper/sessions/{session.pk}/kill").status_code == 405
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(paper_operator)
    assert strict.post(f"/paper/sessions/{session.pk}/kill", {"reason": "x", "flatten": "0"}).status_code == 403
    session.refresh_from_db()
    assert session.kill_requested_at is None


def test_kill_needs_reason_and_is_audited(client, paper_operator):
    session = make_session("paper", status="starting")
    client.force_login(paper_operator)
    html = client.get(f"/paper/sessions/{session.pk}/").content.decode()
    assert 'id="kill-dialog"' in html and "Halt and flatten" in html and 'name="reason"' in html
    client.post(f"/paper/sessions/{session.pk}/kill", {"reason": "  ", "flatten": "0"})
    session.refresh_from_db()
    assert session.kill_requested_at is None
    client.post(f"/paper/sessions/{session.pk}/kill", {"reason": "fat finger", "flatten": "1"})
    session.refresh_from_db()
    assert session.kill_requested_at and session.kill_flatten and session.kill_reason == "fat finger"
    entry = AuditEntry.objects.filter(action=Action.SESSION_KILL, target=f"session:{session.pk}").first()
    assert entry.actor == "user:paperop" and entry.payload["flatten"] is True


def test_kill_all_and_stop(client, paper_operator):
    a = make_session("paper")
    make_session("paper")  # a second active session for kill-all
    client.force_login(paper_operator)
    client.post(f"/paper/sessions/{a.pk}/stop")
    a.refresh_from_db()
    assert a.stop_requested_at is not None
    response = client.post("/paper/kill-all", {"reason": "market halt", "flatten": "0"}, follow=True)
    assert "kill all (halt) requested for 2 paper session(s)" in response.content.decode()
    assert TradingSession.objects.filter(kill_requested_at__isnull=False).count() == 2


def test_live_start_refused_without_approval(client, live_on, live_operator):
    client.force_login(live_operator)
    response = client.post("/live/start", GOOD)
    assert response.status_code == 400 and "live refused" in response.content.decode()
    assert AuditEntry.objects.filter(action=Action.SESSION_REFUSED, actor="user:liveop").exists()
    assert not TradingSession.objects.exists()


def test_live_start_summary_and_typed_account(
    client, live_on, live_operator, enqueued, django_capture_on_commit_callbacks, known_instruments
):
    from approvals.services import do_approve_live

    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="two weeks of paper",
        actor="user:approver",
        bar_spec=GOOD["bar_spec"],
        params=GOOD["params"],
        override_ladder=TEST_OVERRIDE,
    )
    client.force_login(live_operator)
    response = client.post("/live/start", GOOD)
    html = response.content.decode()
    assert response.status_code == 200 and "<title>REAL MONEY" in html
    for text in (
        LIVE_ACCOUNT,
        "approved by: user:approver",
        "note       : two weeks of paper",
        "max notional",
        "5,000.00 USD per order",
    ):
        assert text in html
    book = response.context["confirm"].initial["book"]
    wrong = client.post("/live/start/confirm", {"book": book, "confirm_account": "U0000001"})
    assert wrong.status_code == 400 and "did not match" in wrong.content.decode()
    refusals = AuditEntry.objects.filter(action=Action.SESSION_REFUSED, actor="user:liveop")
    assert any("did not match" in e.payload["reason"] for e in refusals)
    assert not TradingSession.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post("/live/start/confirm", {"book": book, "confirm_account": LIVE_ACCOUNT})
    session = TradingSession.objects.get()
    assert ok.status_code == 302 and session.environment == "live" and session.account_id == LIVE_ACCOUNT
    assert session.approvals[0]["approved_by"] == "user:approver" and enqueued == [session.pk]
    assert json.loads(book)[0]["strategy"] == "ibs_reversion"


def test_secrets_are_never_rendered(client, settings, live_operator):
    settings.ATS = dataclasses.replace(
        settings.ATS, audit_hmac_key="hmac-SECRET-123", alert_webhook_url="https://hooks.example/SECRET-456"
    )
    client.force_login(live_operator)
    for url in ["/", "/paper/", "/audit/", "/gateways/", "/approvals/", "/research/"]:
        body = client.get(url).content.decode()
        assert "SECRET-123" not in body and "SECRET-456" not in body and settings.SECRET_KEY not in body


def test_limits_in_force_are_shown_on_the_start_panel_and_the_session_page(client, paper_operator):
    client.force_login(paper_operator)
    panel = client.get("/paper/").content.decode()
    assert 'id="risk-limits"' in panel and "money in USD" in panel
    for label, value in [
        ("max notional", "25,000.00 USD per order"),
        ("max submit rate", "10 orders per 1 s"),
        ("price collar", "10.00% from the market"),
        ("max open orders", "20 working orders"),
        ("max drawdown (breaker)", "5,000.00 USD"),
        ("duplicate-order window", "1.0 s"),
    ]:
        assert f"<th>{label}</th><td>{value}</td>" in panel, label
    session = make_session("paper")
    page = client.get(f"/paper/sessions/{session.pk}/").content.decode()
    assert "<th>max notional</th><td>25,000.00 USD per order</td>" in page and "Loss breaker armed." in page
    assert "<th>max submit rate</th><td>10 orders per 1 s</td>" in page


def test_a_tripped_breaker_is_shown_and_only_an_operator_resets_it_with_a_reason(client, viewer, paper_operator):
    from django.utils import timezone

    session = make_session("paper", breaker_tripped_at=timezone.now(), breaker_reason="loss breaker: the day's loss")
    client.force_login(viewer)
    page = client.get(f"/paper/sessions/{session.pk}/").content.decode()
    assert "REDUCING: loss breaker tripped" in page and 'id="breaker-reset-form"' not in page
    assert client.post(f"/paper/sessions/{session.pk}/reset-breaker", {"reason": "x"}).status_code == 403
    assert json.loads(client.get("/paper/sessions.json").content)["active"][0]["breaker"].startswith("loss breaker")

    client.force_login(paper_operator)
    assert 'id="breaker-reset-form"' in client.get(f"/paper/sessions/{session.pk}/").content.decode()
    response = client.post(f"/paper/sessions/{session.pk}/reset-breaker", {"reason": " "}, follow=True)
    assert "breaker reset refused: a reason is required" in response.content.decode()
    session.refresh_from_db()
    assert session.breaker_tripped_at is not None
    response = client.post(f"/paper/sessions/{session.pk}/reset-breaker", {"reason": "loss accepted"}, follow=True)
    assert "loss breaker of session" in response.content.decode()
    session.refresh_from_db()
    assert session.breaker_tripped_at is None
    entry = AuditEntry.objects.get(action=Action.BREAKER_RESET)
    assert entry.actor == "user:paperop" and entry.payload["reason"] == "loss accepted"
    again = client.post(f"/paper/sessions/{session.pk}/reset-breaker", {"reason": "twice"}, follow=True)
    assert "is not tripped" in again.content.decode()


def test_a_tripped_account_breaker_shows_on_every_page_of_its_environment_and_an_operator_resets_it(
    client, viewer, paper_operator
):
    from django.utils import timezone

    from trading.sessions.models import AccountBreaker

    session = make_session("paper")
    AccountBreaker.objects.create(
        environment="paper", account_id="DU1234567", tripped_at=timezone.now(), reason="DU1234567 account loss breaker"
    )
    client.force_login(viewer)
    for url in ("/paper/", f"/paper/sessions/{session.pk}/"):
        page = client.get(url).content.decode()
        assert "REDUCING: the loss breaker of account DU1234567 tripped" in page, url
        assert "account-breaker-reset" not in page, url
    assert client.post("/paper/accounts/DU1234567/reset-breaker", {"reason": "x"}).status_code == 403

    client.force_login(paper_operator)
    assert "account-breaker-reset" in client.get("/paper/").content.decode()
    refused = client.post("/paper/accounts/DU1234567/reset-breaker", {"reason": ""}, follow=True).content.decode()
    assert "breaker reset refused: a reason is required" in refused
    unknown = client.post("/paper/accounts/DU0000009/reset-breaker", {"reason": "x"}, follow=True).content.decode()
    assert "loss breaker of account DU0000009 is not tripped" in unknown
    page = client.post("/paper/accounts/DU1234567/reset-breaker", {"reason": "loss accepted"}, follow=True)
    assert "loss breaker of account DU1234567 reset" in page.content.decode()
    assert "REDUCING: the loss breaker of account" not in page.content.decode()
    entry = AuditEntry.objects.get(action=Action.BREAKER_RESET)
    assert entry.actor == "user:paperop" and entry.target == "account:DU1234567"
