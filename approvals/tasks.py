from celery import shared_task

from .services.sla import approval_sla_sweep_all


@shared_task(acks_late=True, name="approvals.sla_sweep")
def approval_sla_sweep_task() -> dict:
    """Periodic: remind approvers of levels past their SLA, then escalate to the owner (idempotent)."""
    return approval_sla_sweep_all()
