"""`manage.py gateway_screenshot` against a real VNC server (Xvfb + x11vnc started by the test): the saved PNG shows
what is on the screen; every refusal and failure is one line, bounded in time, and never shows the password."""

from __future__ import annotations

import io
import stat
import time

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from audit.models import AuditEntry
from tests.monitoring.vnc_server import BLUE, RED, colour_share, outward_ip, point_vnc, silent_server
from trading.monitoring.screen import GRACE


@pytest.fixture
def paper_screen(settings, vnc, monkeypatch):
    point_vnc(settings, "paper", "127.0.0.1", vnc.port)
    monkeypatch.setenv("VNC_SERVER_PASSWORD", vnc.password)
    return vnc


def screenshot(*args: str) -> str:
    out = io.StringIO()
    call_command("gateway_screenshot", *args, stdout=out)
    return out.getvalue().strip()


def refusal(*args: str) -> str:
    with pytest.raises(CommandError) as info:
        screenshot(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_command_saves_a_png_of_the_screen_and_again_after_it_changed(paper_screen, tmp_path):
    out = tmp_path / "paper.png"
    line = screenshot("--env", "paper", "--out", str(out))
    data = out.read_bytes()
    assert line == f"{out} ({len(data)} bytes, 800x600 PNG of 127.0.0.1:{paper_screen.port})"
    image = Image.open(out)
    assert (image.format, image.size) == ("PNG", (800, 600))
    assert colour_share(image, RED) > 0.99  # all red but the pointer
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # the screen may show account details
    # Captures again in the same process see the screen change (once x11vnc, which polls the display, has).
    paper_screen.paint("blue")
    deadline = time.monotonic() + 10
    while True:
        screenshot("--env", "paper", "--out", str(out))
        if colour_share(Image.open(out), BLUE) > 0.99 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert colour_share(Image.open(out), BLUE) > 0.99


def test_the_default_file_name_carries_the_environment_and_a_utc_timestamp(paper_screen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = screenshot("--env", "paper")
    (saved,) = tmp_path.glob("gateway-paper-*.png")
    assert line.startswith(f"{saved.name} (")
    assert len(saved.name) == len("gateway-paper-20260101T000000Z.png") and saved.name.endswith("Z.png")
    assert Image.open(saved).size == (800, 600)


def test_a_wrong_password_is_refused_in_one_line_that_never_shows_a_password(paper_screen, tmp_path, monkeypatch):
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "wrong-pass")
    message = refusal("--env", "paper", "--out", str(tmp_path / "x.png"))
    assert message.startswith(f"paper gateway screen at 127.0.0.1:{paper_screen.port}: VNC authentication failed")
    assert "check VNC_SERVER_PASSWORD" in message
    assert "wrong-pass" not in message and paper_screen.password not in message
    assert not (tmp_path / "x.png").exists()


def test_not_configured_or_no_password_is_refused_before_any_connection(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "pw")
    assert refusal("--env", "paper") == (
        "the paper gateway's screen is not configured: set ATS_IB_PAPER_VNC=host:port "
        "(a loopback address, e.g. 127.0.0.1:5900)"
    )
    with silent_server() as (port, accepted):
        point_vnc(settings, "paper", "127.0.0.1", port)
        monkeypatch.delenv("VNC_SERVER_PASSWORD")
        assert refusal("--env", "paper") == (
            "VNC_SERVER_PASSWORD is not set: the gateway's VNC server needs its password"
        )
        time.sleep(0.2)
        assert accepted == []


def test_live_is_refused_while_live_trading_is_disabled(settings, monkeypatch):
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "pw")
    assert settings.ATS.enable_live_trading is False
    assert refusal("--env", "live") == (
        "live trading is disabled (ATS_ENABLE_LIVE_TRADING=false): no live gateway screen"
    )


def test_an_address_off_the_machine_is_refused_without_a_connection_attempt(settings, monkeypatch):
    # A configured host name is resolved at each capture (a literal IP is refused at start-up already): listen on
    # this machine's own outward address, so a connection attempt, if any were made, would arrive.
    ip = outward_ip()
    if ip is None:
        pytest.skip("this machine has no address besides loopback")
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "pw")
    with silent_server(ip) as (port, accepted):
        point_vnc(settings, "paper", ip, port)
        assert refusal("--env", "paper").startswith(f"ATS_IB_PAPER_VNC: {ip} is not a loopback address; VNC is")
        point_vnc(settings, "paper", "no-such-host.invalid", port)
        assert refusal("--env", "paper").startswith("ATS_IB_PAPER_VNC: 'no-such-host.invalid' does not resolve")
        time.sleep(0.2)
        assert accepted == []


def test_a_server_that_never_speaks_vnc_times_out_within_the_bound(settings, monkeypatch):
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "pw")
    with silent_server() as (port, accepted):
        point_vnc(settings, "paper", "localhost", port, vnc_timeout=1.5)
        started = time.monotonic()
        message = refusal("--env", "paper")
        elapsed = time.monotonic() - started
    assert message.startswith(f"paper gateway screen at localhost:{port}: no screen within 1.5 s")
    assert len(accepted) == 1  # it did connect, and gave up waiting for the server's greeting
    assert 1.5 <= elapsed < 1.5 + GRACE


def test_a_stopped_vnc_server_is_one_line(paper_screen):
    paper_screen.stop_vnc()
    assert refusal("--env", "paper") == (
        f"paper gateway screen at 127.0.0.1:{paper_screen.port}: connection refused: is the gateway's VNC server "
        "running?"
    )


@pytest.mark.django_db
def test_a_live_screenshot_is_audited_with_the_image_hash(settings, vnc, monkeypatch, tmp_path):
    import hashlib

    point_vnc(settings, "live", "127.0.0.1", vnc.port)
    monkeypatch.setenv("VNC_SERVER_PASSWORD", vnc.password)
    out = tmp_path / "live.png"
    screenshot("--env", "live", "--out", str(out))
    entry = AuditEntry.objects.get(action="gateway.screenshot")
    assert entry.target == "gateway:live" and entry.actor.startswith("cli:")
    assert entry.payload == {
        "ok": True,
        "address": f"127.0.0.1:{vnc.port}",
        "width": 800,
        "height": 600,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }
    monkeypatch.setenv("VNC_SERVER_PASSWORD", "wrong-pass")
    refusal("--env", "live")
    failed = AuditEntry.objects.filter(action="gateway.screenshot").latest("seq")
    assert failed.payload["ok"] is False and "authentication failed" in failed.payload["reason"]
    assert "wrong-pass" not in str(failed.payload)
