"""django-q entry point: one gauntlet backtest per task, so every worker sharing the database takes a share."""

from __future__ import annotations

import logging

from research.services import claim_job, do_record_job

log = logging.getLogger(__name__)


def run_gauntlet_job(job_id: int) -> str:
    """Run one job of a gauntlet and record its result; a duplicate delivery of a finished job does nothing."""
    from research.gauntlet.jobs import run_job

    job = claim_job(job_id)
    if job is None:
        return "already finished"
    try:
        result = run_job(job.report, job.spec)
    except Exception as exc:  # recorded on the job in one line; the report fails closed
        log.exception("gauntlet job %s failed", job_id)
        message = str(exc).splitlines()[0] if str(exc) else ""
        do_record_job(job_id, result=None, error=f"{type(exc).__name__}: {message}")
        return "failed"
    do_record_job(job_id, result=result)
    return "done"
