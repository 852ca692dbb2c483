"""A real VNC server for the gateway-screen tests: Debian's Xvfb (a display of its own) painted one colour with
xsetroot, served by x11vnc on a free loopback port with a password; and a TCP server that never speaks RFB."""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ats_site.vnc_config import VncAddress, vnc_setting
from tests.support import IN_CI

XVFB, X11VNC, XSETROOT = "/usr/bin/Xvfb", "/usr/bin/x11vnc", "/usr/bin/xsetroot"
PASSWORD = "gw-vnc-pw"
SIZE = (800, 600)
START_TIMEOUT = 15.0
RED, BLUE = (255, 0, 0), (0, 0, 255)
LIVE_ACCOUNT = "U7654321"


def require_vnc_tools() -> None:
    """Skip (laptop) or fail (CI=true) when Xvfb, x11vnc or xsetroot is not installed."""
    missing = [tool for tool in (XVFB, X11VNC, XSETROOT) if not Path(tool).exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: .ci/run installs xvfb, x11vnc and x11-xserver-utils)", pytrace=False)
    pytest.skip(f"{message}; `apt-get install -y xvfb x11vnc x11-xserver-utils` to run the gateway screen tests")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class VncServer:
    """Xvfb on :display, shown by x11vnc on 127.0.0.1:port."""

    display: int
    port: int
    password: str
    size: tuple[int, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def paint(self, colour: str) -> None:
        """Paint the whole screen one colour (the root window's background)."""
        subprocess.run([XSETROOT, "-display", f":{self.display}", "-solid", colour], check=True, timeout=10)

    def stop_vnc(self) -> None:
        """Stop x11vnc (the display stays): the port then refuses connections."""
        _stop(self.processes.pop("x11vnc", None))


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _read_line(fd: int, deadline: float, what: str) -> str:
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 256) if ready else b""
        if not chunk:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT:g} s")
        data += chunk
    return data.decode().strip()


@contextmanager
def vnc_server(
    tmp: Path, colour: str = "red", password: str = PASSWORD, size: tuple[int, int] = SIZE
) -> Iterator[VncServer]:
    """Start Xvfb (a free display, picked by Xvfb itself), paint it, and serve it with x11vnc on a free port."""
    require_vnc_tools()
    deadline = time.monotonic() + START_TIMEOUT
    read_fd, write_fd = os.pipe()
    logs = tmp / "vnc-logs"
    logs.mkdir(exist_ok=True)
    server = VncServer(display=-1, port=-1, password=password, size=size)
    try:
        with open(logs / "xvfb.log", "wb") as log:
            # -noreset: without it the server resets (and forgets the painted background) when xsetroot disconnects.
            server.processes["xvfb"] = subprocess.Popen(
                [XVFB, "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24"]
                + ["-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        os.close(write_fd)
        write_fd = -1
        server.display = int(_read_line(read_fd, deadline, "Xvfb"))
        server.paint(colour)
        password_file = tmp / "vnc-password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        server.port = free_port()
        with open(logs / "x11vnc.log", "wb") as log:
            vnc = subprocess.Popen(
                [X11VNC, "-display", f":{server.display}", "-rfbport", str(server.port), "-localhost"]
                + ["-passwdfile", str(password_file), "-forever", "-shared", "-quiet"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        server.processes["x11vnc"] = vnc
        assert vnc.stdout is not None
        line = _read_line(vnc.stdout.fileno(), deadline, "x11vnc")  # x11vnc says PORT=<n> once it listens
        if line != f"PORT={server.port}":
            raise RuntimeError(f"x11vnc did not listen on {server.port}: {line!r}")
        yield server
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        os.close(read_fd)
        for process in reversed(list(server.processes.values())):
            _stop(process)


@contextmanager
def silent_server(host: str = "127.0.0.1") -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server that accepts connections and never says a word: (port, connections accepted so far)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


def outward_ip() -> str | None:
    """An address of this machine's own that is not loopback (the interface a route out would use), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: a UDP connect sends nothing, it only picks a route
        except OSError:
            return None
        ip = str(probe.getsockname()[0])
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def point_vnc(settings: Any, environment: str, host: str, port: int, **changes: Any) -> None:
    """settings.ATS with the environment's gateway screen at host:port (live trading enabled when it is live)."""
    ats = settings.ATS
    gateway = dataclasses.replace(ats.gateway(environment), vnc=VncAddress(vnc_setting(environment), host, port))
    if environment == "live":
        changes.update(live=dataclasses.replace(gateway, account_id=LIVE_ACCOUNT), enable_live_trading=True)
    else:
        changes.update(paper=gateway)
    settings.ATS = dataclasses.replace(ats, **changes)


def colour_share(image: Image.Image, colour: tuple[int, int, int]) -> float:
    """The fraction of the image's pixels that are exactly this colour."""
    counts = {c: n for n, c in image.convert("RGB").getcolors(image.width * image.height) or []}
    return counts.get(colour, 0) / (image.width * image.height)
