"""The operator's time zone: saved setting, else the browser's cookie, else UTC; every page writes times in it."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import Action, AuditEntry
from console.models import OperatorPreference
from console.services import TimeZoneRefused, do_set_time_zone
from tests.pages.conftest import make_session

pytestmark = pytest.mark.django_db

WINTER = dt.datetime(2026, 1, 15, 12, 34, 56, tzinfo=dt.UTC)


def zone_of(client) -> str:
    html = client.get("/settings/").content.decode()
    return html.split('data-tz="', 1)[1].split('"', 1)[0]


def test_saved_zone_beats_the_cookie_which_beats_utc(client, viewer):
    client.force_login(viewer)
    assert zone_of(client) == "UTC"
    client.cookies["ats_tz"] = "America/New_York"
    assert zone_of(client) == "America/New_York"
    do_set_time_zone(viewer, "Europe/Berlin")
    assert zone_of(client) == "Europe/Berlin"
    do_set_time_zone(viewer, "")  # follow the browser again
    assert zone_of(client) == "America/New_York"


@pytest.mark.parametrize("cookie", ["Mars/Olympus", "../../etc/passwd", "", "europe/berlin", "UTC; x=1", "x" * 300])
def test_a_bad_cookie_is_ignored(client, viewer, cookie):
    client.force_login(viewer)
    client.cookies["ats_tz"] = cookie
    assert zone_of(client) == "UTC"


def test_the_login_page_follows_the_cookie(client):
    client.cookies["ats_tz"] = "Asia/Kolkata"
    assert 'data-tz="Asia/Kolkata"' in client.get("/login/").content.decode()


def test_settings_page_saves_a_zone_audited_and_pages_show_times_in_it_with_the_offset(client, viewer):
    client.force_login(viewer)
    page = client.get("/settings/").content.decode()
    assert 'id="user-settings" href="/settings/"' in page and '<option value="Europe/Berlin">' in page
    response = client.post("/settings/", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302 and response["Location"] == "/settings/"
    assert OperatorPreference.objects.get(user=viewer).time_zone == "Europe/Berlin"
    entry = AuditEntry.objects.filter(action=Action.TIME_ZONE_SET).get()
    assert entry.actor == "user:viewer" and entry.payload == {"time_zone": "Europe/Berlin", "previous": "browser"}
    page = client.get("/settings/").content.decode()
    assert "Times are shown in <strong>Europe/Berlin</strong>" in page and "your setting" in page
    assert '<option value="Europe/Berlin" selected>' in page
    session = make_session("paper")
    session.created_at = WINTER
    session.save(update_fields=["created_at"])
    html = client.get(f"/paper/sessions/{session.pk}/").content.decode()
    assert "2026-01-15 13:34:56 UTC+1" in html and "12:34:56" not in html


@pytest.mark.parametrize("bad", ["Mars/Olympus", "Europe/Berln", "../etc/passwd", "x" * 500])
def test_a_bad_zone_is_refused_in_one_line_and_nothing_changes(client, viewer, bad):
    do_set_time_zone(viewer, "Asia/Tokyo")
    client.force_login(viewer)
    before = AuditEntry.objects.count()
    response = client.post("/settings/", {"time_zone": bad})
    html = response.content.decode()
    assert response.status_code == 400
    error = html.split('id="zone-error">', 1)[1].split("</p>", 1)[0]
    assert "unknown time zone" in error and "\n" not in error
    assert OperatorPreference.objects.get(user=viewer).time_zone == "Asia/Tokyo"
    assert AuditEntry.objects.count() == before
    with pytest.raises(TimeZoneRefused):
        do_set_time_zone(viewer, bad)
