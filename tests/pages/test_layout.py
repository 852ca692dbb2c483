"""The console's frame through the Django test client: favicon, friendly error pages with DEBUG off, read-only admin
for sessions and other service-written records, empty states, the telemetry indicator's words, and refused forms
whose error summary is marked to be focused on load. (Layout and theme in a browser: test_layout_browser.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory, override_settings

from tests.conftest import TEST_OVERRIDE
from tests.pages.conftest import add_event, make_session
from trading.sessions.models import TradingSession

pytestmark = pytest.mark.django_db

START = {
    "mode": "sleeve",
    "strategy": "ibs_reversion",
    "instrument_id": "QQQ.NASDAQ",
    "bar_spec": "5-SECOND-LAST",
    "params": '{"buy_threshold": 0.9, "quantity": 10}',
}
HEAD = re.compile(r"<head>(.*?)</head>", re.S)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("boss", "boss@example.com", "pw-long-enough-123")


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr("trading.sessions.tasks.enqueue_session", lambda pk: calls.append(pk))
    return calls


def summary(html: str) -> str:
    """The refused form's error summary (the element marked data-focus-on-load), or '' if there is none."""
    match = re.search(r"<(div|p)[^>]*data-focus-on-load[^>]*>(.*?)</\1>", html, re.S)
    return match.group(0) if match else ""


# -- favicon, head -----------------------------------------------------------------------------------------------------


def test_favicon_is_served_without_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/ats/favicon.ico"
    icon = finders.find("ats/favicon.ico")  # served by whitenoise (the browser test fetches it through daphne)
    assert icon and Path(icon).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


def test_every_page_links_the_icon_and_sets_the_theme_from_an_external_script_in_head(client, viewer):
    pages = ["/login/"]
    client.force_login(viewer)
    pages += ["/", "/paper/", "/research/", "/audit/"]
    for url in pages:
        head = HEAD.search(client.get(url).content.decode()).group(1)
        assert 'rel="icon" href="/static/ats/favicon.svg"' in head, url
        assert '<script src="/static/ats/theme.js"></script>' in head, url
        assert head.index("console.css") < head.index("theme.js"), url  # its colours are read after the stylesheet
    html = client.get("/paper/").content.decode()
    assert '<select id="theme-select">' in html
    assert all(f'<option value="{v}">' in html for v in ("system", "light", "dark"))


# -- error pages -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])  # True: the embedded demo (make run) a new user sees
@pytest.mark.parametrize("logged_in", [False, True])
def test_404_is_the_friendly_page(client, viewer, logged_in, debug):
    if logged_in:
        client.force_login(viewer)
    with override_settings(DEBUG=debug):
        response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html and 'id="error-home"' in html and 'href="/"' in html
    assert "URLconf" not in html and "Resolver404" not in html and "Traceback" not in html
    assert ('id="nav-paper"' in html) is logged_in  # the console's top bar, for a user who may use it
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("debug", [False, True])
def test_404_from_a_view_says_what_was_not_found(client, viewer, debug):
    client.force_login(viewer)
    with override_settings(DEBUG=debug):
        response = client.get("/paper/sessions/999999/")
        json_404 = client.get("/research/gauntlets/999999/progress.json")
    assert response.status_code == 404
    assert '<p class="muted" id="error-reason">No such session.</p>' in response.content.decode()
    assert json_404.status_code == 404


