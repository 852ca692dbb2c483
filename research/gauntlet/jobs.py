"""Run one gauntlet job in a worker: a backtest through trading.services, its result reduced to what rungs need.

A truncated job runs against a catalog holding only the bars up to its cut-off, and the process's catalog setting
points there while it runs: a strategy that reads ahead (from the catalog itself) sees no more than the engine
feeds it, so the lookahead rung catches it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings

from research.gauntlet.plan import GauntletRequestError
from research.models import GauntletReport
from trading.services import BacktestError, BacktestOutcome, execute_backtest, prepare_backtest, store_backtest


@dataclass(frozen=True)
class PreparedRequest:
    """What the gauntlet's request resolves to before any job runs."""

    instrument_id: str
    code_hash: str
    data_hash: str
    costs: dict
    fill_convention: str
    bar_count: int
    start: str | None
    end: str | None


def prepare_request(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    chosen: dict,
    start: str | date | None,
    end: str | date | None,
    costs: dict | None,
    fill_convention: str | None = None,
) -> PreparedRequest:
    """Validate the request against the catalog (instrument, bars in range, costs, fill convention: next_open
    unless given); GauntletRequestError if not."""
    extra = {"fill_convention": fill_convention} if fill_convention else {}
    try:
        prepared = prepare_backtest(strategy, instrument_id, bar_spec, chosen, start, end, costs, **extra)
    except BacktestError as exc:
        raise GauntletRequestError(str(exc)) from None
    return PreparedRequest(
        instrument_id=prepared.instrument_id,
        code_hash=prepared.code_hash,
        data_hash=prepared.data_hash,
        costs=prepared.costs.as_dict(),
        fill_convention=prepared.fill_convention,
        bar_count=len(prepared.bars),
        start=prepared.requested_start.isoformat() if prepared.requested_start else None,
        end=prepared.requested_end.isoformat() if prepared.requested_end else None,
    )


def run_job(report: GauntletReport, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the job's backtest and return its result for GauntletJob.result; trials are stored as BacktestRuns."""
    window = report.window or {}
    prepared = prepare_backtest(
        report.strategy,
        report.instrument_id,
        report.bar_spec,
        spec["params"],
        window.get("start"),
        window.get("end"),
        spec["costs"],
        fill_convention=report.fill_convention,
    )
    if prepared.code_hash != report.code_hash:
        raise BacktestError(f"the strategy's code changed since the gauntlet started ({report.code_hash[:12]})")
    if prepared.data_hash != report.data_hash:
        raise BacktestError(f"the catalog's bars changed since the gauntlet started ({report.data_hash[:12]})")
    end_bar = spec.get("end_bar")
    prepared.bars = prepared.bars[spec.get("start_bar", 0) : None if end_bar is None else end_bar + 1]
    with _catalog_holding(prepared) if end_bar is not None else contextlib.nullcontext():
        outcome = execute_backtest(prepared)
    run_id = None
    if spec.get("store"):
        run_id = store_backtest(prepared, outcome, actor=report.actor, sweep=f"gauntlet-{report.pk}").pk
    return job_result(outcome, run_id)


def job_result(outcome: BacktestOutcome, run_id: int | None) -> dict[str, Any]:
    """The parts of a backtest the rungs judge, JSON-ready."""
    daily = outcome.daily
    assert daily is not None
    commission = sum(f.commission for f in outcome.fills)
    net = sum(t["pnl"] for t in outcome.trades)
    return {
        "run_id": run_id,
        "days": [str(d) for d in daily.dates],
        "returns": [float(r) for r in daily.returns],
        "decisions": outcome.decisions,
        "trades": [
            {"entry_time": t["entry_time"], "exit_time": t["exit_time"], "pnl": t["pnl"]} for t in outcome.trades
        ],
        "metrics": outcome.metrics,
        "commission": commission,
        "gross_pnl": net + commission,
        "data_start_ns": outcome.data_start_ns,
        "data_end_ns": outcome.data_end_ns,
    }


@contextlib.contextmanager
def _catalog_holding(prepared) -> Iterator[None]:
    """A throwaway catalog with the instrument and just these bars, the process's catalog while the job runs."""
    from trading.marketdata.catalog import open_catalog

    with tempfile.TemporaryDirectory(prefix="ats-gauntlet-") as root:
        catalog = open_catalog(root)
        catalog.write_data([prepared.instrument])
        catalog.write_data(prepared.bars)
        saved = settings.ATS_CATALOG_DIR
        settings.ATS_CATALOG_DIR = root
        try:
            yield
        finally:
            settings.ATS_CATALOG_DIR = saved
