"""manage.py studio_export NAME@VERSION [--out FILE]"""

import hashlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studio.export import export_module
from studio.selectors import get_version
from studio.spec import SpecError, validate
from trading.strategies.registry import UnknownStrategy


class Command(BaseCommand):
    help = (
        "Export a saved Studio version as a standalone NautilusTrader strategy module (Python source) that trades "
        "exactly as the Studio runs it: the way from a spec to hand-written code."
    )

    def add_arguments(self, parser):
        parser.add_argument("version", help="the version to export: NAME@VERSION or studio:NAME@VERSION")
        parser.add_argument("--out", default=None, help="write the module to this file (default: standard output)")

    def handle(self, *args, **options):
        try:
            version = get_version(options["version"])
        except UnknownStrategy as exc:
            raise CommandError(str(exc)) from None
        if hashlib.sha256(version.spec.encode()).hexdigest() != version.spec_hash:  # as the registry: fail closed
            raise CommandError(f"{version.strategy_name}: its stored spec does not match its hash; not exporting it")
        try:
            spec = validate(json.loads(version.spec))
        except SpecError as exc:
            raise CommandError(f"{version.strategy_name}: stored spec is not valid ({exc})") from None
        source = export_module(spec, name=version.name, version=version.version)
        out = options["out"]
        if out is None:
            self.stdout.write(source, ending="")
            return
        try:
            Path(out).write_text(source)
        except OSError as exc:
            raise CommandError(f"--out: cannot write {out}: {exc.strerror}") from None
        self.stdout.write(f"wrote {out}: {version.strategy_name} (spec {version.spec_hash[:12]})")
