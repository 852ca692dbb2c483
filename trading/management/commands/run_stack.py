"""manage.py run_stack: the whole stack on the embedded default — ibsim, the django-q cluster and daphne."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ats_site.config import public_summary
from audit.models import Action
from audit.services import record, system_actor


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone, with everything it started
        os.killpg(child.pid, signum)


class Command(BaseCommand):
    help = (
        "Start ibsim (the simulated IB Gateway) on the paper port (and the live port when live trading is enabled), "
        "the django-q cluster and daphne; Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--gateway",
            choices=["ibsim", "external"],
            default="ibsim",
            help="ibsim (default): start simulated gateways; external: use gateways already running",
        )
        parser.add_argument("--bind", default="127.0.0.1", help="address daphne listens on")
        parser.add_argument("--port", type=int, default=8000, help="port daphne listens on")
        parser.add_argument(
            "--ibsim-speed",
            type=float,
            default=1.0,
            help="ibsim time speed-up for the live price stream (e.g. 3600 for a quick demo)",
        )

    def handle(self, *args, **options):
        config = settings.ATS
        base = Path(settings.BASE_DIR)
        commands: list[tuple[str, list[str], dict]] = []
        if options["gateway"] == "ibsim":
            gateways = [config.paper] + ([config.live] if config.enable_live_trading else [])
            for gateway in gateways:
                if _port_in_use(gateway.host, gateway.port):
                    raise CommandError(
                        f"port {gateway.port} ({gateway.environment} gateway) is in use already; stop what runs there "
                        "or use --gateway external"
                    )
                commands.append(
                    (
                        f"ibsim-{gateway.environment}",
                        [
                            sys.executable,
                            "-m",
                            "ibsim",
                            "--host",
                            gateway.host,
                            "--port",
                            str(gateway.port),
                            "--account",
                            gateway.account_id,
                            "--speed",
                            str(options["ibsim_speed"]),
                            "--state",
                            str(base / "var" / f"ibsim-{gateway.environment}.json"),
                        ],
                        {},
                    )
                )
        if _port_in_use(options["bind"], options["port"]):
            raise CommandError(f"port {options['port']} is in use already; pass --port to use another")
        manage = [sys.executable, "manage.py"]
        commands.append(("qcluster", manage + ["qcluster"], {}))
        # Sessions run in their own cluster configuration: no timeout, one attempt, a child process per node.
        commands.append(("qcluster-sessions", manage + ["qcluster"], {"Q_CLUSTER_NAME": "sessions"}))
        commands.append(("gateway-monitor", manage + ["monitor_gateways"], {}))
        commands.append(
            (
                "daphne",
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    options["bind"],
                    "-p",
                    str(options["port"]),
                    "ats_site.asgi:application",
                ],
                {},
            )
        )

        record(
            Action.SETTINGS_STARTUP, actor=system_actor("run_stack"), target="settings", payload=public_summary(config)
        )
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            for name, command, extra_env in commands:
                # Each child leads its own process group, so stopping it reaches what it started too (the session
                # cluster's node hosts stop cooperatively on SIGTERM).
                children[name] = subprocess.Popen(
                    command, cwd=base, env={**os.environ, **extra_env}, start_new_session=True
                )
                self.stdout.write(f"started {name} (pid {children[name].pid})")
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nATS is up: http://{options['bind']}:{options['port']}/  (log in with the administrator "
                    "`make run` printed on first start, or create one: .venv/bin/python manage.py create_admin)\n"
                    f"paper gateway: {config.paper.host}:{config.paper.port} ({options['gateway']}); "
                    "Ctrl-C stops everything"
                )
            )
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(f"{name} exited with code {child.returncode}; stopping the stack")
                time.sleep(0.5)
        finally:
            # In reverse order of start, one at a time: session hosts stop while the gateway is still up.
            for child in reversed(list(children.values())):
                _signal_group(child, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):  # the group is killed below
                    child.wait(timeout=20)
                _signal_group(child, signal.SIGKILL)
            self.stdout.write("stack stopped")
