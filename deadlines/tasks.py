from celery import shared_task
from django_scopes import get_scope

from agency.celery_base import AgencyTask
from deadlines.services.deadlines import deadlines_recompute as deadlines_recompute_service
from deadlines.services.dormant import dormant_logins_roll_missed


@shared_task(base=AgencyTask, name="deadlines.tasks.deadlines_recompute")
def deadlines_recompute(*, agency_id: int, change: dict | None = None) -> int:
    return deadlines_recompute_service(agency=get_scope()["agency"], change=change)


@shared_task(name="deadlines.tasks.dormant_logins_roll", acks_late=True)
def dormant_logins_roll() -> int:
    """Hourly (beat): missed dormant logins (R5.1) complete and the next month's deadline follows."""
    return dormant_logins_roll_missed()


@shared_task(name="deadlines.tasks.deadlines_due_soon_to_robots", acks_late=True)
def deadlines_due_soon_to_robots() -> int:
    """Every 15 minutes (beat): deadlines due within a day, told once to the group robots that chose it."""
    from deadlines.robots import deadlines_due_soon_to_robots as sweep

    return sweep()
