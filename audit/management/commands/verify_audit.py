"""manage.py verify_audit [--anchor SEQ:HASH]: walk the audit chain and name the first broken entry."""

import re
import time

from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorError, anchor_path, latest_anchor
from audit.services import verify_chain

ANCHOR_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain against the latest published anchor (ATS_AUDIT_ANCHOR_FILE) or the one "
        "given; exit non-zero naming the first broken entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("--anchor", help="SEQ:HASH printed earlier by audit_anchor; the log must still extend it")

    def handle(self, *args, **options):
        anchor, source = None, ""
        if options["anchor"]:
            match = ANCHOR_RE.match(options["anchor"].strip())
            if not match:
                raise CommandError("--anchor must be SEQ:HASH with a 64-character lowercase hex hash")
            anchor, source = (int(match.group(1)), match.group(2)), "given"
        else:
            try:
                published = latest_anchor()
            except AnchorError as exc:
                raise CommandError(str(exc)) from None
            if published is not None:
                anchor, source = (published.seq, published.hash), f"published {published.time} in {anchor_path()}"
        started = time.perf_counter()
        result = verify_chain(anchor=anchor)
        elapsed = time.perf_counter() - started
        if not result.ok:
            raise CommandError(f"audit chain BROKEN after {result.checked} good entries: {result.problem}")
        suffix = f", extends anchor #{anchor[0]} ({source})" if anchor else ", no anchor published yet"
        self.stdout.write(
            f"audit chain OK: {result.checked} entries, head #{result.head_seq} {result.head_hash}{suffix} "
            f"({elapsed:.2f}s)"
        )
