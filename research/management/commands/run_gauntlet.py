"""manage.py run_gauntlet --strategy S --instrument I --bar-spec B --grid '{...}' --params '{...}' [--sync]"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.services import cli_actor
from research.gauntlet.plan import GauntletRequestError
from research.models import GauntletJob, GauntletReport, JobStatus, ReportStatus, RungOutcome
from research.selectors import format_report
from research.services import do_start_gauntlet
from research.tasks import run_gauntlet_job
from trading.backtests.cli_options import add_run_arguments, costs_from_options

IDLE_HINT_SECONDS = 60.0


class Command(BaseCommand):
    help = (
        "Run the gauntlet for a strategy's chosen params over a sweep grid: one django-q task per backtest "
        "(workers of `make run` or `manage.py qcluster`), or here with --sync; shows progress, then every rung."
    )

    def add_arguments(self, parser):
        add_run_arguments(parser)
        parser.add_argument(
            "--grid", required=True, help="The sweep grid as JSON, e.g. '{\"buy_threshold\": [0.1, 0.2]}'."
        )
        parser.add_argument(
            "--thresholds", default="", help="Threshold overrides as JSON, e.g. '{\"min_trades\": 50}'."
        )
        parser.add_argument("--sync", action="store_true", help="Run every backtest in this process, not in workers.")
        parser.add_argument("--no-wait", action="store_true", help="Queue the jobs and return the report id.")
        parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds to wait (default %(default)s).")

    def handle(self, *args, **options):
        try:
            report = do_start_gauntlet(
                strategy=options["strategy"],
                instrument_id=options["instrument"],
                bar_spec=options["bar_spec"],
                params=options["params"],
                grid=options["grid"],
                start=options["start"],
                end=options["end"],
                costs=costs_from_options(options),
                thresholds=options["thresholds"],
                fill_convention=options["fill_convention"],
                actor=cli_actor(),
                enqueue=not options["sync"],
            )
        except GauntletRequestError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"gauntlet #{report.pk}: {report.tasks_total} backtests, code {report.code_hash[:12]}")
        if options["sync"]:
            for job_id in tqdm(
                list(report.jobs.values_list("pk", flat=True)), unit="run", desc="gauntlet", disable=None
            ):
                run_gauntlet_job(job_id)
        elif options["no_wait"]:
            self.stdout.write("queued; follow it with: manage.py ladder or the Research page")
            return
        else:
            self._wait(report, options["timeout"])
        report.refresh_from_db()
        self.stdout.write(format_report(report))
        if report.status == ReportStatus.RUNNING:
            raise CommandError(f"gauntlet #{report.pk} is still running after {options['timeout']:g} s")
        if report.verdict != RungOutcome.PASS:
            raise CommandError(f"gauntlet #{report.pk} did not pass: {report.reason}")

    def _wait(self, report: GauntletReport, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_progress, done, hinted = time.monotonic(), 0, False
        with tqdm(total=report.tasks_total, unit="run", desc="gauntlet", disable=None) as bar:
            while time.monotonic() < deadline:
                report.refresh_from_db(fields=["tasks_done", "status"])
                if report.tasks_done > done:
                    bar.update(report.tasks_done - done)
                    done, last_progress = report.tasks_done, time.monotonic()
                if report.status != ReportStatus.RUNNING:
                    return
                taken = GauntletJob.objects.filter(report=report).exclude(status=JobStatus.PENDING).exists()
                if not hinted and not taken and time.monotonic() - last_progress > IDLE_HINT_SECONDS:
                    bar.write(
                        f"no worker has taken a job for {IDLE_HINT_SECONDS:g} s: is `make run` or "
                        "`manage.py qcluster` running? (or use --sync)"
                    )
                    hinted = True
                time.sleep(0.5)
