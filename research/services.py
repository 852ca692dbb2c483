"""Research writes: start a gauntlet (report, jobs, audit entry; jobs queued on commit), record each job's result,
and finish the report with its rungs once the last job is in."""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import date, timedelta

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import Action
from audit.services import record
from research.gauntlet.plan import GauntletRequestError, parse_gauntlet_grid, plan_jobs, validate_params
from research.models import GauntletJob, GauntletReport, JobStatus, ReportStatus, RungOutcome, RungResult
from research.stats.thresholds import GauntletThresholds
from trading.strategies.params import params_key

log = logging.getLogger(__name__)

JOB_TASK = "research.tasks.run_gauntlet_job"


def do_start_gauntlet(
    *,
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | str | None,
    grid: dict | str | None,
    actor: str,
    start: str | date | None = None,
    end: str | date | None = None,
    costs: dict | None = None,
    thresholds: dict | str | None = None,
    fill_convention: str | None = None,
    enqueue: bool = True,
) -> GauntletReport:
    """Validate the request, store the report and its jobs with an audit entry, and queue the jobs on commit
    (enqueue=False leaves them for the caller to run, e.g. run_gauntlet --sync)."""
    from research.gauntlet.jobs import prepare_request

    chosen = validate_params(strategy, instrument_id, bar_spec, params)
    checked_grid, points = parse_gauntlet_grid(strategy, instrument_id, bar_spec, chosen, grid)
    limits = parse_thresholds(thresholds)
    prepared = prepare_request(strategy, instrument_id, bar_spec, chosen, start, end, costs, fill_convention)
    jobs = plan_jobs(chosen, checked_grid, points, prepared.costs, prepared.bar_count)
    with transaction.atomic():
        report = GauntletReport.objects.create(
            actor=actor,
            strategy=strategy,
            instrument_id=prepared.instrument_id,
            bar_spec=bar_spec,
            params=chosen,
            params_key=params_key(chosen),
            code_hash=prepared.code_hash,
            data_hash=prepared.data_hash,
            grid=checked_grid,
            costs=prepared.costs,
            fill_convention=prepared.fill_convention,
            thresholds=limits.as_dict(),
            tasks_total=len(jobs),
            window={"start": prepared.start, "end": prepared.end},
        )
        GauntletJob.objects.bulk_create(
            GauntletJob(report=report, index=i, kind=j.kind, label=j.label, spec=j.as_dict())
            for i, j in enumerate(jobs)
        )
        record(
            Action.GAUNTLET_STARTED,
            actor=actor,
            target=f"{strategy}@{prepared.instrument_id}",
            payload={
                "report_id": report.pk,
                "bar_spec": bar_spec,
                "params": chosen,
                "grid": checked_grid,
                "code_hash": report.code_hash,
                "data_hash": report.data_hash,
                "jobs": len(jobs),
            },
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_jobs(report.pk))
    return report


def parse_thresholds(thresholds: dict | str | None) -> GauntletThresholds:
    """Threshold overrides from a dict or its JSON (empty: the defaults); GauntletRequestError in one line."""
    if isinstance(thresholds, str):
        try:
            thresholds = json.loads(thresholds) if thresholds.strip() else None
        except json.JSONDecodeError as exc:
            raise GauntletRequestError(f"thresholds: not valid JSON ({exc.msg} at column {exc.colno})") from None
    try:
        return GauntletThresholds.from_mapping(thresholds)
    except ValueError as exc:
        raise GauntletRequestError(f"thresholds: {exc}") from None


def enqueue_jobs(report_id: int) -> None:
    """Queue every pending job of a report for the django-q workers (one backtest per task)."""
    pending = GauntletJob.objects.filter(report_id=report_id, status=JobStatus.PENDING)
    for job_id in pending.values_list("pk", flat=True):
        _queue(report_id, job_id)


def _queue(report_id: int, job_id: int) -> None:
    from django_q.tasks import async_task

    async_task(JOB_TASK, job_id, group=f"gauntlet-{report_id}", task_name=f"gauntlet {report_id} job {job_id}")


def requeue_unfinished(report_id: int, stale_after_seconds: float = 600.0, enqueue: bool = True) -> list[int]:
    """Queue again the jobs of a running gauntlet that are pending, or running for longer than stale_after_seconds
    (their worker died: django-q does not re-deliver a task that ran out of attempts). A job that was only slow
    and then finishes twice is counted once. Returns the job ids; GauntletRequestError when nothing can resume."""
    report = GauntletReport.objects.filter(pk=report_id).first()
    if report is None:
        raise GauntletRequestError(f"no gauntlet report {report_id}")
    if report.status != ReportStatus.RUNNING or report.finished_at is not None:
        raise GauntletRequestError(f"gauntlet #{report_id} is {report.status} already: nothing to resume")
    stale = timezone.now() - timedelta(seconds=stale_after_seconds)
    jobs = list(
        report.jobs.filter(
            models.Q(status=JobStatus.PENDING) | models.Q(status=JobStatus.RUNNING, started_at__lt=stale)
        ).values_list("pk", flat=True)
    )
    if enqueue:
        for job_id in jobs:
            _queue(report_id, job_id)
    return jobs


