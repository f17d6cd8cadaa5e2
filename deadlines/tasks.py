from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask


@shared_task(base=AgencyTask, name="deadlines.tasks.deadlines_recompute")
def deadlines_recompute(*, agency_id: int) -> int:
    from deadlines.services.deadlines import deadlines_recompute_provisional

    return deadlines_recompute_provisional(agency=get_scope()["agency"])


@shared_task(name="deadlines.tasks.calendar_sync", acks_late=True)
def calendar_sync() -> list[int]:
    """Daily: load years that a newer chinesecalendar package knows, then recount provisional
    deadlines everywhere (also a safety net for a lost recomputation message)."""
    from deadlines.services.calendar import calendar_seed_from_package, recompute_all_agencies

    loaded = calendar_seed_from_package(only_missing=True)
    recompute_all_agencies()
    return loaded
