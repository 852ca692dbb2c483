"""manage.py replay_spool: persist telemetry that hosts spooled to disk while the database was away."""

from django.core.management.base import BaseCommand

from trading.sessions.telemetry import replay_spools


class Command(BaseCommand):
    help = "Replay telemetry spooled by session hosts (var/spool) into the database, in order, then remove it."

    def handle(self, *args, **options):
        replayed = replay_spools()
        for path, count in replayed:
            self.stdout.write(f"{path.name}: {count} events replayed")
        if not replayed:
            self.stdout.write("nothing spooled")
