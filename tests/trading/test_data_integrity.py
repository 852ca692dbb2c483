"""Rounding at import is recorded, runs carry a hash of their bars, and the gauntlet's run_backtest API."""

from __future__ import annotations

import csv
import hashlib
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from trading.backtests.engine import BacktestCosts
from trading.marketdata.catalog import open_catalog
from trading.marketdata.importer import import_bars_file
from trading.marketdata.integrity import instrument_rounding_report
from trading.models import BacktestRun
from trading.services import do_backtest_run, run_backtest
from trading.strategies.params import bar_type_for

QQQ_CSV = Path(__file__).resolve().parents[2] / "data" / "daily" / "QQQ.csv"


def independent_rounding(start: str, end: str) -> tuple[int, float]:
    """Prices of the CSV in [start, end] that half-up rounding to the cent changes, and the largest change."""
    changed, largest = 0, 0.0
    with QQQ_CSV.open() as handle:
        for row in csv.DictReader(handle):
            if not start <= row["date"] <= end:
                continue
            for name in ("open", "high", "low", "close"):
                raw = float(row[name])
                rounded = int(raw * 100 + 0.5 + 1e-7) / 100
                if abs(rounded - raw) > 1e-9:
                    changed += 1
                    largest = max(largest, abs(rounded - raw))
    return changed, largest


def test_rounding_report_counts_the_prices_rounding_changed(qqq_catalog):
    report = instrument_rounding_report("QQQ.NASDAQ", "1-DAY-LAST", "2010-01-01", "2018-12-31")
    changed, largest = independent_rounding("2010-01-01", "2018-12-31")
    assert report["recorded"] and report["bars_checked"] == 2264 and report["prices_checked"] == 4 * 2264
    assert report["prices_rounded"] == changed > 1000
    assert report["max_change"] == pytest.approx(largest, abs=1e-9) and largest <= 0.005 + 1e-9
    assert 0 < report["bars_rounded"] <= 2264


def test_prices_already_on_the_tick_are_not_rounded(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("date,open,high,low,close,volume\n2020-01-02,10.00,10.50,9.50,10.25,100\n")
    result = import_bars_file(path, "ABC.NASDAQ", "1-DAY-LAST", open_catalog(tmp_path / "catalog"))
    assert result.rounding["recorded"] and result.rounding["prices_rounded"] == 0
    assert result.rounding["max_change"] == 0.0
    unrecorded = instrument_rounding_report("XYZ.NASDAQ", "1-DAY-LAST", catalog=open_catalog(tmp_path / "catalog"))
    assert not unrecorded["recorded"] and unrecorded["prices_rounded"] == 0


@pytest.mark.django_db
def test_a_run_stores_its_fill_convention_data_hash_and_rounding(qqq_catalog, client, django_user_model):
    run = do_backtest_run(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        start="2018-01-01",
        end="2018-12-31",
        actor="cli:test@host",
    )
    run.refresh_from_db()
    assert run.fill_convention == "next_open"
    catalog = open_catalog(qqq_catalog)
    bars = catalog.bars(bar_types=[str(bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))])
    first, last = pd.Timestamp("2018-01-01", tz="UTC").value, pd.Timestamp("2019-01-01", tz="UTC").value
    used = [b for b in bars if first <= b.ts_init < last]
    text = "".join(f"{b.ts_event},{b.ts_init},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in used)
    assert run.data_hash == hashlib.sha256(text.encode()).hexdigest()
    assert run.data_notes["bars"] == run.bar_count == len(used)
    changed, _ = independent_rounding("2018-01-01", "2018-12-31")
    assert run.data_notes["rounding"]["prices_rounded"] == changed
    other = do_backtest_run(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        start="2017-01-01",
        end="2018-12-31",
        actor="cli:test@host",
    )
    assert other.data_hash != run.data_hash
    # Shown where a run is shown.
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw-long-enough-123"))
    page = client.get(f"/research/{run.pk}/").content.decode()
    assert run.data_hash in page and "next bar&#x27;s open" in page and f"{changed} of" in page
    listing = client.get("/research/").content.decode()
    assert "next_open" in listing


@pytest.mark.django_db
@pytest.mark.parametrize("convention", ["next_open", "signal_close"])
def test_cli_selects_the_fill_convention(qqq_catalog, convention, monkeypatch):
    out = StringIO()
    call_command(
        "backtest",
        *("--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"),
        *("--start", "2018-01-01", "--fill-convention", convention),
        stdout=out,
    )
    run = BacktestRun.objects.get()
    assert run.fill_convention == convention and f"fills at      {convention}" in out.getvalue()
    call_command(
        "sweep_backtests",
        *("--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"),
        *("--start", "2018-01-01", "--fill-convention", convention, "--sync"),
        *("--grid", '{"buy_threshold": [0.1, 0.2]}'),
        stdout=StringIO(),
    )
    assert set(BacktestRun.objects.exclude(pk=run.pk).values_list("fill_convention", flat=True)) == {convention}
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)  # queued tasks run inline, through the worker path
    call_command(
        "sweep_backtests",
        *("--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"),
        *("--start", "2018-01-01", "--fill-convention", convention, "--label", "queued"),
        *("--grid", '{"buy_threshold": [0.1, 0.2]}'),
        stdout=StringIO(),
    )
    queued = BacktestRun.objects.filter(sweep="queued").values_list("fill_convention", flat=True)
    assert list(queued) == [convention, convention]


@pytest.mark.django_db
def test_run_backtest_returns_results_without_storing(qqq_catalog):
    params = {"buy_threshold": 0.15, "notional": 10_000}
    base = run_backtest("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", params, start="2016-01-01", end="2018-12-31")
    doubled = run_backtest(
        "ibs_reversion",
        "QQQ.NASDAQ",
        "1-DAY-LAST",
        params,
        costs=BacktestCosts(slippage_prob=0.0),
        commission_multiplier=2.0,
        start="2016-01-01",
        end="2018-12-31",
    )
    assert not BacktestRun.objects.exists()
    assert base.fill_convention == "next_open" and len(base.data_hash) == 64 and base.code_hash
    assert base.metrics["trades"] == len(base.trades) > 50 and len(base.fills) >= 2 * len(base.trades)
    assert doubled.metrics["commissions"] == pytest.approx(2 * base.metrics["commissions"], abs=0.01)
    daily = base.daily
    assert daily is not None and len(daily.dates) == len(daily.returns) == base.metrics["daily_returns"] == 754
    assert str(daily.dates[0]) == "2016-01-04" and str(daily.dates[-1]) == "2018-12-31"
    assert np.prod(1 + daily.returns) - 1 == pytest.approx(base.metrics["total_return"], abs=1e-9)
