from celery import shared_task
from django.db.models import Count
from django_scopes import get_scope

from .cache import agency_cache_set
from .celery_base import AgencyTask
from .models import SubAccount


@shared_task(base=AgencyTask)
def agency_stats_refresh(*, agency_id: int) -> dict:
    """Recompute the dashboard's account counters into the agency's cache keys."""
    by_status = dict(SubAccount.objects.filter(archived_at__isnull=True).values_list("status").annotate(n=Count("id")))
    agency = get_scope()["agency"]
    stats = {"agency_id": agency.pk, "by_status": by_status, "total": sum(by_status.values())}
    agency_cache_set(agency, "stats", value=stats, timeout=600)
    return stats
