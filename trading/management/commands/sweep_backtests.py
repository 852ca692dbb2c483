"""manage.py sweep_backtests --strategy S --instrument I --bar-spec B --grid '{"buy_threshold": [0.1, 0.2]}' [--sync]"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.services import cli_actor
from trading.backtests.cli_options import add_run_arguments, costs_from_options
from trading.backtests.report import format_sweep_row
from trading.backtests.sweep import expand_grid, plan_sweep
from trading.models import BacktestRun
from trading.services import BacktestError, do_backtest_run, prepare_backtest
from trading.strategies.params import StrategyParamsError
from trading.tasks import enqueue_sweep, new_sweep_label


class Command(BaseCommand):
    help = (
        "Backtest every combination of a parameter grid; each run is stored. Queues one django-q task per "
        "combination (run `manage.py qcluster` for workers), or runs them here with --sync."
    )

    def add_arguments(self, parser):
        add_run_arguments(parser)
        parser.add_argument(
            "--grid",
            required=True,
            help="Parameter grid as JSON: name -> list of values, e.g. '{\"buy_threshold\": [0.1, 0.15]}'.",
        )
        parser.add_argument(
            "--sync", action="store_true", help="Run the grid in this process instead of queueing tasks."
        )
        parser.add_argument("--label", default="", help="Sweep label stored on every run (default: strategy + time).")

    def handle(self, *args, **options):
        strategy, instrument, bar_spec = options["strategy"], options["instrument"], options["bar_spec"]
        costs = costs_from_options(options)
        try:
            plan = plan_sweep(strategy, instrument, bar_spec, options["params"], options["grid"])
            # Fail on missing data or bad costs before anything is queued or stored.
            prepare_backtest(
                strategy,
                instrument,
                bar_spec,
                plan[0],
                options["start"],
                options["end"],
                costs,
                fill_convention=options["fill_convention"],
            )
        except (StrategyParamsError, BacktestError) as exc:
            raise CommandError(str(exc)) from None
        swept = list(expand_grid(options["grid"])[0])
        label = options["label"] or new_sweep_label(strategy)
        actor = cli_actor()
        if not options["sync"]:
            task_ids = enqueue_sweep(
                strategy,
                instrument,
                bar_spec,
                plan,
                options["start"],
                options["end"],
                costs,
                actor=actor,
                sweep=label,
                fill_convention=options["fill_convention"],
            )
            self.stdout.write(f"Sweep {label}: queued {len(task_ids)} backtest task(s) for the django-q workers.")
            done = BacktestRun.objects.filter(sweep=label).order_by("id")
            for run in done:  # with Q_CLUSTER sync=True the tasks have already run
                self.stdout.write(format_sweep_row(run, swept))
            return
        self.stdout.write(f"Sweep {label}: {len(plan)} backtest(s)")
        runs = []
        for params in tqdm(plan, unit="run", desc="sweep", disable=None):
            try:
                runs.append(
                    do_backtest_run(
                        strategy=strategy,
                        instrument_id=instrument,
                        bar_spec=bar_spec,
                        params=params,
                        start=options["start"],
                        end=options["end"],
                        costs=costs,
                        actor=actor,
                        sweep=label,
                        fill_convention=options["fill_convention"],
                    )
                )
            except BacktestError as exc:
                raise CommandError(str(exc)) from None
        for run in runs:  # after the bar, so rows and progress do not interleave on the terminal
            self.stdout.write(format_sweep_row(run, swept))
