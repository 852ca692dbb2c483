"""manage.py kill_session ID | --all --env paper|live --reason R [--flatten]"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, InterfaceError

from audit.services import cli_actor
from trading.sessions import local_control
from trading.sessions.guards import SessionRefused
from trading.sessions.orphan_kill import kill_message
from trading.sessions.services import do_request_kill


class Command(BaseCommand):
    help = (
        "Kill switch: halt at once (no new orders), cancel every working order at the broker, optionally flatten, "
        "then stop the node. Persisted: a killed session stays killed."
    )

    def add_arguments(self, parser):
        parser.add_argument("session_id", nargs="?", type=int)
        parser.add_argument("--all", action="store_true", help="every active session of --env")
        parser.add_argument("--env", choices=["paper", "live"])
        parser.add_argument("--reason", required=True, help="why (required, audited)")
        parser.add_argument("--flatten", action="store_true", help="also close positions before halting")

    def handle(self, *args, **options):
        if options["all"] == (options["session_id"] is not None):
            raise CommandError("give a session id, or --all with --env paper|live")
        if options["all"] and not options["env"]:
            raise CommandError("--all needs --env paper|live")
        try:
            killed = do_request_kill(
                actor=cli_actor(),
                reason=options["reason"],
                flatten=options["flatten"],
                session_id=options["session_id"],
                environment=options["env"],
            )
        except SessionRefused as exc:
            raise CommandError(str(exc)) from None
        except (DatabaseError, InterfaceError) as exc:
            self._kill_without_database(options, exc)
            return
        if not killed:
            self.stdout.write(f"no active {options['env']} sessions to kill")
        for pk in killed:
            self.stdout.write(kill_message(pk, options["flatten"]))

    def _kill_without_database(self, options, error: Exception) -> None:
        """The database is unreachable: signal the hosts on this machine instead (nothing is recorded until it is
        back; each host records its own outcome then)."""
        signalled = local_control.signal_local_hosts(options["session_id"], options["flatten"], options["env"])
        what = "halt and flatten" if options["flatten"] else "halt"
        if not signalled:
            raise CommandError(
                f"database unreachable ({type(error).__name__}) and no host of "
                f"{'session ' + str(options['session_id']) if options['session_id'] else 'any session'} "
                "runs on this machine: kill it where it runs, or stop its process"
            )
        for session_id, pid in signalled:
            self.stdout.write(
                f"database unreachable: kill ({what}) signalled to the host of session {session_id} (pid {pid})"
            )
