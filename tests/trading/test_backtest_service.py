"""The backtest service: stores a BacktestRun and its audit entry together; bad input stores nothing."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from audit.models import Action, AuditEntry
from trading.backtests.metrics import downsample_curve
from trading.models import BacktestRun
from trading.services import BacktestError, do_backtest_run
from trading.strategies.registry import code_hash


@pytest.mark.django_db
def test_run_is_stored_with_params_range_hash_metrics_trades_and_audit(qqq_catalog):
    run = do_backtest_run(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        params='{"buy_threshold": 0.15}',
        start="2010-01-01",
        end="2018-12-31",
        actor="cli:test@host",
    )
    run.refresh_from_db()
    assert run.params["buy_threshold"] == 0.15 and run.params["sell_threshold"] == 0.8  # defaults included
    assert run.code_hash == code_hash("ibs_reversion")
    assert run.data_start.date().isoformat() == "2010-01-04" and run.data_end.date().isoformat() == "2018-12-31"
    assert run.bar_count == 2264
    assert run.trade_count == len(run.trades) == run.metrics["trades"] > 100
    for key in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate", "exposure", "commissions"):
        assert run.metrics[key] is not None, key
    assert 0 < run.metrics["exposure"] < 1 and 0 < run.metrics["win_rate"] < 1 and run.max_drawdown < 0
    assert len(run.equity_curve) == run.bar_count
    # Flat at the end: equity change = sum of trade P&L (net of commissions).
    pnl = sum(t["pnl"] for t in run.trades)
    assert run.metrics["end_equity"] - run.metrics["start_equity"] == pytest.approx(pnl, abs=0.01)
    assert run.equity_curve[-1][1] == pytest.approx(run.metrics["end_equity"], abs=0.01)
    entry = AuditEntry.objects.get(action=Action.BACKTEST_RUN)
    assert entry.actor == "cli:test@host" and entry.target == "ibs_reversion@QQQ.NASDAQ"
    assert entry.payload["backtest_run_id"] == run.pk and entry.payload["code_hash"] == run.code_hash


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "nope"}, "unknown strategy 'nope'"),
        ({"params": '{"buy_threshold": 1.5}'}, "buy_threshold: must be between 0 and 1, got 1.5"),
        ({"start": "2030-01-01"}, "no QQQ.NASDAQ-1-DAY-LAST-EXTERNAL bars in the catalog for 2030-01-01"),
        ({"start": "2012-13-01"}, "start: expected a date like 2010-01-31, got '2012-13-01'"),
        ({"start": "2012-01-01", "end": "2011-01-01"}, "start 2012-01-01 is after end 2011-01-01"),
        ({"instrument_id": "SPY.ARCA"}, "no instrument SPY.ARCA in the catalog"),
        ({"bar_spec": "1-MINUTE-LAST"}, "no QQQ.NASDAQ-1-MINUTE-LAST-EXTERNAL bars"),
        ({"costs": {"capital": -1}}, "capital: must be positive, got -1"),
        ({"costs": {"slippage": 1}}, "unknown cost option(s) slippage"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(qqq_catalog, kwargs, message):
    request = {"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST", **kwargs}
    with pytest.raises(BacktestError) as caught:
        do_backtest_run(actor="cli:test@host", **request)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert not BacktestRun.objects.exists()
    assert not AuditEntry.objects.filter(action=Action.BACKTEST_RUN).exists()


@pytest.mark.django_db
def test_sma_cross_runs_on_real_data(qqq_catalog):
    run = do_backtest_run(
        strategy="sma_cross",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        params={"fast_period": 20, "slow_period": 100},
        actor="cli:test@host",
    )
    assert 10 < run.trade_count < 200
    assert run.bar_count == 5031


def test_equity_curve_is_thinned_but_keeps_ends():
    ts = np.arange(12_345, dtype=np.int64) * 60_000_000_000
    curve = downsample_curve(ts, np.linspace(1, 2, len(ts)), max_points=1000)
    assert len(curve) <= 1000
    assert curve[0] == [0, 1.0] and curve[-1] == [int(ts[-1] // 1_000_000), 2.0]


@pytest.mark.django_db
def test_runs_are_visible_and_read_only_in_admin(qqq_catalog, client):
    run = do_backtest_run(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        start="2018-01-01",
        actor="cli:test@host",
    )
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-long-enough-123")
    client.force_login(admin)
    listing = client.get("/admin/trading/backtestrun/")
    assert listing.status_code == 200 and b"ibs_reversion" in listing.content
    detail = client.get(f"/admin/trading/backtestrun/{run.pk}/change/")
    assert detail.status_code == 200 and run.code_hash.encode() in detail.content
    assert client.get("/admin/trading/backtestrun/add/").status_code == 403
