"""manage.py ladder --strategy S --instrument I --bar-spec B [--params JSON]"""

from django.core.management.base import BaseCommand, CommandError

from research.selectors import format_ladder, ladder_for
from trading.ids import InvalidIdentifier, validate_bar_spec, validate_instrument_id
from trading.strategies.params import StrategyParamsError
from trading.strategies.registry import UnknownStrategy, code_hash


class Command(BaseCommand):
    help = "Print the research ladder of a strategy + instrument + bars + params for its current code and data."

    def add_arguments(self, parser):
        parser.add_argument("--strategy", required=True, help="registered strategy name, e.g. ibs_reversion")
        parser.add_argument("--instrument", required=True, help="instrument id SYMBOL.VENUE, e.g. QQQ.NASDAQ")
        parser.add_argument("--bar-spec", default="1-DAY-LAST", help="bars, e.g. 1-DAY-LAST (default %(default)s)")
        parser.add_argument("--params", default="{}", help="the params as JSON (defaults fill the rest)")

    def handle(self, *args, **options):
        try:
            instrument_id = validate_instrument_id(options["instrument"])
            bar_spec = validate_bar_spec(options["bar_spec"])
            ladder = ladder_for(
                options["strategy"],
                instrument_id,
                bar_spec,
                options["params"],
                code_hash=code_hash(options["strategy"]),
            )
        except (InvalidIdentifier, StrategyParamsError, UnknownStrategy) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(format_ladder(ladder))
