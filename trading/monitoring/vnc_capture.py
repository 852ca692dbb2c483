"""One screenshot of a VNC server, in a process of its own (Django-free).

    python -m trading.monitoring.vnc_capture IP PORT TIMEOUT  < password

writes the screen as PNG to stdout and exits 0; a failure is one line on stderr and exit 1. The password comes on
stdin, never in argv, where any local user could read it in the process list.

Why a process per capture rather than vncdotool's threaded api in the web process: the api runs Twisted's global
reactor in a thread, and a reactor stopped by api.shutdown() can never run again (ReactorNotRestartable), so a
long-lived process gets one capture, or keeps a reactor thread for good; under daphne, which runs its own reactor,
the api would share daphne's event loop instead; and the api's timeout abandons a hung connection without closing
it. A short-lived process starts clean every time, and its parent kills it if it overstays.
"""

from __future__ import annotations

import io
import logging
import sys
import warnings

EXIT_FAILED = 1
DISCONNECT_TIMEOUT = 1.0  # a clean RFB close after the picture; the picture is what matters


def capture(ip: str, port: int, password: str, timeout: float) -> bytes:
    """The server's whole screen as PNG bytes, within `timeout` seconds (connect, authenticate, one full update)."""
    from vncdotool import api

    # vncdotool reads "host:N" as display N (port 5900 + N); "host::port" is a port.
    server = f"[{ip}]::{port}" if ":" in ip else f"{ip}::{port}"
    client = api.connect(server, password=password, timeout=timeout)
    buffer = io.BytesIO()
    try:
        client.captureScreen(buffer, format="png")
        client.timeout = DISCONNECT_TIMEOUT
        client.disconnect()
    finally:
        api.shutdown()
    return buffer.getvalue()


def describe(exc: BaseException, timeout: float) -> str:
    """One line saying why a capture failed (none of vncdotool's errors carries the password)."""
    from twisted.internet import error
    from vncdotool.client import AuthenticationError, ProtocolError

    if isinstance(exc, AuthenticationError):
        text = f"VNC authentication failed ({exc}): check VNC_SERVER_PASSWORD"
    elif isinstance(exc, TimeoutError):
        text = f"no screen within {timeout:g} s: the server at that address does not answer as a VNC server"
    elif isinstance(exc, error.ConnectionRefusedError):
        text = "connection refused: is the gateway's VNC server running?"
    elif isinstance(exc, error.ConnectError | error.ConnectionClosed):
        text = f"cannot reach the VNC server: {exc}"
    elif isinstance(exc, ProtocolError):
        text = f"VNC protocol error: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def main(argv: list[str]) -> int:
    """Capture once; PNG to stdout (exit 0) or one line to stderr (exit 1)."""
    # The one line below is the whole report: no deprecation warnings or Twisted log records around it.
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    try:
        ip, port, timeout = argv[0], int(argv[1]), float(argv[2])
    except (IndexError, ValueError):
        print("usage: python -m trading.monitoring.vnc_capture IP PORT TIMEOUT < password", file=sys.stderr)
        return EXIT_FAILED
    password = sys.stdin.buffer.read().decode()
    try:
        png = capture(ip, port, password, timeout)
    except Exception as exc:
        print(describe(exc, timeout), file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.buffer.write(png)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
