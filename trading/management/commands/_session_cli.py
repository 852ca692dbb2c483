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

    def confirm(self, options, account_id: str, sleeves, approvals) -> None:
        """Live asks for the account id; paper starts straight away."""

    def handle(self, *args, **options):
        from trading.sessions.host import run_session
        from trading.sessions.services import do_create_session, refuse, validate_session_request

        actor = cli_actor()
        sleeves = self.sleeves(options)
        try:
            account_id, parsed, approvals = validate_session_request(self.environment, sleeves, options["account"])
        except SessionRefused as exc:
            refuse(self.environment, str(exc), actor)
            raise CommandError(str(exc)) from None
        self.confirm(options, account_id, parsed, approvals)
        try:
            session = do_create_session(
                environment=self.environment, sleeves=sleeves, actor=actor, account_id=account_id
            )
        except SessionRefused as exc:
            raise CommandError(str(exc)) from None
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
