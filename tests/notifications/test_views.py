"""The "Send test notification" button on the Gateways page: permission, POST with CSRF, the one-line outcome at the
top of the page, the channels shown redacted, and no secret anywhere on it."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client

from audit.models import Action, AuditEntry
from notifications.models import Alert
from tests.notifications.conftest import SMTP_PASSWORD, TOKEN, point_channels
from tests.pages.conftest import make_user

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


def messages_on(page: str) -> list[tuple[str, str]]:
    """(level, text) of each message shown at the top of the page."""
    return re.findall(r'<ul class="messages"><li class="(\w+)">([^<]*)</li>', page)


def press(client: Client):
    response = client.post("/notifications/test")
    assert response.status_code == 302 and response.url == "/gateways/"
    return client.get(response.url).content.decode()


def test_an_operator_sends_one_and_reads_how_every_channel_fared(all_channels, client):
    client.force_login(make_user("paperop", "view_console", "operate_paper"))
    page = client.get("/gateways/").content.decode()
    assert 'id="send-test-notification"' in page and 'action="/notifications/test"' in page
    receivers, smtp = all_channels
    assert f"slack: http://127.0.0.1:{receivers['slack'].port}" in page
    shown = press(client)
    alert = Alert.objects.get(kind="test")
    assert messages_on(shown) == [
        (
            "success",
            f"test notification #{alert.pk}: webhook delivered; email delivered; slack delivered; discord delivered",
        )
    ]
    assert receivers["webhook"].bodies()[0]["message"].startswith("test notification requested by user:paperop")
    assert smtp.messages and alert.actor == "user:paperop"
    assert TOKEN not in shown and SMTP_PASSWORD not in shown


def test_a_failing_channel_is_named_in_red_and_keeps_retrying(all_channels, client, settings):
    receivers, _ = all_channels
    receivers["slack"].statuses = [500]
    settings.ATS = dataclasses.replace(settings.ATS, alert_retry_base_seconds=30.0)  # the retry is not due yet
    client.force_login(make_user("paperop", "view_console", "operate_paper"))
    ((level, line),) = messages_on(press(client))
    assert level == "error" and "webhook delivered" in line and "email delivered" in line
    assert "slack retrying (attempt 1 of 3 failed: HTTP 500)" in line and TOKEN not in line


def test_a_superuser_may_press_it_and_nothing_configured_says_so(client, settings, transactional_db):
    point_channels(settings)
    client.force_login(make_user("root", superuser=True))
    ((level, line),) = messages_on(press(client))
    assert level == "error" and line.startswith("no notification channel is configured: set ATS_ALERT_WEBHOOK_URL")
    assert not Alert.objects.exists()
    assert "No notification channel is configured" in client.get("/gateways/").content.decode()


def test_who_may_not_press_it_and_how_it_must_be_asked(all_channels, client):
    viewer = make_user("viewer", "view_console")
    client.force_login(viewer)
    assert 'id="send-test-notification"' not in client.get("/gateways/").content.decode()
    assert client.post("/notifications/test").status_code == 403
    operator = make_user("paperop", "view_console", "operate_paper")
    client.force_login(operator)
    assert client.get("/notifications/test").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post("/notifications/test").status_code == 403  # no CSRF token
    anonymous = Client().post("/notifications/test")
    assert anonymous.status_code == 302 and anonymous.url.startswith("/login/")
    assert not Alert.objects.exists()


def test_the_panel_lists_recent_alerts_with_their_outcome_and_no_secret(all_channels, client):
    from notifications.services import do_send_alert
    from tests.notifications.conftest import finished

    receivers, _ = all_channels
    receivers["discord"].statuses = [404]
    alert_id = do_send_alert("gateway_down", "paper", "paper gateway is broken: silent")
    assert finished(alert_id)
    client.force_login(make_user("viewer", "view_console"))
    page = client.get("/gateways/").content.decode()
    assert 'id="recent-alerts"' in page and "paper gateway is broken: silent" in page
    assert '<div class="delivery-failed">discord FAILED after 1 attempt(s): HTTP 404</div>' in page
    assert '<div class="delivery-delivered">slack delivered</div>' in page
    assert TOKEN not in page and SMTP_PASSWORD not in page
    entry = AuditEntry.objects.get(target=f"alert:{alert_id}")
    assert entry.action == Action.NOTIFICATION_FAILED
