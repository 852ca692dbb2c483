"""manage.py studio_list [--name NAME]"""

from django.core.management.base import BaseCommand

from studio.selectors import all_versions


class Command(BaseCommand):
    help = "List saved Studio versions: strategy name, instrument, bars, spec hash, author, created, parent."

    def add_arguments(self, parser):
        parser.add_argument("--name", default=None, help="only the versions of this Studio strategy")

    def handle(self, *args, **options):
        import json

        rows = [v for v in all_versions() if options["name"] in (None, v.name)]
        if not rows:
            self.stdout.write("no Studio versions saved" + (f" for {options['name']}" if options["name"] else ""))
            return
        for v in rows:
            spec = json.loads(v.spec)
            parent = v.parent.strategy_name if v.parent else "-"
            created = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
            self.stdout.write(
                f"{v.strategy_name:32} {spec['instrument_id']:14} {spec['bar_spec']:12} {v.spec_hash[:12]} "
                f"{created} {v.author} parent={parent}"
            )
