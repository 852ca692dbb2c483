"""manage.py host_session ID: host an already-created session in this process (what django-q workers spawn)."""

from django.core.management.base import BaseCommand, CommandError

from trading.sessions.guards import SessionRefused


class Command(BaseCommand):
    help = "Host one existing session's node in this process until it stops (used by the session worker)."

    def add_arguments(self, parser):
        parser.add_argument("session_id", type=int)

    def handle(self, *args, **options):
        from trading.sessions.host import run_session

        try:
            status = run_session(options["session_id"])
        except SessionRefused as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            raise CommandError(f"session {options['session_id']}: {type(exc).__name__}: {exc}") from None
        self.stdout.write(f"session {options['session_id']} {status}")
