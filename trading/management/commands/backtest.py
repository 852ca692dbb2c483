"""manage.py backtest --strategy ibs_reversion --instrument QQQ.NASDAQ --bar-spec 1-DAY-LAST --params '{...}'"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.services import cli_actor
from trading.backtests.cli_options import add_run_arguments, costs_from_options
from trading.backtests.report import format_summary
from trading.services import BacktestError, do_backtest_run


class Command(BaseCommand):
    help = "Backtest a strategy on catalog bars in a Nautilus BacktestEngine; print a summary and store the run."

    def add_arguments(self, parser):
        add_run_arguments(parser)

    def handle(self, *args, **options):
        bar = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="bar", desc="backtest", disable=None)
            bar.update(done - bar.n)

        try:
            run = do_backtest_run(
                strategy=options["strategy"],
                instrument_id=options["instrument"],
                bar_spec=options["bar_spec"],
                params=options["params"],
                start=options["start"],
                end=options["end"],
                costs=costs_from_options(options),
                fill_convention=options["fill_convention"],
                actor=cli_actor(),
                progress=progress,
            )
        except BacktestError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(format_summary(run))
