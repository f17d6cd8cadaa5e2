from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask


@shared_task(base=AgencyTask)
def task_precheck(*, agency_id: int, task_id: int) -> dict:
    """Run the pre-checks of a task's items (idempotent: a re-delivery finds nothing to do)."""
    from shutdown.services.precheck import precheck_run

    return precheck_run(agency=get_scope()["agency"], task_id=task_id)
