"""manage.py monitor_gateways [--interval 2] [--timeout 2] [--once]"""

from __future__ import annotations

import asyncio
import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from trading.monitoring.monitor import (
    DEFAULT_INTERVAL,
    DEFAULT_TIMEOUT,
    MONITOR_CLIENT_IDS,
    ONCE_CLIENT_IDS,
    GatewayMonitor,
    configured_gateways,
)


class Command(BaseCommand):
    help = (
        "Watch every configured IB Gateway (paper; live when enabled) and reap lost sessions, alerting on "
        "transitions; --once checks once, prints one line per gateway and exits 1 if any is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between checks")
        parser.add_argument(
            "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds a gateway gets to connect and to answer"
        )
        parser.add_argument("--once", action="store_true", help="check once, print, exit 1 if any gateway is broken")
        parser.add_argument(
            "--paper-client-id",
            type=int,
            help="ib_async client id on the paper gateway "
            f"(default {MONITOR_CLIENT_IDS['paper']}, with --once {ONCE_CLIENT_IDS['paper']})",
        )
        parser.add_argument(
            "--live-client-id",
            type=int,
            help="ib_async client id on the live gateway "
            f"(default {MONITOR_CLIENT_IDS['live']}, with --once {ONCE_CLIENT_IDS['live']})",
        )

    def handle(self, *args, **options):
        if options["interval"] <= 0 or options["timeout"] <= 0:
            raise CommandError("--interval and --timeout must be positive")
        # The monitor reports every failure in one line of its own; ib_async's tracebacks every few seconds during
        # an outage would bury them.
        logging.getLogger("ib_async").setLevel(logging.CRITICAL)
        client_ids = dict(ONCE_CLIENT_IDS if options["once"] else MONITOR_CLIENT_IDS)
        for env in ("paper", "live"):
            if options[f"{env}_client_id"] is not None:
                client_ids[env] = options[f"{env}_client_id"]
        monitor = GatewayMonitor(
            configured_gateways(), interval=options["interval"], timeout=options["timeout"], client_ids=client_ids
        )
        if options["once"]:
            results, lost = asyncio.run(monitor.check_once())
            for result in results:
                self.stdout.write(result.line())
            for pk in lost:
                self.stdout.write(f"session {pk}: marked lost (its host stopped heartbeating); not restarted")
            broken = [r.environment for r in results if not r.healthy]
            if broken:
                raise CommandError(f"gateway broken: {', '.join(broken)}", returncode=1)
            return
        gateways = ", ".join(f"{g.environment} {g.host}:{g.port}" for g in monitor.gateways)
        self.stdout.write(f"monitoring {gateways} every {options['interval']:g}s (Ctrl-C stops)")
        asyncio.run(self._run(monitor))

    async def _run(self, monitor: GatewayMonitor) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, monitor.stop)
        await monitor.run()
