"""manage.py audit_anchor [--publish]: print the chain head (SEQ:HASH), or publish it to the anchor file."""

from django.core.management.base import BaseCommand, CommandError

from audit.anchors import anchor_path, publish_anchor
from audit.services import chain_head


class Command(BaseCommand):
    help = (
        "Print the audit chain head as SEQ:HASH; later `verify_audit --anchor SEQ:HASH` proves the log extends it. "
        "--publish appends it to ATS_AUDIT_ANCHOR_FILE (the monitor also does so every minute)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--publish", action="store_true", help="append the head to the anchor file too")

    def handle(self, *args, **options):
        if options["publish"]:
            if anchor_path() is None:
                raise CommandError("ATS_AUDIT_ANCHOR_FILE is empty: anchoring is off")
            try:
                publish_anchor()
            except OSError as exc:
                raise CommandError(f"cannot append to {anchor_path()}: {exc.strerror or exc}") from None
        seq, head_hash = chain_head()
        self.stdout.write(f"{seq}:{head_hash}")
