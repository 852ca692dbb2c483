"""Shared argument handling for approve_live and revoke_live."""

from django.core.management.base import BaseCommand, CommandError

from approvals.services import ApprovalError
from audit.services import cli_actor


class DecisionCommand(BaseCommand):
    """A command that records one go-live decision from the terminal."""

    def add_arguments(self, parser):
        parser.add_argument("--strategy", required=True, help="registered strategy name, e.g. ibs_reversion")
        parser.add_argument("--instrument", required=True, help="instrument id SYMBOL.VENUE, e.g. QQQ.NASDAQ")
        parser.add_argument("--note", required=True, help="the evidence behind the decision (required)")

    service = None  # each subclass names its service: do_approve_live or do_revoke_live

    def handle(self, *args, **options):
        try:
            record = type(self).service(
                strategy=options["strategy"],
                instrument_id=options["instrument"],
                note=options["note"],
                actor=cli_actor(),
            )
        except ApprovalError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{record.decision}d {record.strategy} on {record.instrument_id} "
            f"(#{record.pk}, code {record.code_hash[:12]}) by {record.decided_by}"
        )
