"""manage.py send_test_alert [--wait SECONDS]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from notifications import selectors
from notifications.services import do_send_test_alert
from notifications.views import NO_CHANNEL

DEFAULT_WAIT = 30.0


class Command(BaseCommand):
    help = (
        "Send a test notification to every configured channel (webhook, email, Slack, Discord), wait for the outcome "
        "(retries included) up to --wait seconds, print one line per channel; exit 1 unless every channel delivered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=DEFAULT_WAIT,
            help=f"seconds to wait for the outcome (default {DEFAULT_WAIT:g})",
        )

    def handle(self, *args, **options):
        if options["wait"] < 0:
            raise CommandError("--wait must not be negative")
        if not selectors.channel_list():
            raise CommandError(NO_CHANNEL)
        alert_id = do_send_test_alert(cli_actor())
        if alert_id is None:
            raise CommandError("the test notification could not be recorded (database unavailable); sent unrecorded")
        states = selectors.wait_for_alert(alert_id, options["wait"], final=True)
        self.stdout.write(f"test notification #{alert_id}")
        for state in states:
            self.stdout.write(f"  {state.line(_max_attempts())} ({state.destination})")
        if not all(s.status == "delivered" for s in states):
            raise CommandError(selectors.outcome_line(alert_id, states), returncode=1)


def _max_attempts() -> int:
    from django.conf import settings

    return settings.ATS.alert_max_attempts
