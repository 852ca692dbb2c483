"""manage.py paper_rung --session N [--sleeve I] [--min-fills 20] [--min-match 0.95]"""

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from research.models import RungOutcome
from research.paper_rung import DEFAULT_MIN_FILLS, DEFAULT_MIN_MATCH, PaperRungError, do_check_paper_rung
from trading.strategies.params import StrategyParamsError


class Command(BaseCommand):
    help = (
        "The paper rung: backtest the very bars a finished paper session received with the same strategy, params "
        "and code, and match the fills one by one; stores the check (audited) and prints the match table."
    )

    def add_arguments(self, parser):
        parser.add_argument("--session", type=int, required=True, help="id of a finished paper session")
        parser.add_argument("--sleeve", type=int, default=None, help="sleeve number (from 1) when the book has several")
        parser.add_argument("--min-fills", type=int, default=DEFAULT_MIN_FILLS, help="default %(default)s")
        parser.add_argument("--min-match", type=float, default=DEFAULT_MIN_MATCH, help="default %(default)s")

    def handle(self, *args, **options):
        try:
            check = do_check_paper_rung(
                session_id=options["session"],
                actor=cli_actor(),
                sleeve=options["sleeve"],
                min_fills=options["min_fills"],
                min_match=options["min_match"],
            )
        except (PaperRungError, StrategyParamsError) as exc:
            raise CommandError(str(exc)) from None
        for row in check.rows:
            if row["status"] != "matched":
                self.stdout.write(
                    f"  {row['status']:<27} {row['side']:<4} {row['quantity']:g} "
                    f"backtest {row['backtest_price']} session {row['session_price']}: {row['note']}"
                )
        self.stdout.write(f"paper rung #{check.pk} (session {check.session_id}): {check.verdict}: {check.reason}")
        if check.verdict != RungOutcome.PASS:
            raise CommandError(f"paper rung #{check.pk} did not pass: {check.reason}")
