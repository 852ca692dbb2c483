"""The Gateways page's screens and the screenshot view, against a real VNC server (Xvfb + x11vnc): login, the
environment permissions, no caching, a 503 with the one-line reason, and the live audit."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from audit.models import AuditEntry
from tests.monitoring.vnc_server import RED, colour_share, point_vnc
from tests.pages.conftest import make_user

pytestmark = pytest.mark.django_db

PAPER_URL, LIVE_URL = "/gateways/paper/screen.png", "/gateways/live/screen.png"


@pytest.fixture
def viewer():
    return make_user("viewer", "view_console")


@pytest.fixture
def live_operator():
    return make_user("liveop", "view_console", "operate_paper", "operate_live")


@pytest.fixture(autouse=True)
def vnc_password(vnc, monkeypatch):
    monkeypatch.setenv("VNC_SERVER_PASSWORD", vnc.password)


def test_a_logged_in_viewer_gets_a_fresh_png_and_anonymous_users_the_login_page(client, settings, vnc, viewer):
    point_vnc(settings, "paper", "127.0.0.1", vnc.port)
    response = client.get(PAPER_URL)
    assert response.status_code == 302 and response.url.startswith("/login/")
    client.force_login(viewer)
    response = client.get(PAPER_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["Cache-Control"] == "no-store"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (800, 600) and colour_share(image, RED) > 0.99
    assert not AuditEntry.objects.filter(action="gateway.screenshot").exists()  # paper is not audited


def test_live_is_404_while_disabled_403_without_its_permission_and_audited_with_it(
    client, settings, vnc, viewer, live_operator
):
    client.force_login(live_operator)
    assert client.get(LIVE_URL).status_code == 404  # live trading disabled: no live pages at all
    point_vnc(settings, "live", "127.0.0.1", vnc.port)
    client.force_login(viewer)
    assert client.get(LIVE_URL).status_code == 403
    assert not AuditEntry.objects.filter(action="gateway.screenshot").exists()
    client.force_login(live_operator)
    response = client.get(LIVE_URL)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    entry = AuditEntry.objects.get(action="gateway.screenshot")
    assert (entry.actor, entry.target) == ("user:liveop", "gateway:live")
    assert entry.payload["ok"] is True and entry.payload["sha256"] == hashlib.sha256(response.content).hexdigest()


def test_a_failed_capture_is_a_small_503_with_the_one_line_reason(client, settings, vnc, viewer, monkeypatch):
    client.force_login(viewer)
    response = client.get(PAPER_URL)  # not configured
    assert response.status_code == 503 and response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "the paper gateway's screen is not configured: set ATS_IB_PAPER_VNC=host:port "
        "(a loopback address, e.g. 127.0.0.1:5900)\n"
    )
    point_vnc(settings, "paper", "127.0.0.1", vnc.port)
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "wrong-pass")
    response = client.get(PAPER_URL)
    text = response.content.decode()
    assert response.status_code == 503 and text.count("\n") == 1
    assert text.startswith(f"paper gateway screen at 127.0.0.1:{vnc.port}: VNC authentication failed")
    assert "wrong-pass" not in text


def test_the_page_shows_an_image_per_configured_screen_and_the_setting_to_set_otherwise(
    client, settings, vnc, viewer, live_operator
):
    client.force_login(viewer)
    page = client.get("/gateways/").content.decode()
    assert "Not configured: set ATS_IB_PAPER_VNC=host:port" in page and PAPER_URL not in page
    assert "gateway_screen.js" in page
    point_vnc(settings, "paper", "127.0.0.1", vnc.port)
    point_vnc(settings, "live", "127.0.0.1", vnc.port)
    page = client.get("/gateways/").content.decode()
    assert f'<img data-url="{PAPER_URL}"' in page and f"VNC 127.0.0.1:{vnc.port}" in page
    assert LIVE_URL not in page and 'id="gw-screen-live"' not in page  # no live permission: no live screen
    assert vnc.password not in page
    client.force_login(live_operator)
    page = client.get("/gateways/").content.decode()
    assert f'<img data-url="{PAPER_URL}"' in page and f'<img data-url="{LIVE_URL}"' in page
    assert not AuditEntry.objects.filter(action="gateway.screenshot").exists()  # the page itself captures nothing
