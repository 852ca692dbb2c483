"""Trading writes: run a backtest and store it with its audit entry (one transaction).

run_backtest() runs one without storing it (research's gauntlet); do_backtest_run() runs and stores one.
Both go through prepare_backtest (validate, load bars) and execute_backtest (engine, metrics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from trading.backtests.engine import (
    DEFAULT_FILL_CONVENTION,
    BacktestCosts,
    Fill,
    check_fill_convention,
    run_engine,
)
from trading.backtests.metrics import (
    BarSeries,
    DailyReturns,
    compute_metrics,
    daily_returns,
    downsample_curve,
    equity_and_position,
    round_trips,
)
from trading.marketdata.catalog import (
    MarketDataError,
    catalog_instrument,
    day_end_ns,
    day_start_ns,
    load_bars,
    open_catalog,
    parse_day,
)
from trading.marketdata.integrity import HASH_FORMAT, data_hash, rounding_report
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
    fill_convention: str = DEFAULT_FILL_CONVENTION
    data_hash: str = ""  # integrity.data_hash of the bars
    data_notes: dict = field(default_factory=dict)  # the bars' count, hash format and rounding report


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
    fill_convention: str = DEFAULT_FILL_CONVENTION,
    commission_multiplier: float = 1.0,
) -> PreparedBacktest:
    """Validate a request and load its instrument and bars from the catalog; BacktestError if anything is wrong."""
    # commission_multiplier scales the commission rate, minimum and cap of the costs (1.0: as given).
    try:
        config = build_config(strategy, instrument_id, bar_spec, params)
        strategy_class, _ = load_strategy(strategy)
        first = parse_day("start", None if start is None else str(start))
        last = parse_day("end", None if end is None else str(end))
        check_fill_convention(fill_convention)
    except (StrategyParamsError, MarketDataError, ValueError) as exc:
        raise BacktestError(str(exc)) from None
    if first is not None and last is not None and first > last:
        raise BacktestError(f"start {first.date()} is after end {last.date()}")
    costs = make_costs(costs)
    if commission_multiplier != 1.0:
        try:
            costs = costs.scaled(commission_multiplier)
        except ValueError as exc:
            raise BacktestError(str(exc)) from None
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
        fill_convention=fill_convention,
        data_hash=data_hash(bars),
        data_notes={
            "bars": len(bars),
            "hash_format": HASH_FORMAT,
            "rounding": rounding_report(catalog, config.bar_type, bars[0].ts_init, bars[-1].ts_init),
        },
    )


@dataclass
class BacktestOutcome:
    """The computed results of one run (nothing stored yet)."""

    metrics: dict
    trades: list[dict]
    equity_curve: list[list]
    data_start_ns: int
    data_end_ns: int
    fills: list[Fill] = field(default_factory=list)  # every execution, in time order
    decisions: list[dict] = field(default_factory=list)  # every order sent: {ts, side, quantity}, in creation order
    daily: DailyReturns | None = None  # one return per UTC day with bars, with its date
    fill_convention: str = DEFAULT_FILL_CONVENTION
    data_hash: str = ""
    data_notes: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # the strategy parameters used, defaults included
    code_hash: str = ""


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
        fill_convention=prepared.fill_convention,
    )
    series = BarSeries(
        ts=np.fromiter((b.ts_init for b in prepared.bars), np.int64, total),
        close=np.fromiter((b.close.as_double() for b in prepared.bars), np.float64, total),
    )
    equity, position = equity_and_position(series, result.fills, prepared.costs.capital)
    trades = round_trips(result.fills)
    metrics = compute_metrics(series, result.fills, trades, prepared.costs.capital, equity, position)
    metrics["orders_denied_or_rejected"] = result.denied_or_rejected
    metrics["orders_unfilled_at_end"] = result.unfilled_at_end
    for trade in trades:
        trade["entry_time"] = _iso(trade.pop("entry_ts"))
        trade["exit_time"] = _iso(trade.pop("exit_ts"))
    return BacktestOutcome(
        metrics=metrics,
        trades=trades,
        equity_curve=downsample_curve(series.ts, equity),
        data_start_ns=int(series.ts[0]),
        data_end_ns=int(series.ts[-1]),
        fills=result.fills,
        decisions=result.decisions,
        daily=daily_returns(series.ts, equity, prepared.costs.capital),
        fill_convention=prepared.fill_convention,
        data_hash=prepared.data_hash,
        data_notes=prepared.data_notes,
        params=config_params(prepared.config),
        code_hash=prepared.code_hash,
    )


def run_backtest(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | str | None = None,
    *,
    costs: BacktestCosts | dict | None = None,
    commission_multiplier: float = 1.0,
    fill_convention: str = DEFAULT_FILL_CONVENTION,
    start: str | date | None = None,
    end: str | date | None = None,
    catalog: ParquetDataCatalog | None = None,
    progress: ProgressCallback | None = None,
) -> BacktestOutcome:
    """Validate and run one backtest without storing it: fills, trades, metrics and daily returns."""
    # costs: BacktestCosts or a dict of its fields; BacktestError (one line) on bad input.
    prepared = prepare_backtest(
        strategy, instrument_id, bar_spec, params, start, end, costs, catalog, fill_convention, commission_multiplier
    )
    return execute_backtest(prepared, progress)


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
    fill_convention: str = DEFAULT_FILL_CONVENTION,
) -> BacktestRun:
    """Validate, run and store one backtest with its audit entry; BacktestError (one line) stores nothing."""
    started = time.perf_counter()
    prepared = prepare_backtest(
        strategy, instrument_id, bar_spec, params, start, end, costs, fill_convention=fill_convention
    )
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
            fill_convention=prepared.fill_convention,
            data_hash=prepared.data_hash,
            data_notes=prepared.data_notes,
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
                "fill_convention": run.fill_convention,
                "data_hash": run.data_hash,
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
