from celery import shared_task

from agency.celery_base import AgencyTask
from agency.models import Agency
from shutdown.models import ShutdownTask

from .services.signatures import signatures_request_all
from .services.sla import approval_sla_sweep_all


@shared_task(acks_late=True, name="approvals.sla_sweep")
def approval_sla_sweep_task() -> dict:
    """Periodic: remind approvers of levels past their SLA, then escalate to the owner; create
    signature requests that a lost worker message left out (idempotent)."""
    return approval_sla_sweep_all()


@shared_task(base=AgencyTask, name="approvals.signatures_request")
def signatures_request_task(*, agency_id: int, task_id: int) -> int:
    return signatures_request_all(agency=Agency.objects.get(pk=agency_id), task=ShutdownTask(pk=task_id))
