"""Test helpers: tasks are created directly with the models (state READY, items READY)."""

from django_scopes import scope

from approvals.services.policy import approval_policy_save
from shutdown.models import ShutdownTask, TaskItem, Tier
from shutdown.states import ItemState, TaskState
from tests.factories import SubAccountFactory


def make_task(world, *, items: int = 2, strategy: str = "shutdown", title: str = "批量关停 A", created_by=None,
              state: str = TaskState.READY):
    accounts = [SubAccountFactory(agency=world.agency) for _ in range(items)]
    with scope(agency=world.agency):
        task = ShutdownTask.objects.create(agency=world.agency, title=title, strategy=strategy, state=state,
                                           created_by=created_by or world.user("operator"))
        tier = Tier.objects.create(agency=world.agency, task=task, position=1, name="第一批")
        for account in accounts:
            TaskItem.objects.create(agency=world.agency, task=task, tier=tier, sub_account=account,
                                    state=ItemState.READY if state == TaskState.READY else ItemState.DRAFT)
    return task


def three_levels(world, *, strategy: str = ""):
    """operator → legal → finance, one approval each, SLA 24/48/24 hours."""
    with scope(agency=world.agency):
        return approval_policy_save(agency=world.agency, name="三级审批", strategy=strategy, levels=[
            {"name": "运营", "role": "operator", "mode": "any", "sla_hours": 24},
            {"name": "法务", "role": "legal", "mode": "any", "sla_hours": 48},
            {"name": "财务", "role": "finance", "mode": "any", "sla_hours": 24},
        ])


def api(world, path: str) -> str:
    return f"/api/v1/agencies/{world.agency.slug}/{path}"
