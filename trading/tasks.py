"""django-q tasks: backtests run in workers, so the operator pages and sweeps can start many at once."""

from __future__ import annotations

from datetime import UTC, datetime

from django_q.tasks import async_task

from audit.services import system_actor
from trading.backtests.engine import DEFAULT_FILL_CONVENTION
from trading.services import do_backtest_run

BACKTEST_TASK = "trading.tasks.run_backtest_task"


def run_backtest_task(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | None = None,
    start: str | None = None,
    end: str | None = None,
    costs: dict | None = None,
    actor: str = "",
    sweep: str = "",
    fill_convention: str = DEFAULT_FILL_CONVENTION,
) -> int:
    """Worker entry point: run and store one backtest; returns the BacktestRun id (BacktestError on bad input)."""
    run = do_backtest_run(
        strategy=strategy,
        instrument_id=instrument_id,
        bar_spec=bar_spec,
        params=params,
        start=start,
        end=end,
        costs=costs,
        actor=actor or system_actor("django-q"),
        sweep=sweep,
        fill_convention=fill_convention,
    )
    return run.pk


def enqueue_backtest(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | None = None,
    start: str | None = None,
    end: str | None = None,
    costs: dict | None = None,
    *,
    actor: str,
    sweep: str = "",
    fill_convention: str = DEFAULT_FILL_CONVENTION,
) -> str:
    """Queue one backtest for the django-q workers; returns the task id."""
    return async_task(
        BACKTEST_TASK,
        strategy,
        instrument_id,
        bar_spec,
        params,
        start,
        end,
        costs,
        actor,
        sweep,
        fill_convention,
        group=sweep or None,
        task_name=f"backtest {strategy} {instrument_id} {bar_spec}",
    )


def new_sweep_label(strategy: str) -> str:
    """A label that groups the runs of one sweep, e.g. ibs_reversion-20261126T101500Z."""
    return f"{strategy}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"


def enqueue_sweep(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    plan: list[dict],
    start: str | None = None,
    end: str | None = None,
    costs: dict | None = None,
    *,
    actor: str,
    sweep: str,
    fill_convention: str = DEFAULT_FILL_CONVENTION,
) -> list[str]:
    """Queue one backtest task per planned params dict (see trading.backtests.sweep.plan_sweep); returns task ids."""
    return [
        enqueue_backtest(
            strategy,
            instrument_id,
            bar_spec,
            params,
            start,
            end,
            costs,
            actor=actor,
            sweep=sweep,
            fill_convention=fill_convention,
        )
        for params in plan
    ]
