"""The gateways' VNC settings: host:port on loopback only, refused in one line naming the variable at start-up."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import environ
import pytest

from ats_site.config import ConfigError, load_config, public_summary
from ats_site.vnc_config import VncAddress, loopback_ip

ROOT = Path(__file__).resolve().parents[2]


def test_unset_means_not_configured_and_addresses_parse(monkeypatch):
    config = load_config(environ.Env())
    assert (config.paper.vnc, config.live.vnc, config.vnc_timeout) == (None, None, 8.0)
    monkeypatch.setenv("ATS_IB_PAPER_VNC", " localhost:5900 ")
    monkeypatch.setenv("ATS_IB_LIVE_VNC", "[::1]:5901")
    monkeypatch.setenv("ATS_VNC_TIMEOUT", "2.5")
    config = load_config(environ.Env())
    assert config.paper.vnc == VncAddress("ATS_IB_PAPER_VNC", "localhost", 5900)
    assert config.live.vnc == VncAddress("ATS_IB_LIVE_VNC", "::1", 5901)
    assert str(config.live.vnc) == "[::1]:5901" and config.vnc_timeout == 2.5
    summary = public_summary(config)
    assert (summary["paper"]["vnc"], summary["live"]["vnc"]) == ("localhost:5900", "[::1]:5901")
    monkeypatch.setenv("ATS_IB_PAPER_VNC", "127.3.2.1:5999")  # all of 127.0.0.0/8 is loopback
    assert load_config(environ.Env()).paper.vnc == VncAddress("ATS_IB_PAPER_VNC", "127.3.2.1", 5999)


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"ATS_IB_PAPER_VNC": "5900"}, "ATS_IB_PAPER_VNC: '5900' is not host:port"),
        ({"ATS_IB_PAPER_VNC": "localhost"}, "ATS_IB_PAPER_VNC: 'localhost' is not host:port"),
        ({"ATS_IB_LIVE_VNC": "::1:5900"}, "ATS_IB_LIVE_VNC: '::1:5900' is not host:port"),
        ({"ATS_IB_PAPER_VNC": "vnc://localhost:5900"}, "ATS_IB_PAPER_VNC: 'vnc://localhost:5900' is not host:port"),
        ({"ATS_IB_PAPER_VNC": "localhost:99999"}, "ATS_IB_PAPER_VNC: port 99999 is out of range"),
        ({"ATS_IB_PAPER_VNC": "10.0.0.1:5900"}, "ATS_IB_PAPER_VNC: 10.0.0.1 is not a loopback address"),
        ({"ATS_IB_LIVE_VNC": "[2001:db8::1]:5900"}, "ATS_IB_LIVE_VNC: 2001:db8::1 is not a loopback address"),
        ({"ATS_IB_PAPER_VNC": "0.0.0.0:5900"}, "ATS_IB_PAPER_VNC: 0.0.0.0 is not a loopback address"),
        (
            {"ATS_IB_PAPER_VNC": "127.0.0.1:5900", "ATS_IB_LIVE_VNC": "localhost:5900"},
            "ATS_IB_LIVE_VNC: must differ from ATS_IB_PAPER_VNC (both on port 5900)",
        ),
        ({"ATS_VNC_TIMEOUT": "0"}, "ATS_VNC_TIMEOUT: must be a positive number of seconds"),
        ({"ATS_VNC_TIMEOUT": "soon"}, "ATS_VNC_TIMEOUT: 'soon' is not a number of seconds"),
        ({"ATS_VNC_TIMEOUT": "120"}, "ATS_VNC_TIMEOUT: at most 60 seconds"),
    ],
)
def test_each_bad_value_is_a_one_line_error_naming_the_variable(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_config(environ.Env())
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_loopback_names_resolve_to_a_loopback_ip_and_others_are_refused():
    assert loopback_ip("X", "localhost").startswith("127.")  # IPv4 first: x11vnc -localhost always listens there
    assert loopback_ip("X", "127.0.0.1") == "127.0.0.1" and loopback_ip("X", "::1") == "::1"
    with pytest.raises(ConfigError, match=r"^X: 'no-such-host\.invalid' does not resolve; VNC is reached over"):
        loopback_ip("X", "no-such-host.invalid")
    with pytest.raises(ConfigError, match=r"^X: 192\.0\.2\.7 is not a loopback address"):
        loopback_ip("X", "192.0.2.7")
    # A name that resolves off the machine: 1.2.3 is the legacy spelling of 1.2.0.3, resolved without DNS.
    with pytest.raises(ConfigError, match=r"^X: '1\.2\.3' \(resolves to 1\.2\.0\.3\) is not a loopback address"):
        loopback_ip("X", "1.2.3")


def test_manage_py_refuses_a_remote_vnc_address_in_one_line_before_doing_anything():
    env = {**os.environ, "ATS_IB_PAPER_VNC": "10.0.0.1:5900", "VNC_SERVER_PASSWORD": "not-shown-anywhere"}
    done = subprocess.run(
        [sys.executable, "manage.py", "gateway_screenshot", "--env", "paper"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "configuration error: ATS_IB_PAPER_VNC: 10.0.0.1 is not a loopback address; VNC is reached over loopback "
        "only (127.0.0.0/8, ::1 or localhost); tunnel a remote one with ssh -L"
    )
    assert "not-shown-anywhere" not in done.stdout + done.stderr


def _debug_page(request) -> str:
    from django.views.debug import technical_500_response

    try:
        raise TypeError("boom")
    except TypeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_the_password_never_shows_on_a_debug_page(settings, monkeypatch):
    from django.test import RequestFactory

    settings.DEBUG = True
    password = secrets.token_hex(8)
    monkeypatch.setenv("VNC_SERVER_PASSWORD", password)
    page = _debug_page(RequestFactory().get("/", VNC_SERVER_PASSWORD=password))  # runserver puts the environment here
    assert "boom" in page and "VNC_SERVER_PASSWORD" in page and password not in page
