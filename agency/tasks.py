"""Thin Celery tasks of the agency app: ids in, one service call (agency.services.jobs)."""

from celery import shared_task
from django.conf import settings
from django_scopes import get_scope

from agency.celery_base import AgencyTask
from agency.services.jobs import job_run as run_job
from agency.services.jobs import jobs_sweep as sweep_jobs


@shared_task(
    base=AgencyTask,
    name="agency.tasks.job_run",
    soft_time_limit=settings.JOB_TIME_BUDGET_SECONDS + 60,
    time_limit=settings.JOB_TIME_BUDGET_SECONDS + 120,
)
def job_run(*, agency_id: int, job_id: int) -> str:
    """Run one background job (idempotent: a job no longer queued is left alone)."""
    return run_job(agency=get_scope()["agency"], job_id=job_id)


@shared_task(name="agency.tasks.jobs_sweep", acks_late=True)
def jobs_sweep() -> dict:
    """Every minute (beat): re-publish lost jobs, fail jobs whose worker died. Platform-level."""
    return sweep_jobs()
