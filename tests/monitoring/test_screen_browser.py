"""Browser test of the Gateways page's screen: Debian's Chromium through Playwright against daphne, the paper
gateway's screen served by a real Xvfb + x11vnc; the picture shows, and once the VNC server is gone the page says
why, in one line, under the CSP (no inline script)."""

from __future__ import annotations

import pytest

from tests.monitoring.vnc_server import vnc_server
from tests.pages.console_stack import chromium, console, watch_errors
from tests.pages.test_browser import ARTIFACTS, PASSWORD, _login, _wait_for_true

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(240)]

USERS_SCRIPT = f"""
from django.contrib.auth.models import Permission, User
u = User.objects.create_user("viewer", password={PASSWORD!r})
u.user_permissions.add(Permission.objects.get(codename="view_console", content_type__app_label="trading"))
"""
FIGURE = "#gw-screen-paper"


def test_the_gateways_page_shows_the_screen_and_then_why_it_is_gone(tmp_path, monkeypatch):
    root = tmp_path / "stack"
    root.mkdir()
    with vnc_server(tmp_path) as vnc:
        monkeypatch.setenv("ATS_IB_PAPER_VNC", vnc.address)
        monkeypatch.setenv("VNC_SERVER_PASSWORD", vnc.password)
        with console(root, USERS_SCRIPT) as stack, chromium() as browser:
            page = _login(browser, stack.url, "viewer")
            errors = watch_errors(page)
            page.goto(f"{stack.url}/gateways/")
            _wait_for_true(page, f"() => document.querySelector('{FIGURE} img').naturalWidth === 800", 20)
            assert page.locator(f"{FIGURE} img").evaluate("i => i.naturalHeight") == 600
            assert page.locator(f"{FIGURE} .gw-screen-status").inner_text().startswith("taken ")
            assert vnc.password not in page.content()
            page.screenshot(path=str(ARTIFACTS / "gateway-screen.png"), full_page=True)

            vnc.stop_vnc()
            page.click(f"{FIGURE} .gw-screen-refresh")
            reason = f"paper gateway screen at {vnc.address}: connection refused: is the gateway's VNC server running?"
            _wait_for_true(page, f"() => document.querySelector('{FIGURE} img').alt === {reason!r}", 20)
            assert page.locator(f"{FIGURE} .gw-screen-status").inner_text().startswith("no picture at ")
            assert "failed" in (page.get_attribute(FIGURE, "class") or "")
            page.screenshot(path=str(ARTIFACTS / "gateway-screen-failed.png"))
            # The one console error is the browser reporting the 503 itself; nothing else (no CSP violation).
            assert [e for e in errors if "503" not in e] == []
