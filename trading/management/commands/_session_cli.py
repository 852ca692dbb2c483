"""Shared parts of run_paper and run_live: the sleeve options, the summary, and hosting in this process."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from trading.sessions.guards import SessionRefused, check_book_shape, parse_book_json
from trading.sessions.models import SessionStatus


class SessionCommand(BaseCommand):
    """Start a session from the terminal and host its node in this process until it ends."""

    environment = ""  # "paper" or "live"

    def add_arguments(self, parser):
        parser.add_argument("--strategy", help="registered strategy name, e.g. ibs_reversion")
        parser.add_argument("--instrument", help="instrument id SYMBOL.VENUE, e.g. QQQ.NASDAQ")
        parser.add_argument("--bar-spec", default="1-DAY-LAST", help="bar spec, e.g. 1-DAY-LAST or 5-SECOND-LAST")
        parser.add_argument(
            "--params", default="{}", help="strategy parameters as JSON, e.g. '{\"buy_threshold\": 0.15}'"
        )
        parser.add_argument("--sleeves-json", help="a JSON file with a list of sleeves (a book) instead of one sleeve")
        parser.add_argument("--account", help="account id (default: the environment's configured account)")

    def sleeves(self, options) -> list:
        """The book of sleeves from --sleeves-json, or the single sleeve from the other options."""
        if options["sleeves_json"]:
            if options["strategy"] or options["instrument"]:
                raise CommandError("give either --sleeves-json or --strategy/--instrument, not both")
            path = Path(options["sleeves_json"])
            try:
                return parse_book_json(path.read_bytes().decode("utf-8"), f"--sleeves-json {path}")
            except OSError as exc:
                raise CommandError(f"--sleeves-json: cannot read {path}: {exc.strerror or exc}") from None
            except UnicodeDecodeError as exc:
                raise CommandError(f"--sleeves-json: {path} is not UTF-8 text (byte {exc.start})") from None
            except SessionRefused as exc:
                raise CommandError(str(exc)) from None
        if not options["strategy"] or not options["instrument"]:
            raise CommandError("--strategy and --instrument are required (or --sleeves-json FILE)")
        try:
            params = json.loads(options["params"] or "{}")
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise CommandError("--params: nested too deeply; parameters are flat values") from None
        book = [
            {
                "strategy": options["strategy"],
                "instrument_id": options["instrument"],
                "bar_spec": options["bar_spec"],
                "params": params,
            }
        ]
        try:
            check_book_shape(book)
        except SessionRefused as exc:
            raise CommandError(f"--params: {exc}") from None
        return book

    def confirm(self, options, preview) -> str | None:
        """The account id typed back (live asks for it; paper starts straight away)."""
        return None

    def handle(self, *args, **options):
        from trading.sessions.host import run_session
        from trading.sessions.start import do_start_session, preview_session_start

        actor = cli_actor()
        sleeves = self.sleeves(options)
        try:
            preview = preview_session_start(
                environment=self.environment, book=sleeves, actor=actor, account_id=options["account"]
            )
            typed = self.confirm(options, preview)
            # Hosted right here, so nothing is queued for a worker.
            session = do_start_session(
                environment=self.environment,
                book=sleeves,
                actor=actor,
                account_id=preview.account_id,
                typed_account=typed,
                enqueue=False,
            )
        except SessionRefused as exc:  # audited by the service
            raise CommandError(str(exc)) from None
        account_id, parsed = preview.account_id, preview.sleeves
        self.stdout.write(
            f"{self.environment} session {session.pk} starting on account {account_id} "
            f"({len(parsed)} sleeve{'s' if len(parsed) > 1 else ''}); Ctrl-C stops it"
        )
        try:
            status = run_session(session.pk)
        except SessionRefused as exc:
            raise CommandError(str(exc)) from None
        session.refresh_from_db()
        self.stdout.write(f"session {session.pk} {status}: {session.stop_reason}")
        if status == SessionStatus.FAILED:
            raise CommandError(f"session {session.pk} failed: {session.stop_reason}")
