from celery import shared_task

from rulebook.calendar import calendar_seed_from_package
from rulebook.models import CalendarYear
from rulebook.signals import calendar_updated


@shared_task(name="rulebook.tasks.calendar_sync", acks_late=True)
def calendar_sync() -> list[int]:
    """Daily: load years that a newer chinesecalendar package knows, then tell the apps that
    store dates to recount (also a safety net for a lost recomputation message)."""
    loaded = calendar_seed_from_package(only_missing=True)
    calendar_updated.send(sender=CalendarYear, years=frozenset())
    return loaded
