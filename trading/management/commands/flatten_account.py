"""manage.py flatten_account --env paper|live --reason R [--account ID]"""

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from trading.sessions.account_flatten import do_flatten_account
from trading.sessions.guards import SessionRefused


class Command(BaseCommand):
    help = (
        "Account-level flatten: kill every session on the account, cancel every working order and close every "
        "position at the broker, whatever owns it; verified flat, audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--env", choices=["paper", "live"], required=True)
        parser.add_argument("--reason", required=True, help="why (required, audited)")
        parser.add_argument("--account", help="the account id (default: the environment's configured account)")

    def handle(self, *args, **options):
        try:
            result = do_flatten_account(
                environment=options["env"], actor=cli_actor(), reason=options["reason"], account_id=options["account"]
            )
        except SessionRefused as exc:
            raise CommandError(str(exc)) from None
        if not result.ok:
            raise CommandError(result.summary)
        self.stdout.write(result.summary)
