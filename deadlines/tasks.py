from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask
from deadlines.services.deadlines import deadlines_recompute as deadlines_recompute_service


@shared_task(base=AgencyTask, name="deadlines.tasks.deadlines_recompute")
def deadlines_recompute(*, agency_id: int, change: dict | None = None) -> int:
    return deadlines_recompute_service(agency=get_scope()["agency"], change=change)
