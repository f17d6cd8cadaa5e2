from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask
from deadlines.services.deadlines import deadlines_recompute_provisional


@shared_task(base=AgencyTask, name="deadlines.tasks.deadlines_recompute")
def deadlines_recompute(*, agency_id: int) -> int:
    return deadlines_recompute_provisional(agency=get_scope()["agency"])
