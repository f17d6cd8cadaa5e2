from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask
from shutdown.services.expected import items_recompute_expected as expected_recompute
from shutdown.services.precheck import precheck_run


@shared_task(base=AgencyTask, name="shutdown.tasks.task_precheck")
def task_precheck(*, agency_id: int, task_id: int) -> dict:
    """Run the pre-checks of a task's items (idempotent: a re-delivery finds nothing to do)."""
    return precheck_run(agency=get_scope()["agency"], task_id=task_id)


@shared_task(base=AgencyTask, name="shutdown.tasks.items_recompute_expected")
def items_recompute_expected(*, agency_id: int, change: dict | None = None) -> int:
    """After a calendar change: recount the expected effective dates of items not yet effective."""
    return expected_recompute(agency=get_scope()["agency"], change=change)
