"""Trading writes: run a backtest and store it with its audit entry (one transaction)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.db import transaction
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog.parquet import ParquetDataCatalog

from audit.models import Action
from audit.services import record
from trading.backtests.engine import BacktestCosts, run_engine
from trading.backtests.metrics import BarSeries, compute_metrics, downsample_curve, equity_and_position, round_trips
from trading.marketdata.catalog import (
    MarketDataError,
    catalog_instrument,
    day_end_ns,
    day_start_ns,
    load_bars,
    open_catalog,
    parse_day,
)
from trading.models import BacktestRun
from trading.strategies.params import StrategyParamsError, build_config, config_params, load_strategy
from trading.strategies.registry import code_hash

ProgressCallback = Callable[[int, int], None]  # (bars done, bars total)


class BacktestError(ValueError):
    """A backtest request is invalid or has no data; the message is one line and nothing was stored."""


@dataclass
class PreparedBacktest:
    """A validated backtest request with its data loaded, ready to run."""

    strategy: str
    instrument_id: str
    bar_spec: str
    config: StrategyConfig
    strategy_class: type
    instrument: Instrument
    bars: list[Bar]
    costs: BacktestCosts
    code_hash: str
    requested_start: date | None
    requested_end: date | None


def make_costs(costs: BacktestCosts | dict | None) -> BacktestCosts:
    """Costs from a BacktestCosts, a dict of its fields (tasks, forms) or None for the defaults."""
    if costs is None:
        return BacktestCosts()
    if isinstance(costs, BacktestCosts):
        return costs
    try:
        return BacktestCosts(**costs)
    except TypeError:
        known = ", ".join(BacktestCosts.__dataclass_fields__)
        unknown = ", ".join(sorted(set(costs) - set(BacktestCosts.__dataclass_fields__)))
        raise BacktestError(f"unknown cost option(s) {unknown} (known: {known})") from None
    except ValueError as exc:
        raise BacktestError(str(exc)) from None


def prepare_backtest(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | str | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    costs: BacktestCosts | dict | None = None,
    catalog: ParquetDataCatalog | None = None,
) -> PreparedBacktest:
    """Validate a request and load its instrument and bars from the catalog; BacktestError if anything is wrong."""
    try:
        config = build_config(strategy, instrument_id, bar_spec, params)
        strategy_class, _ = load_strategy(strategy)
        first = parse_day("start", None if start is None else str(start))
        last = parse_day("end", None if end is None else str(end))
    except (StrategyParamsError, MarketDataError) as exc:
        raise BacktestError(str(exc)) from None
    if first is not None and last is not None and first > last:
        raise BacktestError(f"start {first.date()} is after end {last.date()}")
    costs = make_costs(costs)
    catalog = catalog or open_catalog()
    instrument_id = config.instrument_id.value
    instrument = catalog_instrument(catalog, instrument_id)
    if instrument is None:
        raise BacktestError(f"no instrument {instrument_id} in the catalog: run fetch_bars or import_bars first")
    bars = load_bars(
        catalog,
        config.bar_type,
        day_start_ns(first) if first is not None else None,
        day_end_ns(last) if last is not None else None,
    )
    if not bars:
        span_start = first.date() if first is not None else "the beginning"
        span = f"{span_start} .. {last.date() if last is not None else 'the end'}"
        raise BacktestError(f"no {config.bar_type} bars in the catalog for {span}")
    return PreparedBacktest(
        strategy=strategy,
        instrument_id=instrument_id,
        bar_spec=bar_spec,
        config=config,
        strategy_class=strategy_class,
        instrument=instrument,
        bars=bars,
        costs=costs,
        code_hash=code_hash(strategy),
        requested_start=first.date() if first is not None else None,
        requested_end=last.date() if last is not None else None,
    )


@dataclass
class BacktestOutcome:
    """The computed results of one run (nothing stored yet)."""

    metrics: dict
    trades: list[dict]
    equity_curve: list[list]
    data_start_ns: int
    data_end_ns: int


def execute_backtest(prepared: PreparedBacktest, progress: ProgressCallback | None = None) -> BacktestOutcome:
    """Run the prepared backtest in a fresh engine and compute its metrics, trades and equity curve."""
    total = len(prepared.bars)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress(done, total)

    result = run_engine(
        prepared.strategy_class,
        prepared.config,
        prepared.instrument,
        prepared.bars,
        prepared.costs,
        progress=advance if progress else None,
    )
    series = BarSeries(
        ts=np.fromiter((b.ts_init for b in prepared.bars), np.int64, total),
        close=np.fromiter((b.close.as_double() for b in prepared.bars), np.float64, total),
    )
    equity, position = equity_and_position(series, result.fills, prepared.costs.capital)
    trades = round_trips(result.fills)
    metrics = compute_metrics(series, result.fills, trades, prepared.costs.capital, equity, position)
    metrics["orders_denied_or_rejected"] = result.denied_or_rejected
    for trade in trades:
        trade["entry_time"] = _iso(trade.pop("entry_ts"))
        trade["exit_time"] = _iso(trade.pop("exit_ts"))
    return BacktestOutcome(
        metrics=metrics,
        trades=trades,
        equity_curve=downsample_curve(series.ts, equity),
        data_start_ns=int(series.ts[0]),
        data_end_ns=int(series.ts[-1]),
    )


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").isoformat()


def do_backtest_run(
    *,
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | str | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    costs: BacktestCosts | dict | None = None,
    actor: str,
    sweep: str = "",
    progress: ProgressCallback | None = None,
) -> BacktestRun:
    """Validate, run and store one backtest with its audit entry; BacktestError (one line) stores nothing."""
    started = time.perf_counter()
    prepared = prepare_backtest(strategy, instrument_id, bar_spec, params, start, end, costs)
    outcome = execute_backtest(prepared, progress)
    return store_backtest(prepared, outcome, actor=actor, sweep=sweep, duration=time.perf_counter() - started)


def store_backtest(
    prepared: PreparedBacktest, outcome: BacktestOutcome, *, actor: str, sweep: str = "", duration: float = 0.0
) -> BacktestRun:
    """Write the BacktestRun and its audit entry in one transaction."""
    m = outcome.metrics
    with transaction.atomic():
        run = BacktestRun.objects.create(
            actor=actor,
            strategy=prepared.strategy,
            instrument_id=prepared.instrument_id,
            bar_spec=prepared.bar_spec,
            params=config_params(prepared.config),
            costs=prepared.costs.as_dict(),
            requested_start=prepared.requested_start,
            requested_end=prepared.requested_end,
            data_start=_datetime(outcome.data_start_ns),
            data_end=_datetime(outcome.data_end_ns),
            bar_count=len(prepared.bars),
            code_hash=prepared.code_hash,
            trade_count=m["trades"],
            total_return=m["total_return"],
            cagr=m["cagr"],
            sharpe=m["sharpe"],
            max_drawdown=m["max_drawdown"],
            metrics=m,
            trades=outcome.trades,
            equity_curve=outcome.equity_curve,
            duration_seconds=duration,
            sweep=sweep,
        )
        record(
            Action.BACKTEST_RUN,
            actor=actor,
            target=f"{prepared.strategy}@{prepared.instrument_id}",
            payload={
                "backtest_run_id": run.pk,
                "bar_spec": prepared.bar_spec,
                "params": run.params,
                "costs": run.costs,
                "code_hash": prepared.code_hash,
                "data_start": run.data_start.isoformat(),
                "data_end": run.data_end.isoformat(),
                "bars": run.bar_count,
                "trades": run.trade_count,
                "total_return": run.total_return,
                "sweep": sweep,
            },
        )
    return run


def _datetime(ns: int):
    # Django datetimes hold microseconds; drop the nanoseconds explicitly.
    return pd.Timestamp(ns // 1000 * 1000, tz="UTC").to_pydatetime()
