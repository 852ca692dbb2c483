"""The backtest and sweep_backtests commands, and the django-q task path."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from trading.models import BacktestRun
from trading.tasks import run_backtest_task

BASE = ["--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"]


@pytest.mark.django_db
def test_backtest_prints_summary_and_stores_run(qqq_catalog):
    out = StringIO()
    call_command(
        "backtest",
        *BASE,
        "--params",
        '{"buy_threshold": 0.15}',
        "--start",
        "2010-01-01",
        "--end",
        "2018-12-31",
        "--commission-per-share",
        "0.01",
        stdout=out,
    )
    text = out.getvalue()
    for label in (
        "trades",
        "total return",
        "CAGR",
        "Sharpe",
        "Sortino",
        "max drawdown",
        "win rate",
        "exposure",
        "commissions",
    ):
        assert f"  {label} " in text, label
    run = BacktestRun.objects.get()
    assert f"Backtest #{run.pk}: ibs_reversion on QQQ.NASDAQ 1-DAY-LAST, 2010-01-04 .. 2018-12-31" in text
    assert run.costs["commission_per_share"] == 0.01


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", '{"buy_treshold": 0.1}'], "unknown parameter 'buy_treshold'"),
        (["--params", '{"buy_threshold": "abc"}'], "buy_threshold: expected a number, got 'abc'"),
        (["--start", "2030-01-01"], "no QQQ.NASDAQ-1-DAY-LAST-EXTERNAL bars"),
        (["--slippage-prob", "2"], "slippage_prob: must be between 0 and 1, got 2.0"),
    ],
)
def test_backtest_bad_input_is_a_one_line_command_error(qqq_catalog, args, message):
    with pytest.raises(CommandError) as caught:
        call_command("backtest", *BASE, *args, stdout=StringIO())
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert not BacktestRun.objects.exists()


@pytest.mark.django_db
def test_sweep_sync_stores_every_grid_point(qqq_catalog):
    out = StringIO()
    call_command(
        "sweep_backtests",
        *BASE,
        "--start",
        "2016-01-01",
        "--grid",
        '{"buy_threshold": [0.1, 0.2], "sell_threshold": [0.7, 0.9]}',
        "--sync",
        "--label",
        "s1",
        stdout=out,
    )
    runs = BacktestRun.objects.filter(sweep="s1")
    assert sorted((r.params["buy_threshold"], r.params["sell_threshold"]) for r in runs) == [
        (0.1, 0.7),
        (0.1, 0.9),
        (0.2, 0.7),
        (0.2, 0.9),
    ]
    assert "buy_threshold=0.2, sell_threshold=0.9" in out.getvalue()


@pytest.mark.django_db
def test_sweep_enqueues_django_q_tasks(qqq_catalog, monkeypatch):
    # Q_CLUSTER sync=True makes django-q run each queued task inline, through the same worker code path; django-q
    # reads Q_CLUSTER once at import, so the test sets its parsed Conf rather than settings.
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    out = StringIO()
    call_command(
        "sweep_backtests",
        "--strategy",
        "sma_cross",
        "--instrument",
        "QQQ.NASDAQ",
        "--bar-spec",
        "1-DAY-LAST",
        "--grid",
        '{"fast_period": [5, 10], "slow_period": [50]}',
        "--label",
        "q1",
        stdout=out,
    )
    assert "queued 2 backtest task(s)" in out.getvalue()
    assert sorted(r.params["fast_period"] for r in BacktestRun.objects.filter(sweep="q1")) == [5, 10]


@pytest.mark.django_db
def test_sweep_with_a_bad_grid_point_stores_nothing(qqq_catalog):
    with pytest.raises(CommandError, match="buy_threshold: must be between 0 and 1, got 1.2"):
        call_command("sweep_backtests", *BASE, "--grid", '{"buy_threshold": [0.1, 1.2]}', "--sync", stdout=StringIO())
    with pytest.raises(CommandError, match="grid: buy_threshold: expected a non-empty list"):
        call_command("sweep_backtests", *BASE, "--grid", '{"buy_threshold": 0.1}', "--sync", stdout=StringIO())
    assert not BacktestRun.objects.exists()


@pytest.mark.django_db
def test_task_function_runs_and_returns_the_run_id(qqq_catalog):
    run_id = run_backtest_task(
        "ibs_reversion",
        "QQQ.NASDAQ",
        "1-DAY-LAST",
        {"quantity": 50},
        "2017-01-01",
        None,
        {"commission_per_share": 0, "commission_minimum": 0},
    )
    run = BacktestRun.objects.get(pk=run_id)
    assert run.actor == "system:django-q" and run.params["quantity"] == 50 and run.metrics["commissions"] == 0