def worker_name() -> str:
    """host:pid of this worker process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_job(job_id: int) -> GauntletJob | None:
    """Take a job for this worker; None when it is finished already (a duplicate delivery) or gone."""
    claimed = GauntletJob.objects.filter(pk=job_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING, worker=worker_name(), started_at=timezone.now()
    )
    return GauntletJob.objects.select_related("report").get(pk=job_id) if claimed else None


def do_record_job(job_id: int, *, result: dict | None, error: str = "") -> None:
    """Store a job's result (or its one-line error), count it, and finish the report after its last job."""
    status = JobStatus.FAILED if error else JobStatus.DONE
    with transaction.atomic():
        # Only the first finisher of a job counts it: a duplicate delivery that also ran it changes nothing.
        changed = GauntletJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=status, result=result, error=error[:500], finished_at=timezone.now()
        )
        if not changed:
            return
        report_id = GauntletJob.objects.values_list("report_id", flat=True).get(pk=job_id)
        GauntletReport.objects.filter(pk=report_id).update(tasks_done=F("tasks_done") + 1)
    if not GauntletJob.objects.filter(report_id=report_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).exists():
        do_finish_gauntlet(report_id)


def do_finish_gauntlet(report_id: int) -> GauntletReport | None:
    """Judge every rung from the jobs' results and store the verdicts with an audit entry; exactly once."""
    from research.gauntlet.rungs import judge

    # The claim: whoever sets finished_at first judges; everyone else returns.
    if not GauntletReport.objects.filter(pk=report_id, finished_at__isnull=True).update(finished_at=timezone.now()):
        return None
    report = GauntletReport.objects.get(pk=report_id)
    failed = report.jobs.filter(status=JobStatus.FAILED).order_by("index").first()
    verdicts = []
    if failed is not None:
        status, verdict = ReportStatus.FAILED, RungOutcome.FAIL
        reason = f"job {failed.index} ({failed.label}) failed: {failed.error}"
    else:
        try:
            verdicts = judge(report, list(report.jobs.order_by("index")))
        except Exception as exc:  # a rung that cannot be judged fails the report, in one line; never a pass
            log.exception("gauntlet %s: judging failed", report_id)
            verdicts = []
            status, verdict = ReportStatus.FAILED, RungOutcome.FAIL
            reason = f"judging failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
        else:
            status = ReportStatus.FINISHED
            verdict, reason = summarize(verdicts)
            if loosened := loosened_thresholds(report.thresholds):
                reason = f"{reason} (thresholds looser than the defaults: {loosened})"
    with transaction.atomic():
        RungResult.objects.bulk_create(
            RungResult(
                report=report,
                position=i,
                rung=v.rung,
                verdict=v.verdict.value,
                reason=v.reason[:500],
                numbers=v.numbers,
                thresholds=v.thresholds,
            )
            for i, v in enumerate(verdicts)
        )
        GauntletReport.objects.filter(pk=report_id).update(status=status, verdict=verdict, reason=reason[:500])
        record(
            Action.GAUNTLET_FINISHED,
            actor=report.actor,
            target=f"{report.strategy}@{report.instrument_id}",
            payload={
                "report_id": report.pk,
                "status": status,
                "verdict": verdict,
                "reason": reason[:500],
                "params_key": report.params_key,
                "code_hash": report.code_hash,
                "data_hash": report.data_hash,
                "rungs": {v.rung: v.verdict.value for v in verdicts},
            },
        )
    report.refresh_from_db()
    return report


def loosened_thresholds(thresholds: dict) -> str:
    """The thresholds that differ from the defaults, as 'name value (default d)', for every reader to see."""
    defaults = GauntletThresholds().as_dict()
    return ", ".join(
        f"{name} {value!r} (default {defaults[name]!r})"
        for name, value in sorted(thresholds.items())
        if name in defaults and value != defaults[name]
    )


def summarize(verdicts: list) -> tuple[str, str]:
    """The report's verdict: a pass only when every rung passed; else the first rung that did not, in one line."""
    passed = sum(1 for v in verdicts if v.passed)
    first = next((v for v in verdicts if not v.passed), None)
    if first is None and verdicts:
        return RungOutcome.PASS, f"{passed} of {len(verdicts)} rungs passed"
    if first is None:
        return RungOutcome.FAIL, "no rung was judged"
    return (
        RungOutcome.FAIL,
        f"{passed} of {len(verdicts)} rungs passed; {first.rung} {first.verdict.value}: {first.reason}",
    )
