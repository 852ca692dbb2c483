"""The gateways' own screens: a screenshot of the headless IB Gateway's GUI (2FA prompts, dialogs) over VNC.

Loopback only, the password only from VNC_SERVER_PASSWORD (never logged, rendered or put in a message), and every
capture bounded in time: vnc_capture runs it in a child process that is killed if it overstays.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from ats_site.config_parsing import ConfigError
from ats_site.vnc_config import PASSWORD_VARIABLE, VncAddress, loopback_ip, vnc_setting

REPO = Path(__file__).resolve().parents[2]
# Seconds the child gets past its own timeout (interpreter start-up, reactor stop) before it is killed.
GRACE = 3.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REASON_MAX = 300


class ScreenRefused(Exception):
    """Nothing was attempted: VNC is not configured, not on loopback, or has no password. One line."""


class ScreenUnavailable(Exception):
    """The capture was attempted and failed (refused, wrong password, timed out, not a VNC server). One line."""


@dataclass(frozen=True)
class Screenshot:
    """One capture of a gateway's screen."""

    environment: str
    address: str
    png: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


def screen_target(environment: str) -> tuple[VncAddress, str]:
    """The environment's VNC address and the loopback IP to connect to; ScreenRefused when there is none."""
    vnc = settings.ATS.gateway(environment).vnc
    if vnc is None:
        raise ScreenRefused(
            f"the {environment} gateway's screen is not configured: set {vnc_setting(environment)}=host:port "
            "(a loopback address, e.g. 127.0.0.1:5900)"
        )
    try:
        return vnc, loopback_ip(vnc.setting, vnc.host)
    except ConfigError as exc:  # resolved now, not at start-up: a host name may point elsewhere later
        raise ScreenRefused(str(exc)) from None


def _password() -> str:
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise ScreenRefused(f"{PASSWORD_VARIABLE} is not set: the gateway's VNC server needs its password")
    return password


def capture_screen(environment: str, timeout: float | None = None) -> Screenshot:
    """A fresh screenshot of the environment's gateway, within timeout (ATS_VNC_TIMEOUT) plus a little start-up."""
    vnc, ip = screen_target(environment)
    password = _password()
    timeout = timeout or float(settings.ATS.vnc_timeout)
    where = f"{environment} gateway screen at {vnc}"
    child_env = {k: v for k, v in os.environ.items() if k != PASSWORD_VARIABLE}  # it gets the password on stdin
    argv = [sys.executable, "-m", "trading.monitoring.vnc_capture", ip, str(vnc.port), f"{timeout:g}"]
    try:
        done = subprocess.run(
            argv, input=password.encode(), capture_output=True, cwd=REPO, env=child_env, timeout=timeout + GRACE
        )
    except subprocess.TimeoutExpired:  # run() killed it
        raise ScreenUnavailable(f"{where}: no screen within {timeout:g} s") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"the capture exited with status {done.returncode}"
        raise ScreenUnavailable(f"{where}: {_scrubbed(reason, password)}")
    width, height = png_size(done.stdout, where)
    return Screenshot(environment, str(vnc), done.stdout, width, height)


def _scrubbed(text: str, password: str) -> str:
    """One line, cut short, and never the password (no library puts it in a message; this makes sure)."""
    return " ".join(text.replace(password, "********").split())[:REASON_MAX]


def png_size(data: bytes, where: str = "screenshot") -> tuple[int, int]:
    """(width, height) of a PNG; ScreenUnavailable when data is not one."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ScreenUnavailable(f"{where}: the capture returned no PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def do_gateway_screenshot(environment: str, actor: str) -> Screenshot:
    """Capture the gateway's screen; a live one may show account details, so its every attempt is audited."""
    from audit.models import Action
    from audit.services import record

    def audit(payload: dict[str, Any]) -> None:
        if environment == "live":
            record(Action.GATEWAY_SCREENSHOT, actor=actor, target=f"gateway:{environment}", payload=payload)

    try:
        shot = capture_screen(environment)
    except ScreenUnavailable as exc:
        audit({"ok": False, "reason": str(exc)})
        raise
    audit({"ok": True, "address": shot.address, "width": shot.width, "height": shot.height, "sha256": shot.sha256})
    return shot


def screen_panels(user: Any) -> list[dict[str, str]]:
    """The gateway screens the Gateways page shows this user: live only with live enabled and its permission."""
    from trading.monitoring.selectors import monitored_environments
    from trading.selectors import may_view

    panels = []
    for environment in monitored_environments():
        if may_view(user, environment):
            vnc = settings.ATS.gateway(environment).vnc
            panels.append(
                {"environment": environment, "address": str(vnc) if vnc else "", "setting": vnc_setting(environment)}
            )
    return panels
