"""The gauntlet end to end in one process: real backtests through Nautilus, real rung statistics, stored reports.

Jobs run here one after another (research.tasks.run_gauntlet_job, as a worker runs them); the fan-out across
django-q workers has its own test. Windows are two to four years of the bundled QQQ bars to keep this quick.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import Action, AuditEntry
from research.gauntlet.plan import GauntletRequestError
from research.models import GauntletJob, GauntletReport, JobStatus, ReportStatus, RungOutcome
from research.services import do_record_job, do_start_gauntlet
from research.tasks import run_gauntlet_job
from trading.models import BacktestRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("gauntlet_catalog", "test_strategies")]

WINDOW = {"start": "2010-01-01", "end": "2013-12-31"}
# Small windows make few trades: the sample-size rung is not what these tests are about.
LENIENT = {"min_trades": 10}


def _start(strategy: str, params: dict, grid: dict, **extra) -> GauntletReport:
    return do_start_gauntlet(
        strategy=strategy,
        instrument_id="QQQ.NASDAQ",
        bar_spec="1-DAY-LAST",
        params=params,
        grid=grid,
        actor="cli:test",
        enqueue=False,
        thresholds=LENIENT,
        **{**WINDOW, **extra},
    )


def _run(report: GauntletReport) -> GauntletReport:
    for job_id in report.jobs.order_by("index").values_list("pk", flat=True):
        run_gauntlet_job(job_id)
    report.refresh_from_db()
    return report


def _rungs(report: GauntletReport) -> dict:
    return {r.rung: r for r in report.rungs.all()}


def test_a_strategy_that_reads_the_future_fails_causality():
    report = _run(_start("peek", {"margin": 0.0}, {"margin": [0.0, 0.001]}))
    rungs = _rungs(report)
    assert rungs["lookahead"].verdict == RungOutcome.FAIL, rungs["lookahead"].reason
    assert "cut-offs disagree with the full run" in rungs["lookahead"].reason
    assert report.verdict == RungOutcome.FAIL and report.status == ReportStatus.FINISHED


def test_an_honest_strategy_passes_causality_and_its_grid_counts_as_trials():
    report = _run(_start("ibs_reversion", {"buy_threshold": 0.1}, {"buy_threshold": [0.1, 0.2]}))
    rungs = _rungs(report)
    assert rungs["lookahead"].verdict == RungOutcome.PASS, rungs["lookahead"].reason
    assert rungs["warmup_sensitivity"].verdict == RungOutcome.PASS, rungs["warmup_sensitivity"].reason
    assert rungs["data_integrity"].verdict == RungOutcome.PASS, rungs["data_integrity"].reason
    # Every grid point is a stored backtest (a trial) under the gauntlet's sweep label; N counts them.
    assert BacktestRun.objects.filter(sweep=f"gauntlet-{report.pk}").count() == 2
    assert rungs["deflated_sharpe"].numbers["n_trials"] == 2
    assert list(rungs) == [
        "data_integrity",
        "lookahead",
        "warmup_sensitivity",
        "sample_size",
        "cost_stress",
        "deflated_sharpe",
        "pbo",
        "spa",
        "walk_forward",
        "parameter_stability",
        "monte_carlo",
    ]
    actions = list(AuditEntry.objects.filter(payload__report_id=report.pk).values_list("action", flat=True))
    assert actions == [Action.GAUNTLET_STARTED, Action.GAUNTLET_FINISHED]


def test_a_coin_flipping_grid_fails_the_deflated_sharpe_and_the_verdict():
    report = _run(_start("coin_flip", {"seed": 1}, {"seed": [1, 2, 3, 4]}))
    rungs = _rungs(report)
    assert rungs["deflated_sharpe"].verdict == RungOutcome.FAIL, rungs["deflated_sharpe"].reason
    assert rungs["pbo"].verdict == RungOutcome.FAIL, rungs["pbo"].reason
    assert rungs["lookahead"].verdict == RungOutcome.PASS  # luck, not lookahead
    assert report.verdict == RungOutcome.FAIL


@pytest.mark.parametrize(
    "params, grid, message",
    [
        ({"buy_threshold": 0.12}, {"buy_threshold": [0.1, 0.2]}, "is not on the grid"),
        ({}, {"nope": [1, 2]}, "unknown parameter"),
        ({}, "{not json", "grid: not valid JSON"),
        ({}, {"buy_threshold": [0.15]}, "needs at least 2 points"),
        ({}, {"buy_threshold": [0.15, 0.15]}, "lists a value twice"),
        ({}, {"buy_threshold": [0.15, 7]}, "buy_threshold: must be between 0 and 1"),
        ({"buy_threshold": "x"}, {"buy_threshold": [0.15, 0.2]}, "buy_threshold"),
    ],
)
def test_bad_requests_are_one_line_and_store_nothing(params, grid, message):
    with pytest.raises(GauntletRequestError, match=message) as info:
        _start("ibs_reversion", params, grid)
    assert "\n" not in str(info.value)
    assert not GauntletReport.objects.exists() and not AuditEntry.objects.exists()


def test_bad_thresholds_and_dates_are_refused():
    with pytest.raises(GauntletRequestError, match="thresholds: .*min_dsr"):
        do_start_gauntlet(
            strategy="ibs_reversion",
            instrument_id="QQQ.NASDAQ",
            bar_spec="1-DAY-LAST",
            params={},
            grid={"buy_threshold": [0.15, 0.2]},
            actor="cli:test",
            enqueue=False,
            thresholds={"min_dsr": 2},
        )
    with pytest.raises(GauntletRequestError, match="no .*bars|after end"):
        _start("ibs_reversion", {}, {"buy_threshold": [0.15, 0.2]}, start="2030-01-01", end="2030-12-31")
    assert not GauntletReport.objects.exists()


def test_a_duplicate_delivery_counts_once_and_a_failed_job_fails_the_report():
    report = _start("ibs_reversion", {}, {"buy_threshold": [0.15, 0.2]})
    first = report.jobs.order_by("index").first()
    assert run_gauntlet_job(first.pk) == "done"
    assert run_gauntlet_job(first.pk) == "already finished"  # django-q re-delivered it
    report.refresh_from_db()
    assert report.tasks_done == 1
    jobs = list(report.jobs.order_by("index").values_list("pk", flat=True))
    GauntletJob.objects.filter(pk=jobs[1]).update(status=JobStatus.RUNNING)
    do_record_job(jobs[1], result=None, error="WorkerLost: the worker died")
    for job_id in jobs[2:]:
        run_gauntlet_job(job_id)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and report.verdict == RungOutcome.FAIL
    assert report.reason == "job 1 (buy_threshold=0.2) failed: WorkerLost: the worker died"
    assert not report.rungs.exists()  # a failed gauntlet judges nothing: no rung can pass on missing evidence


def test_a_gauntlet_whose_worker_died_resumes_and_finishes_once():
    report = _start("ibs_reversion", {}, {"buy_threshold": [0.15, 0.2]})
    jobs = list(report.jobs.order_by("index").values_list("pk", flat=True))
    for job_id in jobs[1:]:
        run_gauntlet_job(job_id)
    # The first job was taken by a worker that then died: it stays "running" and django-q will not deliver it again.
    GauntletJob.objects.filter(pk=jobs[0]).update(status=JobStatus.RUNNING, started_at=timezone.now())
    out = StringIO()
    call_command("resume_gauntlet", "--report", str(report.pk), "--stale-after", "600", "--sync", stdout=out)
    assert out.getvalue().startswith(f"gauntlet #{report.pk}: 0 job(s) run here")  # not stale yet: left alone
    GauntletJob.objects.filter(pk=jobs[0]).update(started_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("resume_gauntlet", "--report", str(report.pk), "--sync", stdout=out)
    report.refresh_from_db()
    assert report.status == ReportStatus.FINISHED and report.tasks_done == report.tasks_total
    assert AuditEntry.objects.filter(action=Action.GAUNTLET_FINISHED, payload__report_id=report.pk).count() == 1
    with pytest.raises(CommandError, match=f"gauntlet #{report.pk} is finished already: nothing to resume"):
        call_command("resume_gauntlet", "--report", str(report.pk), stdout=StringIO())
    with pytest.raises(CommandError, match="no gauntlet report 999999"):
        call_command("resume_gauntlet", "--report", "999999", stdout=StringIO())