@pytest.mark.parametrize("debug", [True, False])
def test_403_without_console_permission_is_the_friendly_page(client, nobody, debug):
    client.force_login(nobody)
    with override_settings(DEBUG=debug):
        response = client.get("/paper/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "Not allowed" in html and "You may not view paper trading." in html and 'id="error-home"' in html


@override_settings(DEBUG=False, ROOT_URLCONF="tests.pages.error_urls")
def test_500_is_the_friendly_page_and_needs_no_user_or_database(django_assert_num_queries):
    client = Client(raise_request_exception=False)
    with django_assert_num_queries(0):
        response = client.get("/test-only/boom/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on the server" in html and 'id="error-home"' in html
    assert "SECRET" not in html and "RuntimeError" not in html and "Traceback" not in html
    assert '<script src="/static/ats/theme.js"></script>' in html  # themed like every page


@override_settings(DEBUG=False)
def test_400_and_csrf_failure_are_friendly_pages(client, paper_operator):
    response = client.get("/", HTTP_HOST="evil.example")  # not in ALLOWED_HOSTS
    assert response.status_code == 400 and "Bad request" in response.content.decode()
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(paper_operator)
    response = csrf.post("/paper/start", START)
    assert response.status_code == 403 and "The form expired" in response.content.decode()
    assert not TradingSession.objects.exists()


# -- admin ---------------------------------------------------------------------------------------------------------


def test_sessions_and_their_telemetry_are_read_only_in_the_admin(client, superuser):
    session = make_session(status="stopped", stop_reason="operator stop")
    add_event(session, "status", status="stopped")
    other = make_session(status="stopped")
    add_event(other, "log", message="another session's line")
    client.force_login(superuser)
    listing = client.get("/admin/trading/tradingsession/")
    assert listing.status_code == 200 and b"ibs_reversion QQQ.NASDAQ" in listing.content
    detail = client.get(f"/admin/trading/tradingsession/{session.pk}/change/")
    html = detail.content.decode()
    assert detail.status_code == 200 and "operator stop" in html and "1 events" in html
    assert 'name="_save"' not in html and "deletelink" not in html
    events = client.get(f"/admin/trading/sessionevent/?session__id__exact={session.pk}")
    assert events.status_code == 200
    assert f"paper session #{session.pk} " in events.content.decode()
    assert f"paper session #{other.pk} " not in events.content.decode()  # filtered to the one session
    assert client.get("/admin/trading/tradingsession/add/").status_code == 403
    assert client.get(f"/admin/trading/tradingsession/{session.pk}/delete/").status_code == 403
    assert client.post(f"/admin/trading/tradingsession/{session.pk}/change/", {"status": "running"}).status_code == 403
    bulk = client.post(
        "/admin/trading/tradingsession/", {"action": "delete_selected", "_selected_action": [session.pk], "post": "yes"}
    )
    assert bulk.status_code == 200  # the action is not offered: nothing deleted
    session.refresh_from_db()
    assert session.status == "stopped" and TradingSession.objects.count() == 2


def test_backtests_refuse_delete_and_every_service_written_record_is_read_only(client, superuser):
    client.force_login(superuser)
    for model in (
        "trading/backtestrun",
        "trading/tradingsession",
        "trading/sessionevent",
        "trading/sessiondaypnl",
        "trading/accountbreaker",
        "trading/gatewayhealth",
        "research/gauntletreport",
        "research/gauntletjob",
        "research/paperrungcheck",
        "studio/studioversion",
        "notifications/alert",
        "audit/auditentry",
    ):
        assert client.get(f"/admin/{model}/").status_code == 200, model
        assert client.get(f"/admin/{model}/add/").status_code == 403, model
    from django.contrib import admin

    from trading.models import BacktestRun

    model_admin = admin.site._registry[BacktestRun]
    request = RequestFactory().get("/admin/trading/backtestrun/")
    request.user = superuser
    assert not model_admin.has_delete_permission(request) and not model_admin.has_add_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


# -- empty states and the telemetry indicator -------------------------------------------------------------------------


def test_before_any_session_the_pages_say_what_will_appear(client, paper_operator):
    client.force_login(paper_operator)
    html = client.get("/paper/").content.decode()
    assert (
        '<div class="log" id="env-log" data-empty="No telemetry yet — it appears here when a session starts."></div>'
        in html
    )
    assert "No active paper sessions." in html and "No finished sessions yet." in html
    assert '<span class="conn muted" id="conn">telemetry: connecting…</span>' in html
    assert ">live<" not in html and ">connecting…<" not in html
    session = make_session(status="stopped")
    html = client.get(f"/paper/sessions/{session.pk}/").content.decode()
    for text in ("No open positions.", "No working orders.", "No fills yet.", "No orders yet.", "No log lines yet"):
        assert f'data-empty="{text}' in html, text
    assert "telemetry: connecting…" in html


def test_console_js_names_the_indicator_telemetry_and_never_just_live():
    script = (Path(__file__).resolve().parents[2] / "static" / "ats" / "console.js").read_text()
    assert 'indicator.textContent = "telemetry: " + text' in script
    assert 'state("live"' not in script and 'state("connected", true)' in script


# -- refused forms: the error summary on top, focused on load ---------------------------------------------------------


def test_a_refused_paper_start_puts_its_error_summary_first_in_the_form(client, paper_operator, enqueued):
    client.force_login(paper_operator)
    response = client.post("/paper/start", {**START, "params": '{"buy_threshold": 1.5}'})
    html = response.content.decode()
    assert response.status_code == 400
    box = summary(html)
    assert 'role="alert"' in box and 'tabindex="-1"' in box
    assert '<a href="#id_params">Params (JSON)</a>: buy_threshold: must be between 0 and 1, got 1.5' in box
    form = html[html.index('id="start-form"') :]
    assert form.index("data-focus-on-load") < form.index('id="id_strategy"')  # above the first field
    assert enqueued == [] and not TradingSession.objects.exists()
    assert not summary(client.get("/paper/").content.decode())  # a fresh page has none


def test_a_refused_live_start_and_a_wrong_typed_account_are_summarised_on_top(
    client, live_on, live_operator, enqueued, known_instruments
):
    from approvals.services import do_approve_live

    client.force_login(live_operator)
    refused = client.post("/live/start", START)
    assert refused.status_code == 400 and "live refused" in summary(refused.content.decode())
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="two weeks of paper",
        actor="user:approver",
        bar_spec=START["bar_spec"],
        params=START["params"],
        override_ladder=TEST_OVERRIDE,
    )
    book = client.post("/live/start", START).context["confirm"].initial["book"]
    wrong = client.post("/live/start/confirm", {"book": book, "confirm_account": "U0000001"})
    html = wrong.content.decode()
    assert wrong.status_code == 400 and "did not match" in summary(html)
    form = html[html.index('id="live-confirm-form"') :]
    assert form.index("data-focus-on-load") < form.index("Type the live account id")
    assert not TradingSession.objects.exists() and enqueued == []


def test_a_refused_research_start_and_login_mark_their_error_to_focus(client, paper_operator, tmp_path, settings):
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    response = client.post("/login/", {"username": "paperop", "password": "wrong-password"})
    assert "did not match" in summary(response.content.decode())
    client.force_login(paper_operator)
    response = client.post("/research/new/backtest", {"backtest-strategy": "ibs_reversion", "backtest-params": "{x"})
    assert response.status_code == 400 and 'id="backtest-error"' in summary(response.content.decode())
