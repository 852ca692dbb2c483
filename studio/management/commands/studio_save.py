"""manage.py studio_save --name NAME --spec FILE.json [--parent studio:NAME@N] [--note TEXT]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from studio.services import StudioError, do_save_version


class Command(BaseCommand):
    help = "Save a Studio spec (JSON file) as the next immutable version of a Studio strategy."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="strategy name: lowercase letters, digits and _")
        parser.add_argument("--spec", required=True, help="path of the spec JSON file ('-' reads standard input)")
        parser.add_argument("--parent", default=None, help="the version this one was edited from (default: latest)")
        parser.add_argument("--note", default="", help="what changed (at most 200 characters)")

    def handle(self, *args, **options):
        source = options["spec"]
        try:
            text = self.stdin.read() if source == "-" else Path(source).read_text()
        except OSError as exc:
            raise CommandError(f"--spec: cannot read {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"--spec: {source} is not UTF-8 text") from None
        try:
            version, created = do_save_version(
                name=options["name"], spec=text, actor=cli_actor(), parent=options["parent"], note=options["note"]
            )
        except StudioError as exc:
            raise CommandError(str(exc)) from None
        if created:
            self.stdout.write(f"saved {version.strategy_name} (spec {version.spec_hash[:12]})")
        else:
            self.stdout.write(f"unchanged: identical to {version.strategy_name}; nothing saved")
