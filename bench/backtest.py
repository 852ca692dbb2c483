"""Benchmark: our backtest path against a bare Nautilus BacktestEngine in its default configuration.

    /tmp/venv0/bin/python bench/backtest.py [--minute-bars 500000]

Datasets: the bundled real daily bars (data/daily/QQQ.csv) and a generated set of 1-minute bars (a seeded
random walk, 390 bars per weekday). Both sides run ibs_reversion with the same config, instrument, venue and
bars. "ours" is trading.services.do_backtest_run: catalog load, engine run, metrics, BacktestRun + audit entry
stored. "bare" is BacktestEngine() with its default config (INFO logging, built-in post-run analysis), timed
from add_data to the end of run(). Each measurement runs in its own fresh interpreter, because Nautilus sets
its logger up once per process and a second engine would inherit the first one's log level.
Throwaway catalog and database live in a temp dir; nothing touches the project's var/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARAMS = {"buy_threshold": 0.15, "sell_threshold": 0.8, "quantity": 100}
DATASETS = {"daily": ("QQQ.NASDAQ", "1-DAY-LAST"), "minute": ("SYN.NASDAQ", "1-MINUTE-LAST")}


def setup_django(workdir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["ATS_CATALOG_DIR"] = str(workdir / "catalog")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ats_site.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def build_data(workdir: Path, minute_bars: int) -> None:
    """Migrate the throwaway DB, import the real daily bars and write the generated minute bars to the catalog."""
    import numpy as np
    import pandas as pd
    from django.core.management import call_command

    from trading.marketdata.catalog import assumed_us_equity, make_bar, open_catalog, store_instrument
    from trading.marketdata.importer import import_bars_file
    from trading.strategies.params import bar_type_for

    call_command("migrate", verbosity=0)
    catalog = open_catalog()
    import_bars_file(REPO / "data" / "daily" / "QQQ.csv", *DATASETS["daily"], catalog)

    instrument = assumed_us_equity(DATASETS["minute"][0])
    store_instrument(catalog, instrument)
    bar_type = bar_type_for(*DATASETS["minute"])
    days = pd.bdate_range("2015-01-05", periods=minute_bars // 390 + 1, tz="UTC")
    starts = (
        days.values.astype("datetime64[ns]").astype(np.int64)[:, None]
        + (14 * 3600 + 30 * 60 + 60 * np.arange(390))[None, :] * 1_000_000_000
    ).ravel()[:minute_bars]
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.0008, minute_bars)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0006, (2, minute_bars))) * close
    high, low = np.maximum(open_, close) + spread[0], np.minimum(open_, close) - spread[1]
    bars = [
        make_bar(bar_type, instrument, int(s), o, h, lo, c, 1_000_000)
        for s, o, h, lo, c in zip(starts, open_, high, low, close, strict=True)
    ]
    catalog.write_data(bars)


def measure(workdir: Path, side: str, dataset: str) -> dict:
    """Run one side on one dataset in this (fresh) process; return timings and counts."""
    setup_django(workdir)
    instrument_id, bar_spec = DATASETS[dataset]
    if side == "ours":
        from trading.services import do_backtest_run

        started = time.perf_counter()
        run = do_backtest_run(
            strategy="ibs_reversion",
            instrument_id=instrument_id,
            bar_spec=bar_spec,
            params=PARAMS,
            actor="system:bench",
        )
        seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "bars": run.bar_count,
            "fills": run.metrics["fills"],
            "trades": run.trade_count,
            "end_equity": run.metrics["end_equity"],
        }

    from decimal import Decimal

    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.backtest.models import FillModel
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.events import OrderFilled
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money

    from trading.backtests.engine import BacktestCosts, PerShareFeeModel
    from trading.services import prepare_backtest

    prepared = prepare_backtest("ibs_reversion", instrument_id, bar_spec, PARAMS)  # catalog load: not timed
    costs = BacktestCosts()
    instrument = prepared.instrument
    engine = BacktestEngine()  # the default configuration
    engine.add_venue(
        venue=Venue(instrument.id.venue.value),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=instrument.quote_currency,
        starting_balances=[Money(costs.capital, instrument.quote_currency)],
        default_leverage=Decimal(1),
        fill_model=FillModel(prob_slippage=0.0, random_seed=costs.seed),
        fee_model=PerShareFeeModel(costs.commission_per_share, costs.commission_minimum, costs.commission_max_pct),
    )
    engine.add_instrument(instrument)
    engine.add_strategy(prepared.strategy_class(prepared.config))
    started = time.perf_counter()
    engine.add_data(prepared.bars)
    engine.run()
    seconds = time.perf_counter() - started
    fills = sum(1 for o in engine.cache.orders() for e in o.events if isinstance(e, OrderFilled))
    engine.dispose()
    return {"seconds": seconds, "bars": len(prepared.bars), "fills": fills}


def spawn(workdir: Path, side: str, dataset: str) -> dict:
    out = workdir / f"{side}-{dataset}.json"
    # stdout/stderr discarded: the bare engine logs every event at INFO, which is part of its default cost.
    subprocess.run(
        [sys.executable, __file__, "--worker", side, dataset, str(workdir)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if side == "bare" else None,
    )
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minute-bars", type=int, default=500_000)
    parser.add_argument("--worker", nargs=3, metavar=("SIDE", "DATASET", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        side, dataset, workdir = args.worker
        result = measure(Path(workdir), side, dataset)
        (Path(workdir) / f"{side}-{dataset}.json").write_text(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="ats-bench-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        setup_django(workdir)
        build_data(workdir, args.minute_bars)
        print(
            f"data ready in {time.perf_counter() - started:.1f} s "
            f"(daily: QQQ.csv; minute: {args.minute_bars:,} generated bars)"
        )
        print(f"{'dataset':<8} {'path':<5} {'bars':>9} {'fills':>7} {'seconds':>8} {'bars/s':>9} {'fills/s':>8}")
        for dataset in DATASETS:
            results = {side: spawn(workdir, side, dataset) for side in ("bare", "ours")}
            for side, r in results.items():
                print(
                    f"{dataset:<8} {side:<5} {r['bars']:>9,} {r['fills']:>7,} {r['seconds']:>8.2f} "
                    f"{r['bars'] / r['seconds']:>9,.0f} {r['fills'] / r['seconds']:>8,.0f}"
                )
            if results["ours"]["fills"] != results["bare"]["fills"]:
                print(f"  WARNING: fill counts differ ({results['ours']['fills']} vs {results['bare']['fills']})")
            ratio = results["ours"]["seconds"] / results["bare"]["seconds"]
            print(f"{dataset:<8} ratio ours/bare = {ratio:.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()
