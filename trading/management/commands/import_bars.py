"""manage.py import_bars FILE.csv --instrument QQQ.NASDAQ --bar-spec 1-DAY-LAST"""

from django.core.management.base import BaseCommand, CommandError

from trading.marketdata.catalog import MarketDataError, open_catalog
from trading.marketdata.importer import import_bars_file
from trading.strategies.params import StrategyParamsError


class Command(BaseCommand):
    help = (
        "Import bars from a CSV file (date|timestamp,open,high,low,close,volume) into the catalog. "
        "The whole file is checked first: any malformed row is reported by line number and nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header row.")
        parser.add_argument("--instrument", required=True, help="Instrument id SYMBOL.VENUE, e.g. QQQ.NASDAQ.")
        parser.add_argument("--bar-spec", required=True, help="Bar spec as Nautilus spells it, e.g. 1-DAY-LAST.")

    def handle(self, *args, **options):
        try:
            result = import_bars_file(options["file"], options["instrument"], options["bar_spec"], open_catalog())
        except (MarketDataError, StrategyParamsError) as exc:
            raise CommandError(str(exc)) from None
        source = "catalog definition" if not result.instrument_assumed else "assumed US equity (USD, tick 0.01)"
        self.stdout.write(
            f"Imported {result.written} new {result.bar_type} bars from {result.rows} rows "
            f"({result.already_stored} already stored), {result.first:%Y-%m-%d} .. {result.last:%Y-%m-%d}; "
            f"instrument: {source}."
        )
