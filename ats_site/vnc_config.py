"""The gateways' VNC settings (ATS_IB_PAPER_VNC, ATS_IB_LIVE_VNC, ATS_VNC_TIMEOUT) and the loopback rule (Django-free).

A gateway's screen shows its 2FA prompts and dialogs, and account details: it is only ever reached over loopback.
The password is not a setting: it is read from VNC_SERVER_PASSWORD when a screenshot is taken, never stored here.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from ats_site.alert_config import parse_positive_seconds
from ats_site.config_parsing import ConfigError, parse_port

PASSWORD_VARIABLE = "VNC_SERVER_PASSWORD"
DEFAULT_TIMEOUT = 8.0
MAX_TIMEOUT = 60.0
# host:port, or [IPv6]:port.
ADDRESS_RE = re.compile(r"\[(?P<v6>[0-9A-Fa-f:.]+)\]:(?P<v6port>\d+)|(?P<host>[A-Za-z0-9._-]+):(?P<port>\d+)")
LOOPBACK_HINT = "VNC is reached over loopback only (127.0.0.0/8, ::1 or localhost); tunnel a remote one with ssh -L"


@dataclass(frozen=True)
class VncAddress:
    """Where one gateway's VNC server listens, and the setting that said so (for one-line errors)."""

    setting: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def vnc_setting(environment: str) -> str:
    """The variable naming the environment's VNC address: ATS_IB_PAPER_VNC or ATS_IB_LIVE_VNC."""
    return f"ATS_IB_{environment.upper()}_VNC"


def parse_vnc_address(name: str, raw: str) -> VncAddress | None:
    """host:port ([::1]:port for IPv6) or empty (not configured); an IP that is not loopback is refused here."""
    text = raw.strip()
    if not text:
        return None
    match = ADDRESS_RE.fullmatch(text)
    if not match:
        raise ConfigError(f"{name}: {text!r} is not host:port (e.g. 127.0.0.1:5900, localhost:5900 or [::1]:5900)")
    host = match["v6"] or match["host"]
    port = parse_port(name, match["v6port"] or match["port"])
    if _ip(host) is not None:
        loopback_ip(name, host)  # a literal needs no lookup: refuse it at start-up
    elif not host.strip("."):
        raise ConfigError(f"{name}: {text!r} has no host name")
    return VncAddress(name, host, port)


def loopback_ip(name: str, host: str) -> str:
    """The loopback IP that host stands for (IPv4 first); anything resolving elsewhere, or nowhere, is refused.

    Every address the name resolves to must be loopback, and the caller connects to the IP returned, not the name,
    so a lookup answering differently later cannot steer the connection off the machine.
    """
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ConfigError(f"{name}: {host!r} does not resolve; {LOOPBACK_HINT}") from None
    addresses = sorted(
        {ip for info in infos if (ip := _ip(str(info[4][0]))) is not None}, key=lambda a: (a.version, int(a))
    )
    elsewhere = [a for a in addresses if not a.is_loopback]
    if elsewhere or not addresses:
        shown = host if _ip(host) is not None else f"{host!r} (resolves to {elsewhere[0] if elsewhere else 'nothing'})"
        raise ConfigError(f"{name}: {shown} is not a loopback address; {LOOPBACK_HINT}")
    return str(addresses[0])


def parse_vnc_timeout(name: str, raw: str) -> float:
    """Seconds a screenshot may take, at most MAX_TIMEOUT: a page waits for it."""
    value = parse_positive_seconds(name, raw)
    if value > MAX_TIMEOUT:
        raise ConfigError(f"{name}: at most {MAX_TIMEOUT:g} seconds (a page waits for the screenshot), got {raw!r}")
    return value


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # a scoped IPv6 address carries %interface
    except ValueError:
        return None
