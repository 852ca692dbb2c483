"""manage.py resume_gauntlet --report N [--stale-after 600] [--sync]"""

from django.core.management.base import BaseCommand, CommandError

from research.gauntlet.plan import GauntletRequestError
from research.models import GauntletReport
from research.selectors import format_report
from research.services import requeue_unfinished
from research.tasks import run_gauntlet_job


class Command(BaseCommand):
    help = (
        "Resume a gauntlet whose worker died: queue its pending jobs and those running longer than --stale-after "
        "seconds again (or run them here with --sync). A job that finishes twice counts once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--report", type=int, required=True, help="the gauntlet report id")
        parser.add_argument("--stale-after", type=float, default=600.0, help="seconds (default %(default)s)")
        parser.add_argument("--sync", action="store_true", help="run the jobs in this process, not in workers")

    def handle(self, *args, **options):
        try:
            jobs = requeue_unfinished(options["report"], options["stale_after"], enqueue=not options["sync"])
        except GauntletRequestError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"gauntlet #{options['report']}: {len(jobs)} job(s) {'run here' if options['sync'] else 'queued'}"
        )
        if options["sync"]:
            for job_id in jobs:
                run_gauntlet_job(job_id)
            self.stdout.write(format_report(GauntletReport.objects.get(pk=options["report"])))
