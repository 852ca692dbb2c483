"""manage.py gateway_screenshot --env paper|live [--out FILE]"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from trading.monitoring.screen import ScreenRefused, ScreenUnavailable, do_gateway_screenshot
from trading.selectors import environment_available


class Command(BaseCommand):
    help = (
        "Save a screenshot of the gateway's own screen (its GUI over VNC: 2FA prompts, dialogs) as PNG and print "
        "its path and size. Needs ATS_IB_<ENV>_VNC (loopback) and VNC_SERVER_PASSWORD; a live one is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--env", required=True, choices=["paper", "live"], help="which gateway")
        parser.add_argument(
            "--out", help="PNG file to write (default: gateway-<env>-<UTC timestamp>.png in the current folder)"
        )

    def handle(self, *args, **options):
        environment = options["env"]
        if not environment_available(environment):
            raise CommandError("live trading is disabled (ATS_ENABLE_LIVE_TRADING=false): no live gateway screen")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path(options["out"] or f"gateway-{environment}-{stamp}.png")
        if out.is_dir() or not out.parent.is_dir():
            raise CommandError(f"--out {out}: not a file in an existing folder")
        try:
            shot = do_gateway_screenshot(environment, cli_actor())
        except (ScreenRefused, ScreenUnavailable) as exc:
            raise CommandError(str(exc)) from None
        # The screen may show account details: the file is the owner's alone.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
        with os.fdopen(fd, "wb") as handle:
            handle.write(shot.png)
        self.stdout.write(f"{out} ({len(shot.png)} bytes, {shot.width}x{shot.height} PNG of {shot.address})")
