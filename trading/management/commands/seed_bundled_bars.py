"""manage.py seed_bundled_bars: the bundled daily bars into an empty catalog (make run's demo)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.marketdata.catalog import MarketDataError, covered_intervals, open_catalog
from trading.marketdata.importer import import_bars_file
from trading.strategies.params import bar_type_for

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "daily"
# The bundled CSVs (data/README.md: index series standing in for the ETFs) and the ids the demo uses for them.
BUNDLED = {"QQQ.csv": "QQQ.NASDAQ", "SPY.csv": "SPY.ARCA", "GOOG.csv": "GOOG.NASDAQ"}
BAR_SPEC = "1-DAY-LAST"


class Command(BaseCommand):
    help = (
        "Import the bundled daily bars (data/daily: QQQ, SPY, GOOG) for each instrument whose daily bars the "
        "catalog does not hold at all; one that holds any (fetched or imported) is left untouched."
    )

    def handle(self, *args, **options):
        catalog = open_catalog()
        for filename, instrument_id in BUNDLED.items():
            bar_type = bar_type_for(instrument_id, BAR_SPEC)
            if covered_intervals(catalog, bar_type):
                self.stdout.write(f"{bar_type}: the catalog already holds these bars; left as they are.")
                continue
            try:
                result = import_bars_file(DATA_DIR / filename, instrument_id, BAR_SPEC, catalog)
            except MarketDataError as exc:
                raise CommandError(f"{filename}: {exc}") from None
            self.stdout.write(
                f"{bar_type}: {result.written} bundled bars, {result.first:%Y-%m-%d} .. {result.last:%Y-%m-%d} "
                f"(data/README.md says what they are)."
            )
