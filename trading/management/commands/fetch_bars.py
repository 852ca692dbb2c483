"""manage.py fetch_bars --instrument QQQ.NASDAQ --bar-spec 1-DAY-LAST --start 2010-01-01 --end 2018-12-31"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from trading.marketdata.catalog import MarketDataError, open_catalog, parse_day
from trading.marketdata.ib_fetch import fetch_bars
from trading.strategies.params import StrategyParamsError, bar_type_for


class Command(BaseCommand):
    help = (
        "Download historical bars and the instrument definition from the IB gateway into the catalog. "
        "Incremental: only dates the catalog does not cover yet are requested."
    )

    def add_arguments(self, parser):
        gateway = settings.ATS.paper
        parser.add_argument("--instrument", required=True, help="Instrument id SYMBOL.VENUE, e.g. QQQ.NASDAQ.")
        parser.add_argument("--bar-spec", required=True, help="Bar spec as Nautilus spells it, e.g. 1-DAY-LAST.")
        parser.add_argument("--start", required=True, help="First date, YYYY-MM-DD (inclusive).")
        parser.add_argument("--end", required=True, help="Last date, YYYY-MM-DD (inclusive).")
        parser.add_argument(
            "--host", default=gateway.host, help="Gateway host (default: the paper gateway, %(default)s)."
        )
        parser.add_argument(
            "--port", type=int, default=gateway.port, help="Gateway port (default: the paper gateway, %(default)s)."
        )
        parser.add_argument(
            "--client-id", type=int, default=17, help="IB API client id for this download (default %(default)s)."
        )

    def handle(self, *args, **options):
        bar = None

        def progress(done: int, total: int, received: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="request", desc="fetch", disable=None)
            bar.set_postfix(bars=received)
            bar.update(done - bar.n)

        try:
            bar_type = bar_type_for(options["instrument"], options["bar_spec"])
            start, end = parse_day("--start", options["start"]), parse_day("--end", options["end"])
            if start > end:
                raise MarketDataError(f"--start {start.date()} is after --end {end.date()}")
            result = fetch_bars(
                open_catalog(),
                bar_type,
                start,
                end,
                host=options["host"],
                port=options["port"],
                client_id=options["client_id"],
                progress=progress,
            )
        except (MarketDataError, StrategyParamsError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        if result.up_to_date:
            self.stdout.write(
                f"{bar_type}: the catalog already holds {start.date()} .. {end.date()}; nothing to fetch."
            )
            return
        self.stdout.write(
            f"{bar_type}: {result.received} bars received in {result.requests} request(s), {result.written} new "
            f"stored in {settings.ATS_CATALOG_DIR} "
            f"(instrument {result.instrument.id}, tick {result.instrument.price_increment})."
        )
        for error in result.gateway_errors:
            self.stderr.write(f"gateway: {error}")
